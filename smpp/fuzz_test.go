package smpp

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/smsgate/smsgate/smpp/pdu"
)

// probeSeq is the sequence number of the enquire_link sent after the fuzz
// stream.
const probeSeq = 0x7ffffff0

// survives predicts whether a session must survive stream: it is a run of
// whole PDUs with sane lengths and none of them is unbind.
func survives(stream []byte, maxPDU int) bool {
	r := bytes.NewReader(stream)
	var buf []byte
	for r.Len() > 0 {
		h, _, b, err := pdu.ReadFrame(r, buf, maxPDU)
		buf = b
		var fe *pdu.FrameError
		switch {
		case errors.As(err, &fe):
			continue
		case err != nil:
			return false
		case h.ID == pdu.Unbind:
			return false
		}
	}
	return true
}

// FuzzSessionInbound feeds arbitrary bytes as the SMSC's side of the
// stream after a successful bind, with one submit_sm outstanding. The
// session must not panic; it must answer a probe after the stream when the
// stream is well framed, and in every case end cleanly when the SMSC
// hangs up, calling the submit's done exactly once.
func FuzzSessionInbound(f *testing.F) {
	seeds := []string{
		"",
		"00000015 80000004 00000000 00000002 343200",                                              // submit_sm_resp for the submit
		"00000010 80000004 00000058 00000002",                                                     // throttled
		"00000010 80000000 00000003 00000002",                                                     // generic_nack for it
		"00000010 80000004 00000000 00000063",                                                     // late response
		"00000010 00000015 00000000 00000007",                                                     // enquire_link
		"00000010 00000006 00000000 00000008",                                                     // unbind
		"00000010 00000999 00000000 00000009",                                                     // unknown command
		"00000008 00000015 00000000 00000001",                                                     // command_length < 16
		"00000400 00000005 00000000 0000000a",                                                     // oversize, truncated
		"00000013 00000005 00000000 0000000b 616263",                                              // malformed deliver_sm
		"00000023 00000005 00000000 0000000c 00 0000 3100 0000 3200 04 000000 00 00 000000 00 00", // receipt, no text
		"0000001c 00000005 00000000 0000000d 00 0000 00 0000 00 00 000000 00 00 000000 00 05 61",  // sm_length beyond body
		"00000010 80000006 00000000 00000000",                                                     // unbind_resp nobody asked for
		"00000010 00000102 00000000 0000000e",                                                     // alert_notification
	}
	for _, s := range seeds {
		f.Add(unhex(f, s))
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		fk := newFakeSMSC(t)
		o := testOptions(fk)
		o.Mode = Transceiver
		o.MaxPDU = 512
		o.MaxUnacked = 4
		o.Handler = HandlerFunc(func(_ *BindInfo, _ *pdu.SM, ack func(pdu.Status)) { ack(0) })
		s, c := dial(t, fk, o)
		r := make(results, 1) // a second done call would block teardown
		submit(t, s, r)
		c.expectID(t, pdu.SubmitSM)
		c.send(stream)
		c.send(pdu.AppendEmpty(nil, pdu.EnquireLink, 0, probeSeq))
		if survives(stream, o.MaxPDU) {
			deadline := time.After(5 * time.Second)
		probe:
			for {
				select {
				case fr := <-c.rec:
					if fr.h.ID == pdu.EnquireLinkResp && fr.h.Seq == probeSeq {
						break probe
					}
				case <-s.Done():
					t.Fatalf("session ended on a well-framed stream: %v", s.Err())
				case <-deadline:
					t.Fatal("probe not answered")
				}
			}
		}
		c.c.Close()
		waitDone(t, s, 5*time.Second)
		if s.Err() == nil {
			t.Error("ended without an error")
		}
		r.next(t)
		if s.InFlight() != 0 {
			t.Errorf("InFlight %d after the end", s.InFlight())
		}
	})
}
