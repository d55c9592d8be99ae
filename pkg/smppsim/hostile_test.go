package smppsim

import (
	"bytes"
	"errors"
	"testing"

	"github.com/smsgate/smsgate/smpp/pdu"
)

// TestSendGarbage reads what SendGarbage says it sends and checks that each
// PDU fails (or does not) exactly the way its kind documents.
func TestSendGarbage(t *testing.T) {
	s := startT(t, Options{})
	if _, err := s.SendGarbage(1, 1); !errors.Is(err, ErrNoBind) {
		t.Errorf("no bind: %v", err)
	}
	e := bound(t, s, pdu.BindTransceiver, "acme")
	const n = 40
	gs, err := s.SendGarbage(n, 1)
	if err != nil || len(gs) != n {
		t.Fatalf("SendGarbage: %d, %v", len(gs), err)
	}
	again := garbageList(n, 1, false)
	kinds := map[GarbageKind]int{}
	for i, g := range gs {
		kinds[g.Kind]++
		if !bytes.Equal(g.PDU, again[i].PDU) {
			t.Fatalf("garbage %d differs for the same seed", i)
		}
		e.nc.SetReadDeadline(deadline())
		h, body, nb, err := pdu.ReadFrame(e.br, e.buf, 65536)
		e.buf = nb
		var fe *pdu.FrameError
		switch g.Kind {
		case GarbageHuge:
			if !errors.As(err, &fe) || !errors.Is(err, pdu.ErrTooLarge) || h.Length != HugeGarbageLen {
				t.Fatalf("%d %s: %v (%+v)", i, g.Kind, err, h)
			}
			continue
		case GarbageUnknownCommand:
			if err != nil || h.ID.Known() {
				t.Fatalf("%d %s: %v %s", i, g.Kind, err, h.ID)
			}
			e.sendSeq(h.Seq, pdu.ErrInvCmdID, &pdu.Empty{ID: pdu.GenericNack})
			continue
		}
		if err != nil {
			t.Fatalf("%d %s: ReadFrame: %v", i, g.Kind, err)
		}
		if h.ID != pdu.DeliverSM || h.Seq < 0x7F000000 {
			t.Fatalf("%d %s: header %+v", i, g.Kind, h)
		}
		b, derr := pdu.Decode(h, body)
		want := map[GarbageKind]error{GarbageTruncatedTLV: pdu.ErrBadTLV, GarbageNoNUL: pdu.ErrNoNUL,
			GarbageSMLength: pdu.ErrShort, GarbageBadReceipt: nil}[g.Kind]
		if !errors.Is(derr, want) || (want == nil && derr != nil) {
			t.Fatalf("%d %s: decode error %v, want %v", i, g.Kind, derr, want)
		}
		if g.Kind == GarbageBadReceipt {
			sm := b.(*pdu.SM)
			if !sm.IsReceipt() || receiptRE.Match(sm.ShortMessage) {
				t.Fatalf("%d: bad receipt %q", i, sm.ShortMessage)
			}
		}
	}
	for _, k := range inSyncKinds {
		if kinds[k] == 0 {
			t.Errorf("kind %s never sent in %d", k, n)
		}
	}
	// The bind is still usable and the nacks were read.
	if st, _ := e.submit(submitSM("1", "x", 0)); st != 0 {
		t.Errorf("submit after garbage: %v", st)
	}
	waitFor(t, "nacks", func() bool { return s.Stats().GenericNacksReceived == uint64(kinds[GarbageUnknownCommand]) })
	if got := s.Stats().GarbageSent; got != n {
		t.Errorf("GarbageSent %d", got)
	}

	gs, err = s.SendGarbageDesync(0, 2)
	if err != nil || len(gs) != 1 || gs[0].Kind != GarbageBadLength {
		t.Fatalf("desync: %v %v", gs, err)
	}
	e.nc.SetReadDeadline(deadline())
	if _, _, _, err := pdu.ReadFrame(e.br, e.buf, 65536); !errors.Is(err, pdu.ErrBadLength) {
		t.Errorf("desync read: %v", err)
	}
}
