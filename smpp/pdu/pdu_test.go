package pdu

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	gpdu "github.com/fiorix/go-smpp/v2/smpp/pdu"
	"github.com/fiorix/go-smpp/v2/smpp/pdu/pdufield"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", "\n", "", "\t", "").Replace(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Fixtures laid out field by field from SMPP 3.4 §4 (bind §4.1.1, submit_sm
// §4.4.1, submit_sm_resp §4.4.2, deliver_sm §4.6.1, enquire_link §4.11.1).
var fixtures = []struct {
	name   string
	hex    string
	seq    uint32
	status Status
	body   Body
}{
	{"bind_transceiver", `00000021 00000009 00000000 00000001
		61636d6500 73656372657400 00 34 01 01 00`, 1, 0,
		&Bind{ID: BindTransceiver, SystemID: "acme", Password: "secret", InterfaceVersion: 0x34, AddrTON: 1, AddrNPI: 1}},
	{"bind_transceiver_resp", `00000015 80000009 00000000 00000001 534d534300`, 1, 0,
		&BindResp{ID: BindTransceiverResp, SystemID: "SMSC"}},
	{"bind_transceiver_resp with sc_interface_version", `0000001a 80000009 00000000 00000001 534d534300 0210 0001 34`, 1, 0,
		&BindResp{ID: BindTransceiverResp, SystemID: "SMSC", TLVs: TLVs{{TagSCInterfaceVersion, []byte{0x34}}}}},
	{"submit_sm", `00000036 00000004 00000000 00000007
		00 05 00 41434d4500 01 01 39393535393931323334353600 00 00 00 00 00 01 00 00 00 05 68656c6c6f`, 7, 0,
		&SM{ID: SubmitSM, SourceTON: 5, Source: "ACME", DestTON: 1, DestNPI: 1, Dest: "995599123456",
			RegisteredDelivery: 1, ShortMessage: []byte("hello")}},
	{"submit_sm with SAR TLVs", `00000045 00000004 00000000 00000008
		00 05 00 41434d4500 01 01 39393535393931323334353600 40 00 00 00 00 01 00 08 00 04 00680069
		020c 0002 002a 020e 0001 02 020f 0001 01`, 8, 0,
		&SM{ID: SubmitSM, SourceTON: 5, Source: "ACME", DestTON: 1, DestNPI: 1, Dest: "995599123456", ESMClass: 0x40,
			RegisteredDelivery: 1, DataCoding: 8, ShortMessage: []byte{0, 'h', 0, 'i'},
			TLVs: TLVs{{TagSARMsgRefNum, []byte{0, 0x2a}}, {TagSARTotalSegments, []byte{2}}, {TagSARSegmentSeqnum, []byte{1}}}}},
	{"submit_sm_resp", `00000017 80000004 00000000 00000007 35463341303100`, 7, 0,
		&SMResp{ID: SubmitSMResp, MessageID: "5F3A01"}},
	{"submit_sm_resp throttled, no body", `00000010 80000004 00000058 00000009`, 9, ErrThrottled,
		&SMResp{ID: SubmitSMResp}},
	{"enquire_link", `00000010 00000015 00000000 0000002a`, 42, 0, &Empty{ID: EnquireLink}},
	{"generic_nack", `00000010 80000000 00000003 00000005`, 5, ErrInvCmdID, &Empty{ID: GenericNack}},
}

func TestFixturesEncode(t *testing.T) {
	for _, f := range fixtures {
		want := unhex(t, f.hex)
		got := Append(nil, f.seq, f.status, f.body)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: encode\n got %x\nwant %x", f.name, got, want)
		}
	}
}

