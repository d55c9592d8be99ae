package pdu

import "encoding/binary"

// Tag is an optional parameter tag (SMPP 3.4 §5.3.2).
type Tag uint16

// Tags smsgate reads or writes.
const (
	TagDestAddrSubunit      Tag = 0x0005
	TagSCInterfaceVersion   Tag = 0x0210
	TagReceiptedMessageID   Tag = 0x001E
	TagUserMessageReference Tag = 0x0204
	TagSourcePort           Tag = 0x020A
	TagDestinationPort      Tag = 0x020B
	TagSARMsgRefNum         Tag = 0x020C
	TagSARTotalSegments     Tag = 0x020E
	TagSARSegmentSeqnum     Tag = 0x020F
	TagPayloadType          Tag = 0x0019
	TagMessagePayload       Tag = 0x0424
	TagNetworkErrorCode     Tag = 0x0423
	TagMessageState         Tag = 0x0427
	TagMoreMessagesToSend   Tag = 0x0426
)

// TLV is one optional parameter.
type TLV struct {
	Tag   Tag
	Value []byte
}

// TLVs is the optional parameter list of a PDU, in wire order.
type TLVs []TLV

// Get returns the value of the first TLV with tag t.
func (ts TLVs) Get(t Tag) ([]byte, bool) {
	for i := range ts {
		if ts[i].Tag == t {
			return ts[i].Value, true
		}
	}
	return nil, false
}

// Uint returns a 1-, 2- or 4-octet integer TLV value.
func (ts TLVs) Uint(t Tag) (uint32, bool) {
	v, ok := ts.Get(t)
	if !ok {
		return 0, false
	}
	switch len(v) {
	case 1:
		return uint32(v[0]), true
	case 2:
		return uint32(binary.BigEndian.Uint16(v)), true
	case 4:
		return binary.BigEndian.Uint32(v), true
	}
	return 0, false
}

// CString returns a C-octet-string TLV value without its NUL (tolerating a
// missing NUL, which some SMSCs omit).
func (ts TLVs) CString(t Tag) (string, bool) {
	v, ok := ts.Get(t)
	if !ok {
		return "", false
	}
	for i, c := range v {
		if c == 0 {
			return string(v[:i]), true
		}
	}
	return string(v), true
}

// AppendTLV appends one TLV to a PDU body.
func AppendTLV(dst []byte, t Tag, v []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(t))
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(v)))
	return append(dst, v...)
}

func appendTLVs(dst []byte, ts TLVs) []byte {
	for _, t := range ts {
		dst = AppendTLV(dst, t.Tag, t.Value)
	}
	return dst
}

// U8, U16 build integer TLV values.
func U8(v uint8) []byte   { return []byte{v} }
func U16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
