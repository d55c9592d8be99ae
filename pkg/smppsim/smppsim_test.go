package smppsim

import (
	"bytes"
	"errors"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/smsgate/smsgate/smpp/pdu"
)

func TestStartAddress(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		remote bool
		ok     bool
	}{
		{"127.0.0.1:0", false, true},
		{":0", false, true},
		{"localhost:0", false, true},
		{"[::1]:0", false, true},
		{"0.0.0.0:0", false, false},
		{"192.0.2.1:2775", false, false},
		{"nonsense", false, false},
	} {
		s, err := Start(Options{Addr: tc.addr, AllowRemote: tc.remote})
		if (err == nil) != tc.ok {
			t.Errorf("Start(%q): err %v, want ok=%v", tc.addr, err, tc.ok)
		}
		if err == nil {
			if tc.addr == ":0" && s.Addr()[:10] != "127.0.0.1:" {
				t.Errorf(":0 listens on %s", s.Addr())
			}
			s.Close()
		} else if tc.addr == "0.0.0.0:0" && !errors.Is(err, ErrRemoteAddr) {
			t.Errorf("0.0.0.0: %v is not ErrRemoteAddr", err)
		}
	}
	if _, err := Start(Options{IDFormat: "octal"}); err == nil {
		t.Error("bad IDFormat accepted")
	}
	if _, err := Start(Options{DestStat: map[string]string{"1": "LOST"}}); err == nil {
		t.Error("bad DestStat accepted")
	}
}

func TestBinds(t *testing.T) {
	s := startT(t, Options{Credentials: map[string]string{"acme": "pw", "beta": "pw"}, MaxBinds: 2})
	for _, tc := range []struct {
		mode       pdu.CommandID
		sysID, pw  string
		want       pdu.Status
		closesConn bool
	}{
		{pdu.BindTransceiver, "acme", "pw", pdu.StatusOK, false},
		{pdu.BindTransceiver, "acme", "bad", pdu.ErrInvPaswd, true},
		{pdu.BindTransmitter, "nobody", "pw", pdu.ErrInvSysID, true},
		{pdu.BindReceiver, "acme", "pw", pdu.StatusOK, false},
		{pdu.BindTransmitter, "acme", "pw", pdu.ErrAlyBnd, true}, // MaxBinds 2
		{pdu.BindTransmitter, "beta", "pw", pdu.StatusOK, false},
	} {
		e := dial(t, s)
		if got := e.bind(tc.mode, tc.sysID, tc.pw); got != tc.want {
			t.Fatalf("%s %s/%s: %v, want %v", tc.mode, tc.sysID, tc.pw, got, tc.want)
		}
		if tc.closesConn {
			e.eof()
		}
	}
	st := s.Stats()
	if a := st.Systems["acme"]; a.Current != 2 || a.Peak != 2 || a.Modes["transceiver"] != 1 || a.Modes["receiver"] != 1 {
		t.Errorf("acme binds %+v", a)
	}
	if st.BindsCurrent != 3 || st.BindsTotal != 3 || st.BindFailures != 3 {
		t.Errorf("binds current %d total %d failures %d", st.BindsCurrent, st.BindsTotal, st.BindFailures)
	}
	// A second bind on a bound connection: ESME_RALYBND, bind kept.
	e := bound(t, s, pdu.BindTransmitter, "beta")
	if got := e.bind(pdu.BindTransmitter, "beta", "pw"); got != pdu.ErrAlyBnd {
		t.Errorf("rebind: %v", got)
	}
	if st, _ := e.submit(submitSM("1", "x", 0)); st != pdu.StatusOK {
		t.Errorf("submit after refused rebind: %v", st)
	}
	// Peak survives disconnects.
	s.DropAll()
	waitFor(t, "binds gone", func() bool { return s.Stats().BindsCurrent == 0 })
	if p := s.Stats().Systems["beta"].Peak; p != 2 {
		t.Errorf("beta peak %d, want 2", p)
	}
}

