package gateway

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/smsgate/smsgate/pkg/smppsim"
	"github.com/smsgate/smsgate/smpp"
	"github.com/smsgate/smsgate/smpp/pdu"
)

// inboundSeeds are the hostile deliver_sm of issue #16: bad bytes in every
// string field, invalid UCS-2, receipts with NUL, truncated TLVs, and a few
// well-formed MOs and receipts.
func inboundSeeds() [][]byte {
	sm := func(p pdu.SM) []byte { p.ID = pdu.DeliverSM; return pdu.Append(nil, 7, pdu.StatusOK, &p) }
	seeds := [][]byte{
		sm(pdu.SM{Source: "995599000001", Dest: "4422", ShortMessage: []byte("VOTE 3")}),
		sm(pdu.SM{Source: "995599000001", Dest: "4422", DataCoding: 8, ShortMessage: []byte{0xD8, 0x00, 0x00, 'A'}}),
		sm(pdu.SM{Source: "995599000001", Dest: "4422", DataCoding: 8, ShortMessage: []byte{0x00, 'A', 0x00}}),
		sm(pdu.SM{ServiceType: "\xff", Source: "\xfe99", Dest: "44\xc3(", DataCoding: 3, ShortMessage: []byte("caf\xe9")}),
		sm(pdu.SM{Source: "995599000001", Dest: "4422", ShortMessage: []byte{0xff, 0x80, 0x1b, 0x1b, 0x00}}),
		sm(pdu.SM{Source: "995599000001", Dest: "ACME", ESMClass: pdu.ESMSMSCReceipt,
			ShortMessage: []byte("id:\xff\xfe\x00x sub:001 dlvrd:001 submit date:2612071200 done date:2612071201 stat:DELIVRD err:000 text:\xc3(")}),
		sm(pdu.SM{Source: "995599000001", Dest: "ACME", ESMClass: pdu.ESMSMSCReceipt, ShortMessage: []byte("id:12345 stat:DELIVRD"),
			TLVs: pdu.TLVs{{Tag: pdu.TagReceiptedMessageID, Value: []byte("\xff\x00")}, {Tag: pdu.TagMessageState, Value: []byte{2, 3}}}}),
		sm(pdu.SM{Source: "995599000001", Dest: "4422", ESMClass: pdu.ESMUDHI, ShortMessage: []byte{5, 0, 3, 9, 2, 1, 'a'}}),
		sm(pdu.SM{Source: "995599000001", Dest: "4422", ESMClass: pdu.ESMUDHI, ShortMessage: []byte{9, 0, 3}}),
		sm(pdu.SM{Source: "995599000001", Dest: "4422", TLVs: pdu.TLVs{{Tag: pdu.TagMessagePayload, Value: bytes.Repeat([]byte("long "), 200)}}}),
	}
	// A deliver_sm whose TLV claims more than it carries.
	body := (&pdu.SM{ID: pdu.DeliverSM, Source: "995599000001", Dest: "4422", ShortMessage: []byte("tlv")}).AppendBody(nil)
	body = append(body, 0x04, 0x24, 0x00, 0xC8, 'a', 'b', 'c')
	hdr, start := pdu.AppendHeader(nil, pdu.DeliverSM, 0, 9)
	seeds = append(seeds, pdu.Finish(append(hdr, body...), start))
	return seeds
}

// FuzzInboundPath feeds arbitrary bytes through what an SMSC's deliver_sm
// goes through in a running gateway: PDU framing and decoding, then the
// receipts-and-MO stage (parsing, correlation, reassembly, the journal in
// Postgres, events). Whatever the bytes, a PDU that decodes is answered
// exactly once and promptly, and the stage keeps answering the next one.
// Run with: go test -run '^$' -fuzz FuzzInboundPath -fuzztime 60s ./internal/gateway/
func FuzzInboundPath(f *testing.F) {
	for _, s := range inboundSeeds() {
		f.Add(s)
	}
	e := newEnv(f, twoOperators(smppsim.Options{}, smppsim.Options{}), baseRouting)
	e.start()
	handler := e.gw.receipts.HandlerFor(e.gw.operators["magti"])
	bind := &smpp.BindInfo{Operator: "magti", Mode: smpp.Transceiver}
	n := 0
	f.Fuzz(func(t *testing.T, data []byte) {
		h, body, _, err := pdu.ReadFrame(bytes.NewReader(data), nil, 65536)
		if err != nil || h.ID != pdu.DeliverSM {
			return // framing is the session's (smpp.FuzzSessionInbound)
		}
		sm := &pdu.SM{ID: pdu.DeliverSM}
		if sm.DecodeBody(body) != nil {
			return // answered generic_nack by the session
		}
		n++
		acks := make(chan pdu.Status, 2)
		handler.HandleDeliver(bind, sm, func(st pdu.Status) { acks <- st })
		select {
		case <-acks:
		case <-time.After(15 * time.Second):
			t.Fatalf("deliver_sm %d not answered in 15 s: %x", n, data)
		}
		select {
		case st := <-acks:
			t.Fatalf("deliver_sm answered twice (second %v)", st)
		case <-time.After(5 * time.Millisecond):
		}
		// The stage still answers a well-formed MO after this one.
		ok := &pdu.SM{ID: pdu.DeliverSM, Source: "995599000009", Dest: "4422", ShortMessage: []byte(fmt.Sprintf("after %d", n))}
		handler.HandleDeliver(bind, ok, func(st pdu.Status) { acks <- st })
		select {
		case st := <-acks:
			if st != pdu.StatusOK {
				t.Fatalf("a valid MO after input %d answered %v", n, st)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("the stage stopped answering after %x", data)
		}
	})
}
