package pdu

// Body is a PDU body that can be encoded and decoded.
type Body interface {
	CommandID() CommandID
	AppendBody(dst []byte) []byte
	DecodeBody(b []byte) error
}

// Bind is bind_transmitter, bind_receiver or bind_transceiver.
type Bind struct {
	ID               CommandID // BindTransmitter, BindReceiver or BindTransceiver
	SystemID         string
	Password         string
	SystemType       string
	InterfaceVersion byte // 0x34 for SMPP 3.4
	AddrTON, AddrNPI byte
	AddressRange     string
}

func (p *Bind) CommandID() CommandID { return p.ID }

func (p *Bind) AppendBody(dst []byte) []byte {
	dst = appendCString(dst, p.SystemID)
	dst = appendCString(dst, p.Password)
	dst = appendCString(dst, p.SystemType)
	dst = append(dst, p.InterfaceVersion, p.AddrTON, p.AddrNPI)
	return appendCString(dst, p.AddressRange)
}

func (p *Bind) DecodeBody(b []byte) error {
	r := reader{b: b}
	p.SystemID = r.cstring()
	p.Password = r.cstring()
	p.SystemType = r.cstring()
	p.InterfaceVersion = r.byte()
	p.AddrTON = r.byte()
	p.AddrNPI = r.byte()
	p.AddressRange = r.cstring()
	return r.err
}

// BindResp is the response to a bind. An error response may have no body.
type BindResp struct {
	ID       CommandID
	SystemID string
	TLVs     TLVs
}

func (p *BindResp) CommandID() CommandID { return p.ID }

func (p *BindResp) AppendBody(dst []byte) []byte {
	dst = appendCString(dst, p.SystemID)
	return appendTLVs(dst, p.TLVs)
}

func (p *BindResp) DecodeBody(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	r := reader{b: b}
	p.SystemID = r.cstring()
	p.TLVs = r.tlvs()
	return r.err
}

// SM is the body shared by submit_sm and deliver_sm.
type SM struct {
	ID                   CommandID // SubmitSM or DeliverSM
	ServiceType          string
	SourceTON, SourceNPI byte
	Source               string
	DestTON, DestNPI     byte
	Dest                 string
	ESMClass             byte
	ProtocolID           byte
	PriorityFlag         byte
	ScheduleDelivery     string
	ValidityPeriod       string
	RegisteredDelivery   byte
	ReplaceIfPresent     byte
	DataCoding           byte
	SMDefaultMsgID       byte
	ShortMessage         []byte // at most 254 octets; longer text goes in TagMessagePayload
	TLVs                 TLVs
}

// ESM class bits.
const (
	ESMUDHI         = 0x40
	ESMReceiptMask  = 0x3C
	ESMSMSCReceipt  = 0x04
	ESMIntermediate = 0x20
)

// IsReceipt reports whether a deliver_sm carries a delivery receipt.
func (p *SM) IsReceipt() bool {
	t := p.ESMClass & ESMReceiptMask
	return t == ESMSMSCReceipt || t == 0x08 || t == 0x10 || t == ESMIntermediate
}

func (p *SM) CommandID() CommandID { return p.ID }

// AppendBody encodes the body. A short_message longer than 254 octets is
// truncated to its length byte by the wire format, so callers must check
// with Validate first; AppendBody itself never panics.
func (p *SM) AppendBody(dst []byte) []byte {
	dst = appendCString(dst, p.ServiceType)
	dst = append(dst, p.SourceTON, p.SourceNPI)
	dst = appendCString(dst, p.Source)
	dst = append(dst, p.DestTON, p.DestNPI)
	dst = appendCString(dst, p.Dest)
	dst = append(dst, p.ESMClass, p.ProtocolID, p.PriorityFlag)
	dst = appendCString(dst, p.ScheduleDelivery)
	dst = appendCString(dst, p.ValidityPeriod)
	sm := p.ShortMessage
	if len(sm) > 254 {
		sm = sm[:254]
	}
	dst = append(dst, p.RegisteredDelivery, p.ReplaceIfPresent, p.DataCoding, p.SMDefaultMsgID, byte(len(sm)))
	dst = append(dst, sm...)
	return appendTLVs(dst, p.TLVs)
}

// Validate reports problems AppendBody would hide.
func (p *SM) Validate() error {
	if len(p.ShortMessage) > 254 {
		return ErrSMTooLong
	}
	return nil
}

func (p *SM) DecodeBody(b []byte) error {
	r := reader{b: b}
	p.ServiceType = r.cstring()
	p.SourceTON = r.byte()
	p.SourceNPI = r.byte()
	p.Source = r.cstring()
	p.DestTON = r.byte()
	p.DestNPI = r.byte()
	p.Dest = r.cstring()
	p.ESMClass = r.byte()
	p.ProtocolID = r.byte()
	p.PriorityFlag = r.byte()
	p.ScheduleDelivery = r.cstring()
	p.ValidityPeriod = r.cstring()
	p.RegisteredDelivery = r.byte()
	p.ReplaceIfPresent = r.byte()
	p.DataCoding = r.byte()
	p.SMDefaultMsgID = r.byte()
	n := int(r.byte())
	p.ShortMessage = r.bytes(n)
	p.TLVs = r.tlvs()
	return r.err
}

// Text returns the message payload: short_message, or the message_payload
// TLV when short_message is empty.
func (p *SM) Text() []byte {
	if len(p.ShortMessage) == 0 {
		if v, ok := p.TLVs.Get(TagMessagePayload); ok {
			return v
		}
	}
	return p.ShortMessage
}

// SMResp is submit_sm_resp, deliver_sm_resp or data_sm_resp. Error
// responses may have no body at all; MessageID is then "".
type SMResp struct {
	ID        CommandID
	MessageID string
}

func (p *SMResp) CommandID() CommandID { return p.ID }

func (p *SMResp) AppendBody(dst []byte) []byte { return appendCString(dst, p.MessageID) }

func (p *SMResp) DecodeBody(b []byte) error {
	if len(b) == 0 {
		p.MessageID = ""
		return nil
	}
	r := reader{b: b}
	p.MessageID = r.cstring()
	// Some SMSCs append TLVs to submit_sm_resp (SMPP 5.0 style); ignore them.
	return r.err
}

// Empty is a PDU without a body: enquire_link(_resp), unbind(_resp),
// generic_nack.
type Empty struct{ ID CommandID }

func (p *Empty) CommandID() CommandID       { return p.ID }
func (p *Empty) AppendBody(d []byte) []byte { return d }
func (p *Empty) DecodeBody(b []byte) error  { return nil }

// New returns an empty body for id, or nil for a command smsgate does not
// decode.
func New(id CommandID) Body {
	switch id {
	case BindTransmitter, BindReceiver, BindTransceiver:
		return &Bind{ID: id}
	case BindTransmitterResp, BindReceiverResp, BindTransceiverResp:
		return &BindResp{ID: id}
	case SubmitSM, DeliverSM:
		return &SM{ID: id}
	case SubmitSMResp, DeliverSMResp, DataSMResp:
		return &SMResp{ID: id}
	case EnquireLink, EnquireLinkResp, Unbind, UnbindResp, GenericNack:
		return &Empty{ID: id}
	}
	return nil
}

// Decode decodes a body read by ReadFrame into a new value of the right type.
func Decode(h Header, body []byte) (Body, error) {
	b := New(h.ID)
	if b == nil {
		return nil, ErrUnknownCmd
	}
	if err := b.DecodeBody(body); err != nil {
		return nil, err
	}
	return b, nil
}