func TestSessionBasics(t *testing.T) {
	s := startT(t, Options{})
	e := dial(t, s)
	// submit_sm before bind.
	if st, _ := e.submit(submitSM("1", "x", 0)); st != pdu.ErrInvBndSts {
		t.Errorf("submit before bind: %v", st)
	}
	e.bind(pdu.BindTransceiver, "acme", "")
	// enquire_link.
	seq := e.send(&pdu.Empty{ID: pdu.EnquireLink})
	if h, _ := e.expect(pdu.EnquireLinkResp); h.Seq != seq || h.Status != 0 {
		t.Errorf("enquire_link_resp %+v", h)
	}
	// Unknown command: generic_nack ESME_RINVCMDID with the same seq.
	e.raw(pdu.AppendEmpty(nil, 0x00000777, 0, 99))
	if h, _ := e.expect(pdu.GenericNack); h.Seq != 99 || h.Status != pdu.ErrInvCmdID {
		t.Errorf("generic_nack %+v", h)
	}
	// Known but unsimulated: its own response with ESME_RINVCMDID.
	e.raw(pdu.AppendEmpty(nil, pdu.QuerySM, 0, 100))
	if h, _ := e.expect(pdu.QuerySMResp); h.Status != pdu.ErrInvCmdID {
		t.Errorf("query_sm_resp %+v", h)
	}
	// Oversized PDU is discarded and nacked; the bind survives.
	big := pdu.AppendHeader
	b, start := big(nil, pdu.SubmitSM, 0, 101)
	b = append(b, make([]byte, 70000)...)
	e.raw(pdu.Finish(b, start))
	if h, _ := e.expect(pdu.GenericNack); h.Seq != 101 || h.Status != pdu.ErrInvCmdLen {
		t.Errorf("oversized: %+v", h)
	}
	// Malformed submit body.
	b, start = pdu.AppendHeader(nil, pdu.SubmitSM, 0, 102)
	e.raw(pdu.Finish(append(b, 'a', 'b'), start))
	if h, _ := e.expect(pdu.SubmitSMResp); h.Status != pdu.ErrInvCmdLen {
		t.Errorf("malformed submit: %+v", h)
	}
	// The simulator's own enquire_link.
	if n := s.EnquireLink(); n != 1 {
		t.Errorf("EnquireLink sent to %d binds", n)
	}
	h, _ := e.expect(pdu.EnquireLink)
	e.sendSeq(h.Seq, 0, &pdu.Empty{ID: pdu.EnquireLinkResp})
	// unbind: answered, then closed.
	seq = e.send(&pdu.Empty{ID: pdu.Unbind})
	if h, _ := e.expect(pdu.UnbindResp); h.Seq != seq {
		t.Errorf("unbind_resp %+v", h)
	}
	e.eof()
	waitFor(t, "stats", func() bool { st := s.Stats(); return st.EnquireLinkResps == 1 && st.Disconnects == 1 })
	st := s.Stats()
	if st.Unbinds != 1 || st.EnquireLinksReceived != 1 || st.EnquireLinksSent != 1 || st.GenericNacksSent != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestEnquireLinkInterval(t *testing.T) {
	s := startT(t, Options{EnquireLinkInterval: 20 * time.Millisecond})
	e := bound(t, s, pdu.BindTransceiver, "acme")
	for range 2 {
		h, _ := e.expect(pdu.EnquireLink)
		e.sendSeq(h.Seq, 0, &pdu.Empty{ID: pdu.EnquireLinkResp})
	}
	waitFor(t, "resps", func() bool { return s.Stats().EnquireLinkResps >= 2 })
}

func TestMessageIDFormats(t *testing.T) {
	const start = 0x1234ABCD // 305441741
	for _, tc := range []struct {
		f     IDFormat
		first string
	}{
		{IDDec, "305441741"},
		{IDHexUpper, "1234ABCD"},
		{IDHexLower, "00001234abcd"},
	} {
		s := startT(t, Options{IDFormat: tc.f, IDStart: start})
		e := bound(t, s, pdu.BindTransmitter, "acme")
		seen := map[string]bool{}
		for i := range 20 {
			st, id := e.submit(submitSM("1", "x", 0))
			if st != pdu.StatusOK {
				t.Fatalf("%s: status %v", tc.f, st)
			}
			if i == 0 && id != tc.first {
				t.Errorf("%s: first id %q, want %q", tc.f, id, tc.first)
			}
			if seen[id] {
				t.Errorf("%s: duplicate id %q", tc.f, id)
			}
			seen[id] = true
		}
	}
}

var receiptRE = regexp.MustCompile(`^id:(\S+) sub:001 dlvrd:(\d{3}) submit date:(\d{10}) done date:(\d{10}) stat:([A-Z]+) err:(\d{3}) text:(.*)$`)

type parsedReceipt struct {
	id, dlvrd, stat, text string
}

func parseReceipt(t testing.TB, sm *pdu.SM) parsedReceipt {
	t.Helper()
	m := receiptRE.FindSubmatch(sm.ShortMessage)
	if m == nil {
		t.Fatalf("receipt text %q does not match", sm.ShortMessage)
	}
	return parsedReceipt{id: string(m[1]), dlvrd: string(m[2]), stat: string(m[5]), text: string(m[7])}
}

func TestReceiptIDFormats(t *testing.T) {
	const start = 0xBEEF01 // 12513025
	for _, tc := range []struct {
		resp, receipt   IDFormat
		wantResp, wantR string
	}{
		{IDDec, IDSame, "12513025", "12513025"},
		{IDDec, IDHexUpper, "12513025", "BEEF01"},
		{IDDec, IDHexLower, "12513025", "000000beef01"},
		{IDHexUpper, IDDec, "BEEF01", "12513025"},
		{IDHexLower, IDSame, "000000beef01", "000000beef01"},
	} {
		s := startT(t, Options{IDFormat: tc.resp, ReceiptIDFormat: tc.receipt, IDStart: start, ReceiptTLVs: true})
		e := bound(t, s, pdu.BindTransceiver, "acme")
		st, id := e.submit(submitSM("99512345678", "Hello world, this is longer than twenty", 1))
		if st != 0 || id != tc.wantResp {
			t.Fatalf("%s/%s: resp %v %q, want %q", tc.resp, tc.receipt, st, id, tc.wantResp)
		}
		sm := e.receipt(pdu.StatusOK)
		r := parseReceipt(t, sm)
		if r.id != tc.wantR || r.stat != StatDelivered || r.dlvrd != "001" || r.text != "Hello world, this is" {
			t.Errorf("%s/%s: receipt %+v", tc.resp, tc.receipt, r)
		}
		if tlvID, _ := sm.TLVs.CString(pdu.TagReceiptedMessageID); tlvID != tc.wantR {
			t.Errorf("receipted_message_id %q, want %q", tlvID, tc.wantR)
		}
		if ms, _ := sm.TLVs.Uint(pdu.TagMessageState); ms != 2 {
			t.Errorf("message_state %d", ms)
		}
		if sm.Source != "99512345678" || sm.Dest != "ACME" || sm.SourceTON != 1 || sm.DestTON != 5 || sm.ESMClass != 0x04 {
			t.Errorf("receipt addressing %+v", sm)
		}
		waitFor(t, "ack", func() bool { return s.Stats().ReceiptsAcked == 1 })
	}
}

func TestReceiptOptions(t *testing.T) {
	t.Run("no receipt unless asked, NoReceipts", func(t *testing.T) {
		s := startT(t, Options{})
		e := bound(t, s, pdu.BindTransceiver, "acme")
		e.submit(submitSM("1", "x", 0))
		e.silent(50 * time.Millisecond)
		s2 := startT(t, Options{NoReceipts: true})
		e2 := bound(t, s2, pdu.BindTransceiver, "acme")
		e2.submit(submitSM("1", "x", 1))
		e2.silent(50 * time.Millisecond)
	})
	t.Run("failure-only receipts", func(t *testing.T) {
		s := startT(t, Options{DestStat: map[string]string{"777": StatUndeliv}})
		e := bound(t, s, pdu.BindTransceiver, "acme")
		e.submit(submitSM("1", "x", 2)) // delivered: no receipt
		e.silent(50 * time.Millisecond)
		e.submit(submitSM("7770", "x", 2))
		if r := parseReceipt(t, e.receipt(0)); r.stat != StatUndeliv || r.dlvrd != "000" {
			t.Errorf("receipt %+v", r)
		}
	})
	t.Run("receipt first", func(t *testing.T) {
		s := startT(t, Options{ReceiptFirst: true})
		e := bound(t, s, pdu.BindTransceiver, "acme")
		seq := e.send(submitSM("1", "x", 1))
		sm := e.receipt(0)
		h, b := e.expect(pdu.SubmitSMResp)
		if h.Seq != seq || parseReceipt(t, sm).id != b.(*pdu.SMResp).MessageID {
			t.Errorf("resp %+v %+v", h, b)
		}
		// With delays too: the resp waits for the receipt.
		s.SetReceiptDelay(30*time.Millisecond, 0)
		e.send(submitSM("1", "x", 1))
		e.receipt(0)
		e.expect(pdu.SubmitSMResp)
	})
	t.Run("receipt on another bind", func(t *testing.T) {
		s := startT(t, Options{ReceiptOtherBind: true})
		a := bound(t, s, pdu.BindTransceiver, "acme")
		b := bound(t, s, pdu.BindTransceiver, "acme")
		_, id := a.submit(submitSM("1", "x", 1))
		if r := parseReceipt(t, b.receipt(0)); r.id != id {
			t.Errorf("receipt id %q, want %q", r.id, id)
		}
		a.silent(50 * time.Millisecond)
		// A transmitter's receipts go to the receiver even without the option.
		s2 := startT(t, Options{})
		tx := bound(t, s2, pdu.BindTransmitter, "acme")
		rx := bound(t, s2, pdu.BindReceiver, "acme")
		_, id = tx.submit(submitSM("1", "x", 1))
		if r := parseReceipt(t, rx.receipt(0)); r.id != id {
			t.Errorf("receipt id %q, want %q", r.id, id)
		}
		// A receiver cannot submit.
		if st, _ := rx.submit(submitSM("1", "x", 1)); st != pdu.ErrInvBndSts {
			t.Errorf("submit on receiver: %v", st)
		}
	})
	t.Run("delay", func(t *testing.T) {
		s := startT(t, Options{ReceiptDelay: 80 * time.Millisecond, ReceiptJitter: 20 * time.Millisecond})
		e := bound(t, s, pdu.BindTransceiver, "acme")
		t0 := time.Now()
		e.submit(submitSM("1", "x", 1))
		e.receipt(0)
		if el := time.Since(t0); el < 80*time.Millisecond {
			t.Errorf("receipt after %v, want >= 80ms", el)
		}
	})
}

// udhPart builds a UDH concatenated part (IEI 0x00, or 0x08 when ref16).
func udhPart(ref uint16, total, seq byte, ref16 bool, text string) []byte {
	if ref16 {
		return append([]byte{6, 8, 4, byte(ref >> 8), byte(ref), total, seq}, text...)
	}
	return append([]byte{5, 0, 3, byte(ref), total, seq}, text...)
}

func TestReceiptLastPartOnly(t *testing.T) {
	s := startT(t, Options{ReceiptLastPartOnly: true, RecordSubmits: true})
	e := bound(t, s, pdu.BindTransceiver, "acme")
	var sms []*pdu.SM
	for seq := byte(1); seq <= 3; seq++ { // UDH 8-bit, 3 parts
		sm := submitSM("1", "", 1)
		sm.ESMClass = pdu.ESMUDHI
		sm.ShortMessage = udhPart(0x2A, 3, seq, false, "part"+strconv.Itoa(int(seq)))
		sms = append(sms, sm)
	}
	for seq := byte(1); seq <= 2; seq++ { // UDH 16-bit, 2 parts
		sm := submitSM("2", "", 1)
		sm.ESMClass = pdu.ESMUDHI
		sm.ShortMessage = udhPart(0x1234, 2, seq, true, "p")
		sms = append(sms, sm)
	}
	for seq := byte(1); seq <= 2; seq++ { // SAR, 2 parts
		sm := submitSM("3", "sar", 1)
		sm.TLVs = pdu.TLVs{{Tag: pdu.TagSARMsgRefNum, Value: pdu.U16(7)}, {Tag: pdu.TagSARTotalSegments, Value: pdu.U8(2)},
			{Tag: pdu.TagSARSegmentSeqnum, Value: pdu.U8(seq)}}
		sms = append(sms, sm)
	}
	sms = append(sms, submitSM("4", "single", 1))
	base := e.seq
	for _, sm := range sms {
		e.send(sm)
	}
	ids := map[uint32]string{}
	var receipts []parsedReceipt
	for len(ids) < len(sms) || len(receipts) < 4 {
		h, b := e.next()
		switch h.ID {
		case pdu.SubmitSMResp:
			ids[h.Seq] = b.(*pdu.SMResp).MessageID
		case pdu.DeliverSM:
			receipts = append(receipts, parseReceipt(t, b.(*pdu.SM)))
			e.sendSeq(h.Seq, 0, &pdu.SMResp{ID: pdu.DeliverSMResp})
		}
	}
	// Submit seqs 3 (last UDH8 part), 5, 7 and 8 get receipts.
	for i, seq := range []uint32{3, 5, 7, 8} {
		if r := receipts[i]; r.id != ids[base+seq] {
			t.Errorf("receipt %d for %q, want %q (submit %d)", i, r.id, ids[base+seq], seq)
		}
	}
	if receipts[0].text != "part3" { // the UDH is not part of the text
		t.Errorf("receipt text %q", receipts[0].text)
	}
	e.silent(50 * time.Millisecond)
	if n := s.Stats().ReceiptsSkipped; n != 4 {
		t.Errorf("skipped %d, want 4", n)
	}
	// The record decodes the concatenation.
	subs := s.Submits()
	for i, w := range []struct {
		kind       string
		ref        uint16
		total, seq uint8
	}{{"udh8", 0x2A, 3, 1}, {"udh8", 0x2A, 3, 2}, {"udh8", 0x2A, 3, 3}, {"udh16", 0x1234, 2, 1}, {"udh16", 0x1234, 2, 2},
		{"sar", 7, 2, 1}, {"sar", 7, 2, 2}, {"", 0, 0, 0}} {
		if g := subs[i]; g.Concat != w.kind || g.Ref != w.ref || g.Total != w.total || g.Seq != w.seq {
			t.Errorf("record %d: %s %d %d/%d, want %+v", i, g.Concat, g.Ref, g.Seq, g.Total, w)
		}
	}
}

// pipeline writes n pre-encoded submits from a goroutine while the caller's
// callback reads every resp; it returns once both are done.
func pipeline(t *testing.T, e *esme, n int, sm *pdu.SM, onResp func(h pdu.Header, b pdu.Body)) {
	t.Helper()
	var all []byte
	for i := range n {
		all = pdu.Append(all, uint32(i+1), 0, sm)
	}
	werr := make(chan error, 1)
	go func() {
		e.nc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		_, err := e.nc.Write(all)
		werr <- err
	}()
	for got := 0; got < n; {
		h, b := e.next()
		if h.ID == pdu.SubmitSMResp {
			got++
		}
		onResp(h, b)
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
}

func TestThrottleRatio(t *testing.T) {
	const n = 10000
	run := func() int {
		s := startT(t, Options{ThrottleRatio: 0.3, Seed: 42})
		e := bound(t, s, pdu.BindTransmitter, "acme")
		throttled := 0
		pipeline(t, e, n, submitSM("1", "x", 0), func(h pdu.Header, _ pdu.Body) {
			switch h.Status {
			case pdu.ErrThrottled:
				throttled++
			case pdu.StatusOK:
			default:
				t.Fatalf("status %v", h.Status)
			}
		})
		if st := s.Stats(); int(st.Throttled) != throttled || st.Responses["0x00000058"] != uint64(throttled) {
			t.Errorf("stats throttled %d / %v, counted %d", st.Throttled, st.Responses, throttled)
		}
		return throttled
	}
	a, b := run(), run()
	// 3 standard deviations of a binomial(10000, 0.3) is 137.
	if a < 2863 || a > 3137 {
		t.Errorf("throttled %d of %d, want about 3000", a, n)
	}
	if a != b {
		t.Errorf("same seed, different outcome: %d vs %d", a, b)
	}
	// Runtime change.
	s := startT(t, Options{})
	e := bound(t, s, pdu.BindTransmitter, "acme")
	s.SetThrottleRatio(1)
	if st, _ := e.submit(submitSM("1", "x", 0)); st != pdu.ErrThrottled {
		t.Errorf("ratio 1: %v", st)
	}
	s.SetThrottleRatio(0)
	if st, _ := e.submit(submitSM("1", "x", 0)); st != pdu.StatusOK {
		t.Errorf("ratio 0: %v", st)
	}
}

func TestTPS(t *testing.T) {
	s := startT(t, Options{TPS: 5, TPSBurst: 10})
	e := bound(t, s, pdu.BindTransmitter, "acme")
	ok := 0
	pipeline(t, e, 100, submitSM("1", "x", 0), func(h pdu.Header, _ pdu.Body) {
		if h.Status == pdu.StatusOK {
			ok++
		} else if h.Status != pdu.ErrThrottled {
			t.Fatalf("status %v", h.Status)
		}
	})
	// The burst of 10, plus 5/s refill during however long the run took.
	if ok < 10 || ok > 15 {
		t.Errorf("%d accepted, want the burst of 10 (+ refill)", ok)
	}
	s.SetTPS(0, 0)
	if st, _ := e.submit(submitSM("1", "x", 0)); st != pdu.StatusOK {
		t.Errorf("after SetTPS(0): %v", st)
	}
}

func TestErrors(t *testing.T) {
	s := startT(t, Options{ErrorRate: 1, ErrorStatus: pdu.ErrSubmitFail,
		DestStatus: map[string]pdu.Status{"995": pdu.ErrXPAppn, "99500": pdu.ErrInvDstAdr}})
	e := bound(t, s, pdu.BindTransmitter, "acme")
	for _, tc := range []struct {
		dest string
		want pdu.Status
	}{
		{"1234", pdu.ErrSubmitFail},
		{"99500123", pdu.ErrInvDstAdr}, // longest prefix wins
		{"99512", pdu.ErrXPAppn},
	} {
		if st, _ := e.submit(submitSM(tc.dest, "x", 1)); st != tc.want {
			t.Errorf("%s: %v, want %v", tc.dest, st, tc.want)
		}
	}
	s.SetErrorRate(0, 0)
	s.SetDestStatus("995", 0)
	if st, _ := e.submit(submitSM("99512", "x", 0)); st != pdu.StatusOK {
		t.Errorf("rule removed: %v", st)
	}
	s.SetDestStatus("1", pdu.ErrInvDstAdr)
	if st, _ := e.submit(submitSM("12", "x", 0)); st != pdu.ErrInvDstAdr {
		t.Errorf("rule added: %v", st)
	}
	if st := s.Stats(); st.Errors != 4 {
		t.Errorf("errors %d", st.Errors)
	}
	// Half the submits with ErrorRate 0.5, deterministic.
	s2 := startT(t, Options{ErrorRate: 0.5, Seed: 7})
	e2 := bound(t, s2, pdu.BindTransmitter, "acme")
	bad := 0
	pipeline(t, e2, 2000, submitSM("2", "x", 0), func(h pdu.Header, _ pdu.Body) {
		if h.Status == pdu.ErrInvDstAdr { // the default ErrorStatus
			bad++
		}
	})
	if bad < 933 || bad > 1067 { // 3 sd of binomial(2000, .5)
		t.Errorf("%d errors of 2000", bad)
	}
}

func TestStatMix(t *testing.T) {
	run := func() []string {
		s := startT(t, Options{DeliveredRatio: 0.6, UndelivRatio: 0.3, ExpiredRatio: 0.1, Seed: 3,
			ReceiptTLVs: true})
		e := bound(t, s, pdu.BindTransceiver, "acme")
		var stats []string
		pipeline(t, e, 1000, submitSM("1", "x", 1), func(h pdu.Header, b pdu.Body) {
			if h.ID == pdu.DeliverSM {
				sm := b.(*pdu.SM)
				r := parseReceipt(t, sm)
				ms, _ := sm.TLVs.Uint(pdu.TagMessageState)
				if want := map[string]uint32{StatDelivered: 2, StatExpired: 3, StatUndeliv: 5}[r.stat]; ms != want {
					t.Fatalf("%s with message_state %d", r.stat, ms)
				}
				stats = append(stats, r.stat)
				e.sendSeq(h.Seq, 0, &pdu.SMResp{ID: pdu.DeliverSMResp})
			}
		})
		for len(stats) < 1000 {
			stats = append(stats, parseReceipt(t, e.receipt(0)).stat)
		}
		return stats
	}
	a, b := run(), run()
	count := map[string]int{}
	for i := range a {
		count[a[i]]++
		if a[i] != b[i] {
			t.Fatalf("receipt %d: %s vs %s with the same seed", i, a[i], b[i])
		}
	}
	// 3 sd bounds of binomials with n=1000.
	if d, u, x := count[StatDelivered], count[StatUndeliv], count[StatExpired]; d < 554 || d > 646 || u < 257 || u > 343 || x < 72 || x > 128 {
		t.Errorf("stat mix %v", count)
	}
}

func TestStopAnsweringAndRespDelay(t *testing.T) {
	s := startT(t, Options{})
	e := bound(t, s, pdu.BindTransceiver, "acme")
	s.SetStopAnswering(true)
	e.send(submitSM("1", "x", 1))
	e.send(&pdu.Empty{ID: pdu.EnquireLink})
	e.silent(100 * time.Millisecond)
	s.SetStopAnswering(false)
	seq := e.send(submitSM("1", "x", 0))
	if h, _ := e.expect(pdu.SubmitSMResp); h.Seq != seq {
		t.Errorf("answered seq %d, want %d (the unanswered ones stay unanswered)", h.Seq, seq)
	}
	if st := s.Stats(); st.Unanswered != 1 || st.Submits != 2 {
		t.Errorf("unanswered %d submits %d", st.Unanswered, st.Submits)
	}

	s.SetRespDelay(60*time.Millisecond, 0)
	t0 := time.Now()
	first := e.send(submitSM("1", "x", 0))
	second := e.send(submitSM("1", "x", 0))
	for _, want := range []uint32{first, second} { // equal delays keep their order
		if h, _ := e.expect(pdu.SubmitSMResp); h.Seq != want {
			t.Errorf("delayed resp seq %d, want %d", h.Seq, want)
		}
	}
	if el := time.Since(t0); el < 60*time.Millisecond {
		t.Errorf("resp after %v, want >= 60ms", el)
	}
}

func TestDrops(t *testing.T) {
	s := startT(t, Options{DropAfter: 3})
	e := bound(t, s, pdu.BindTransmitter, "acme")
	for range 3 {
		e.send(submitSM("1", "x", 0))
	}
	e.send(submitSM("1", "x", 0)) // after the 3rd: never answered
	for range 3 {
		if h, _ := e.expect(pdu.SubmitSMResp); h.Status != 0 {
			t.Errorf("status %v", h.Status)
		}
	}
	e.eof()
	waitFor(t, "disconnect", func() bool { return s.Stats().Disconnects == 1 })
	// The 4th submit_sm may or may not be read before the drop closes the
	// connection; either way it is never answered.
	if st := s.Stats(); st.Drops != 1 || st.Submits < 3 || st.Submits > 4 || st.Responses["0x00000000"] != 4 /* bind + 3 */ {
		t.Errorf("stats %+v", st)
	}

	s.SetDropAfter(0)
	a := bound(t, s, pdu.BindTransceiver, "acme")
	b := bound(t, s, pdu.BindReceiver, "beta")
	a.submit(submitSM("1", "x", 0))
	s.DropAll()
	a.eof()
	b.eof()
	waitFor(t, "binds gone", func() bool { return s.Stats().BindsCurrent == 0 })
}

func TestRedeliveryAfterNack(t *testing.T) {
	s := startT(t, Options{RedeliverDelay: 20 * time.Millisecond, MaxRedeliveries: 2})
	e := bound(t, s, pdu.BindTransceiver, "acme")
	e.submit(submitSM("1", "x", 1))
	first := e.receipt(pdu.ErrXTAppn)
	again := e.receipt(pdu.ErrSysErr)
	if !bytes.Equal(first.ShortMessage, again.ShortMessage) {
		t.Errorf("redelivered %q, first %q", again.ShortMessage, first.ShortMessage)
	}
	e.receipt(pdu.StatusOK)
	waitFor(t, "acked", func() bool { return s.Stats().ReceiptsAcked == 1 })
	st := s.Stats()
	if st.ReceiptsSent != 3 || st.ReceiptsNacked != 2 || st.ReceiptsRedelivered != 2 || st.ReceiptsUnacked != 0 {
		t.Errorf("stats %+v", st)
	}
	// Retries are bounded.
	e.submit(submitSM("1", "x", 1))
	for range 3 {
		e.receipt(pdu.ErrSysErr)
	}
	e.silent(100 * time.Millisecond)
	waitFor(t, "dropped", func() bool { return s.Stats().ReceiptsDropped == 1 })
}

func TestReceiptsSurviveBindDrop(t *testing.T) {
	s := startT(t, Options{})
	tx := bound(t, s, pdu.BindTransmitter, "acme")
	// No receiver bind: the receipt waits in the queue.
	_, id1 := tx.submit(submitSM("1", "x", 1))
	waitFor(t, "queued", func() bool { return s.Stats().Systems["acme"].QueuedReceipts == 1 })
	rx := bound(t, s, pdu.BindReceiver, "acme")
	// Read it but do not acknowledge; then the bind drops.
	h, b := rx.expect(pdu.DeliverSM)
	if r := parseReceipt(t, b.(*pdu.SM)); r.id != id1 {
		t.Fatalf("receipt %q, want %q", r.id, id1)
	}
	_ = h
	waitFor(t, "unacked", func() bool { return s.Stats().ReceiptsUnacked == 1 })
	rx.nc.Close()
	waitFor(t, "requeued", func() bool { return s.Stats().Systems["acme"].QueuedReceipts == 1 })
	rx2 := bound(t, s, pdu.BindReceiver, "acme")
	if r := parseReceipt(t, rx2.receipt(0)); r.id != id1 {
		t.Errorf("redelivered receipt %q, want %q", r.id, id1)
	}
	// A delayed receipt whose submitting bind is gone goes to the next bind.
	s.SetReceiptDelay(50*time.Millisecond, 0)
	trx := bound(t, s, pdu.BindTransceiver, "beta")
	_, id2 := trx.submit(submitSM("1", "x", 1))
	trx.nc.Close()
	trx2 := bound(t, s, pdu.BindTransceiver, "beta")
	if r := parseReceipt(t, trx2.receipt(0)); r.id != id2 {
		t.Errorf("receipt %q, want %q", r.id, id2)
	}
	waitFor(t, "acks", func() bool { return s.Stats().ReceiptsAcked == 2 })
}
