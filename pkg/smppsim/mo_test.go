package smppsim

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/smpp/coding"
	"github.com/smsgate/smsgate/smpp/pdu"
)

// moPart is one deliver_sm part as seen by the ESME.
type moPart struct {
	sm   *pdu.SM
	bind int
}

// readMO reads n deliver_sm from e, acknowledging each with st.
func readMO(t *testing.T, e *esme, bind, n int, st pdu.Status) []moPart {
	t.Helper()
	var out []moPart
	for range n {
		h, b := e.expect(pdu.DeliverSM)
		sm := b.(*pdu.SM)
		if sm.IsReceipt() {
			t.Fatalf("MO with receipt esm_class 0x%02X", sm.ESMClass)
		}
		e.sendSeq(h.Seq, st, &pdu.SMResp{ID: pdu.DeliverSMResp})
		out = append(out, moPart{sm, bind})
	}
	return out
}

func TestInjectMOUDHOrderSpread(t *testing.T) {
	s := startT(t, Options{})
	a := bound(t, s, pdu.BindTransceiver, "acme")
	b := bound(t, s, pdu.BindReceiver, "acme")
	bound(t, s, pdu.BindTransmitter, "acme")                            // cannot receive: never chosen
	text := strings.Repeat("The quick brown fox 0123456789 ", 14)[:400] // 3 GSM7 parts of <=153
	errc := make(chan error, 1)
	go func() {
		errc <- s.InjectMO(context.Background(), MO{SystemID: "acme", From: "995599000111", To: "1234",
			Text: text, Concat: coding.UDH8, Ref: 0x42, Order: []int{3, 1, 2}, SpreadBinds: true})
	}()
	// Round robin over the two receiver-capable binds: 3 and 2 on one, 1 on the other.
	parts := append(readMO(t, a, 0, 2, 0), readMO(t, b, 1, 1, 0)...)
	if err := <-errc; err != nil {
		t.Fatalf("InjectMO: %v", err)
	}
	wantSeq := []byte{3, 2, 1} // a got the 1st and 3rd sent, b the 2nd
	got := make([][]byte, 4)
	for i, p := range parts {
		sm := p.sm
		if sm.ESMClass != pdu.ESMUDHI || sm.DataCoding != 0 || sm.Source != "995599000111" || sm.Dest != "1234" {
			t.Errorf("part %d: esm 0x%02X dc %d %s->%s", i, sm.ESMClass, sm.DataCoding, sm.Source, sm.Dest)
		}
		udh := sm.ShortMessage[:6]
		if want := []byte{5, 0, 3, 0x42, 3, wantSeq[i]}; !bytes.Equal(udh, want) {
			t.Errorf("part %d on bind %d: UDH % x, want % x", i, p.bind, udh, want)
		}
		got[udh[5]] = sm.ShortMessage[6:]
	}
	if joined := string(bytes.Join(got[1:], nil)); joined != text {
		t.Errorf("reassembled %q", joined)
	}
	if st := s.Stats(); st.MOSent != 3 || st.MOAcked != 3 {
		t.Errorf("MO stats sent %d acked %d", st.MOSent, st.MOAcked)
	}
}

func TestInjectMOSARAndUCS2(t *testing.T) {
	s := startT(t, Options{})
	e := bound(t, s, pdu.BindTransceiver, "acme")
	text := strings.Repeat("Привет ", 20) // 140 UCS2 chars: 3 SAR parts of <=66
	errc := make(chan error, 1)
	go func() {
		errc <- s.InjectMO(context.Background(), MO{SystemID: "acme", From: "1", To: "2", Text: text,
			Concat: coding.SAR, Ref: 0x1234})
	}()
	parts := readMO(t, e, 0, 3, 0)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	for i, p := range parts {
		sm := p.sm
		ref, _ := sm.TLVs.Uint(pdu.TagSARMsgRefNum)
		tot, _ := sm.TLVs.Uint(pdu.TagSARTotalSegments)
		seq, _ := sm.TLVs.Uint(pdu.TagSARSegmentSeqnum)
		if sm.ESMClass != 0 || sm.DataCoding != 8 || ref != 0x1234 || tot != 3 || seq != uint32(i+1) {
			t.Errorf("part %d: esm 0x%02X dc %d sar %x %d/%d", i, sm.ESMClass, sm.DataCoding, ref, seq, tot)
		}
	}
}

func TestInjectMOErrors(t *testing.T) {
	s := startT(t, Options{MOTimeout: 100 * time.Millisecond})
	ctx := context.Background()
	if err := s.InjectMO(ctx, MO{SystemID: "acme", Text: "hi"}); !errors.Is(err, ErrNoBind) {
		t.Errorf("no bind: %v", err)
	}
	e := bound(t, s, pdu.BindTransceiver, "acme")
	if err := s.InjectMO(ctx, MO{SystemID: "acme", Text: "hi", Order: []int{1, 1}}); !errors.Is(err, ErrBadOrder) {
		t.Errorf("bad order: %v", err)
	}
	// No answer: timeout.
	if err := s.InjectMO(ctx, MO{SystemID: "acme", Text: "hi"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("unanswered: %v", err)
	}
	e.expect(pdu.DeliverSM)
	// Answered with an error status.
	errc := make(chan error, 1)
	go func() { errc <- s.InjectMO(ctx, MO{SystemID: "acme", Text: "hi"}) }()
	readMO(t, e, 0, 1, pdu.ErrXTAppn)
	var st pdu.Status
	if err := <-errc; !errors.As(err, &st) || st != pdu.ErrXTAppn {
		t.Errorf("nacked: %v", err)
	}
	// Bind closes before the answer.
	go func() { errc <- s.InjectMO(ctx, MO{SystemID: "acme", Text: "hi"}) }()
	e.expect(pdu.DeliverSM)
	e.nc.Close()
	if err := <-errc; !errors.Is(err, ErrConnClosed) {
		t.Errorf("closed: %v", err)
	}
	// Unencodable text for a forced encoding.
	bound(t, s, pdu.BindTransceiver, "acme")
	if err := s.InjectMO(ctx, MO{SystemID: "acme", Text: "ж", Encoding: coding.GSM7}); !errors.Is(err, coding.ErrUnencodable) {
		t.Errorf("unencodable: %v", err)
	}
}