func TestFixturesDecode(t *testing.T) {
	for _, f := range fixtures {
		wire := unhex(t, f.hex)
		h, body, _, err := ReadFrame(bytes.NewReader(wire), nil, 4096)
		if err != nil {
			t.Fatalf("%s: ReadFrame: %v", f.name, err)
		}
		if h.Seq != f.seq || h.Status != f.status || h.ID != f.body.CommandID() || int(h.Length) != len(wire) {
			t.Errorf("%s: header %+v", f.name, h)
		}
		got, err := Decode(h, body)
		if err != nil {
			t.Fatalf("%s: Decode: %v", f.name, err)
		}
		if sm, ok := got.(*SM); ok && len(sm.ShortMessage) == 0 {
			sm.ShortMessage = nil
		}
		if !reflect.DeepEqual(got, f.body) {
			t.Errorf("%s: decode\n got %#v\nwant %#v", f.name, got, f.body)
		}
	}
}

func TestReadFrameLimits(t *testing.T) {
	big := Append(nil, 3, 0, &SM{ID: DeliverSM, ShortMessage: bytes.Repeat([]byte{'x'}, 200)})
	next := AppendEmpty(nil, EnquireLink, 0, 4)
	r := bytes.NewReader(append(append([]byte{}, big...), next...))
	_, _, _, err := ReadFrame(r, nil, 100)
	var fe *FrameError
	if !errors.As(err, &fe) || !errors.Is(err, ErrTooLarge) || fe.Header.Seq != 3 {
		t.Fatalf("oversize: got %v", err)
	}
	// The stream stays in sync: the next PDU reads fine.
	h, _, _, err := ReadFrame(r, nil, 100)
	if err != nil || h.ID != EnquireLink || h.Seq != 4 {
		t.Fatalf("after oversize: %+v %v", h, err)
	}
	bad := unhex(t, "00000008 00000015 00000000 00000001")
	if _, _, _, err := ReadFrame(bytes.NewReader(bad), nil, 100); !errors.Is(err, ErrBadLength) {
		t.Fatalf("short length: %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	// submit_sm truncated inside the destination address.
	if err := new(SM).DecodeBody(unhex(t, "00 05 00 41434d4500 01 01 3939")); !errors.Is(err, ErrNoNUL) {
		t.Errorf("truncated cstring: %v", err)
	}
	// sm_length larger than what follows.
	if err := new(SM).DecodeBody(unhex(t, "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 05 6869")); !errors.Is(err, ErrShort) {
		t.Errorf("sm_length overrun: %v", err)
	}
	// TLV header truncated.
	if err := new(SM).DecodeBody(unhex(t, "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 0424")); !errors.Is(err, ErrBadTLV) {
		t.Errorf("truncated TLV: %v", err)
	}
	if _, err := Decode(Header{ID: 0x1234}, nil); !errors.Is(err, ErrUnknownCmd) {
		t.Errorf("unknown command: %v", err)
	}
}

func TestStatusTemporary(t *testing.T) {
	for s, want := range map[Status]bool{ErrThrottled: true, ErrMsgQFul: true, ErrSysErr: true, ErrXTAppn: true,
		ErrInvDstAdr: false, ErrInvPaswd: false, StatusOK: false, ErrXPAppn: false} {
		if s.Temporary() != want {
			t.Errorf("%v.Temporary() = %v", s, !want)
		}
	}
	if got := ErrInvDstAdr.Hex(); got != "0x0000000B" {
		t.Errorf("Hex = %s", got)
	}
	if got := ErrThrottled.Error(); got != "ESME_RTHROTTLED (0x00000058)" {
		t.Errorf("Error = %s", got)
	}
}

// go-smpp v2.1.0 is the independent reference: what we encode it decodes to
// the same fields, and what it encodes we decode to the same fields.
func TestCrossCheckGoSMPP(t *testing.T) {
	ours := &SM{ID: SubmitSM, ServiceType: "CMT", SourceTON: 5, SourceNPI: 0, Source: "ACME",
		DestTON: 1, DestNPI: 1, Dest: "995599123456", ESMClass: 0x40, ProtocolID: 0, PriorityFlag: 1,
		ValidityPeriod: "261124100000000+", RegisteredDelivery: 1, DataCoding: 8,
		ShortMessage: []byte{0x05, 0x00, 0x03, 0x2a, 0x02, 0x01, 0x10, 0xd2, 0x10, 0xd0},
		TLVs:         TLVs{{TagUserMessageReference, []byte{0, 7}}}}
	wire := Append(nil, 77, 0, ours)
	g, err := gpdu.Decode(bytes.NewReader(wire))
	if err != nil {
		t.Fatalf("go-smpp decode: %v", err)
	}
	f := g.Fields()
	checks := map[pdufield.Name]string{
		pdufield.ServiceType: "CMT", pdufield.SourceAddr: "ACME", pdufield.DestinationAddr: "995599123456",
		pdufield.ValidityPeriod: "261124100000000+",
	}
	for k, want := range checks {
		if got := f[k].String(); got != want {
			t.Errorf("go-smpp sees %s = %q, want %q", k, got, want)
		}
	}
	if g.Header().Seq != 77 || f[pdufield.ESMClass].Bytes()[0] != 0x40 || f[pdufield.DataCoding].Bytes()[0] != 8 {
		t.Errorf("go-smpp header/esm/dcs mismatch: %+v", g.Header())
	}
	if !bytes.Equal(f[pdufield.ShortMessage].Bytes(), ours.ShortMessage) {
		t.Errorf("go-smpp short_message %x", f[pdufield.ShortMessage].Bytes())
	}

	// The other way: go-smpp encodes a submit_sm_resp and a bind.
	resp := gpdu.NewSubmitSMResp()
	resp.Header().Seq = 99
	_ = resp.Fields().Set(pdufield.MessageID, "000123ab")
	var buf bytes.Buffer
	if err := resp.SerializeTo(&buf); err != nil {
		t.Fatal(err)
	}
	h, body, _, err := ReadFrame(&buf, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Decode(h, body)
	if err != nil || h.Seq != 99 || b.(*SMResp).MessageID != "000123ab" {
		t.Fatalf("decode go-smpp resp: %+v %#v %v", h, b, err)
	}
	bind := gpdu.NewBindTransmitter()
	bind.Header().Seq = 1
	_ = bind.Fields().Set(pdufield.SystemID, "acme")
	_ = bind.Fields().Set(pdufield.Password, "pw")
	_ = bind.Fields().Set(pdufield.InterfaceVersion, 0x34)
	buf.Reset()
	if err := bind.SerializeTo(&buf); err != nil {
		t.Fatal(err)
	}
	h, body, _, err = ReadFrame(&buf, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	bb, err := Decode(h, body)
	if err != nil || bb.(*Bind).SystemID != "acme" || bb.(*Bind).Password != "pw" || bb.(*Bind).InterfaceVersion != 0x34 {
		t.Fatalf("decode go-smpp bind: %#v %v", bb, err)
	}
}

// FuzzDecode: any bytes, any command: never panic; what decodes re-encodes
// to something that decodes to the same value.
func FuzzDecode(f *testing.F) {
	for _, fx := range fixtures {
		f.Add(unhex(f, fx.hex))
	}
	f.Add([]byte{0, 0, 0, 0x10, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, wire []byte) {
		h, body, _, err := ReadFrame(bytes.NewReader(wire), nil, 4096)
		if err != nil {
			return
		}
		b, err := Decode(h, body)
		if err != nil {
			return
		}
		again := Append(nil, h.Seq, h.Status, b)
		h2, body2, _, err := ReadFrame(bytes.NewReader(again), nil, 0)
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		b2, err := Decode(h2, body2)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if h.Status != StatusOK && h.ID.IsResponse() {
			return // error responses are encoded without a body by design
		}
		if !reflect.DeepEqual(normalize(b), normalize(b2)) {
			t.Fatalf("round trip differs:\n%#v\n%#v", b, b2)
		}
	})
}

// FuzzCrossDecode feeds the same bytes to go-smpp and to us: whenever both
// accept a submit_sm/deliver_sm, they agree on the addresses and payload.
func FuzzCrossDecode(f *testing.F) {
	for _, fx := range fixtures {
		f.Add(unhex(f, fx.hex))
	}
	f.Fuzz(func(t *testing.T, wire []byte) {
		h, body, _, err := ReadFrame(bytes.NewReader(wire), nil, 4096)
		if err != nil || (h.ID != SubmitSM && h.ID != DeliverSM) {
			return
		}
		b, err := Decode(h, body)
		if err != nil {
			return
		}
		g, err := func() (g gpdu.Body, err error) {
			defer func() {
				if recover() != nil {
					err = errors.New("go-smpp panicked")
				}
			}()
			return gpdu.Decode(bytes.NewReader(wire[:h.Length]))
		}()
		if err != nil {
			return
		}
		sm := b.(*SM)
		if g.Fields()[pdufield.DestinationAddr].String() != sm.Dest || g.Fields()[pdufield.SourceAddr].String() != sm.Source {
			t.Fatalf("addresses differ from go-smpp")
		}
	})
}

func normalize(b Body) Body {
	if sm, ok := b.(*SM); ok {
		c := *sm
		if len(c.ShortMessage) == 0 {
			c.ShortMessage = nil
		}
		if len(c.TLVs) == 0 {
			c.TLVs = nil
		}
		return &c
	}
	if br, ok := b.(*BindResp); ok && len(br.TLVs) == 0 {
		c := *br
		c.TLVs = nil
		return &c
	}
	return b
}

var sampleSubmit = &SM{ID: SubmitSM, SourceTON: 5, Source: "ACME", DestTON: 1, DestNPI: 1, Dest: "995599123456",
	RegisteredDelivery: 1, ShortMessage: []byte("Your code is 123456. It expires in 5 minutes.")}

func BenchmarkAppendSubmitSM(b *testing.B) {
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = Append(buf[:0], 12345, 0, sampleSubmit)
	}
}

func BenchmarkDecodeSubmitSMResp(b *testing.B) {
	wire := Append(nil, 7, 0, &SMResp{ID: SubmitSMResp, MessageID: "5F3A01"})
	var r SMResp
	b.ReportAllocs()
	for b.Loop() {
		h, _ := ParseHeader(wire)
		_ = h
		_ = r.DecodeBody(wire[HeaderLen:])
	}
}

// BenchmarkRoundTripOurs / GoSMPP compare a submit_sm encode+decode, the
// measurement behind writing this codec (see doc.go).
func BenchmarkRoundTripOurs(b *testing.B) {
	buf := make([]byte, 0, 512)
	var sm SM
	b.ReportAllocs()
	for b.Loop() {
		buf = Append(buf[:0], 12345, 0, sampleSubmit)
		_ = sm.DecodeBody(buf[HeaderLen:])
	}
}

func BenchmarkRoundTripGoSMPP(b *testing.B) {
	b.ReportAllocs()
	var buf bytes.Buffer
	for b.Loop() {
		p := gpdu.NewSubmitSM(nil)
		f := p.Fields()
		_ = f.Set(pdufield.SourceAddrTON, 5)
		_ = f.Set(pdufield.SourceAddr, "ACME")
		_ = f.Set(pdufield.DestAddrTON, 1)
		_ = f.Set(pdufield.DestAddrNPI, 1)
		_ = f.Set(pdufield.DestinationAddr, "995599123456")
		_ = f.Set(pdufield.RegisteredDelivery, 1)
		_ = f.Set(pdufield.ShortMessage, []byte("Your code is 123456. It expires in 5 minutes."))
		buf.Reset()
		_ = p.SerializeTo(&buf)
		if _, err := gpdu.Decode(&buf); err != nil {
			b.Fatal(err)
		}
	}
}
