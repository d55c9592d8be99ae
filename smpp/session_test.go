package smpp

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/smsgate/smsgate/smpp/pdu"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", "\n", "", "\t", "").Replace(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// holdSubmits makes the fake record submit_sm without answering them.
func holdSubmits(f *fakeSMSC) {
	f.onPDU = func(c *smscConn, fr frame) bool { return fr.h.ID == pdu.SubmitSM }
}

func TestBindModes(t *testing.T) {
	for _, tc := range []struct {
		mode BindMode
		want pdu.CommandID
	}{
		{Transceiver, pdu.BindTransceiver},
		{Transmitter, pdu.BindTransmitter},
		{Receiver, pdu.BindReceiver},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			f := newFakeSMSC(t)
			o := testOptions(f)
			o.Mode = tc.mode
			o.SystemType = "VMA"
			o.Handler = make(deliveries, 1)
			s, c := dial(t, f, o)
			if c.bind.ID != tc.want || c.bind.SystemID != "acme" || c.bind.Password != "secret" ||
				c.bind.SystemType != "VMA" || c.bind.InterfaceVersion != 0x34 {
				t.Errorf("bind %+v", c.bind)
			}
			if s.Info().SMSCSystemID != "fake" || s.Info().Mode != tc.mode {
				t.Errorf("info %+v", s.Info())
			}
			err := s.Submit(context.Background(), &testSM, func(Result) {})
			if tc.mode == Receiver && !errors.Is(err, ErrReceiverBind) {
				t.Errorf("Submit on receiver: %v", err)
			}
			if tc.mode != Receiver && err != nil {
				t.Errorf("Submit: %v", err)
			}
		})
	}
}

func TestBindErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    pdu.Status
		nack      bool
		temporary bool
	}{
		{"wrong password", pdu.ErrInvPaswd, false, false},
		{"invalid system id", pdu.ErrInvSysID, false, false},
		{"already bound", pdu.ErrAlyBnd, false, true},
		{"bind failed", pdu.ErrBindFail, false, true},
		{"throttled", pdu.ErrThrottled, false, true},
		{"unknown status", pdu.Status(0x400), false, false},
		{"generic_nack", pdu.ErrInvCmdID, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeSMSC(t)
			f.bindStatus = func(int, *pdu.Bind) pdu.Status { return tc.status }
			f.bindNack = tc.nack
			s, err := Dial(context.Background(), testOptions(f))
			if err == nil {
				s.Close(context.Background())
				t.Fatal("bind succeeded")
			}
			var be *BindError
			if !errors.As(err, &be) || be.Status != tc.status || be.Nack != tc.nack {
				t.Fatalf("err = %v, want BindError %v", err, tc.status)
			}
			if !errors.Is(err, tc.status) {
				t.Errorf("errors.Is(err, %v) = false", tc.status)
			}
			if be.Temporary() != tc.temporary {
				t.Errorf("Temporary() = %v", be.Temporary())
			}
		})
	}
}

func TestDialErrors(t *testing.T) {
	f := newFakeSMSC(t)
	for _, tc := range []struct {
		name string
		mut  func(*SessionOptions)
	}{
		{"no addr", func(o *SessionOptions) { o.Addr = "" }},
		{"no system id", func(o *SessionOptions) { o.SystemID = "" }},
		{"receiver without handler", func(o *SessionOptions) { o.Mode = Receiver }},
		{"bad mode", func(o *SessionOptions) { o.Mode = 7 }},
	} {
		o := testOptions(f)
		tc.mut(&o)
		if s, err := Dial(context.Background(), o); err == nil {
			s.Close(context.Background())
			t.Errorf("%s: Dial succeeded", tc.name)
		}
	}
	// A silent peer: the bind is cut by ctx.
	f.bindStatus = func(int, *pdu.Bind) pdu.Status { time.Sleep(300 * time.Millisecond); return 0 }
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if s, err := Dial(ctx, testOptions(f)); !errors.Is(err, context.DeadlineExceeded) {
		if s != nil {
			s.Close(context.Background())
		}
		t.Errorf("Dial with expiring ctx: %v", err)
	}
}

func TestSubmitResponses(t *testing.T) {
	for _, tc := range []struct {
		name      string
		answer    func(c *smscConn, seq uint32)
		want      Result
		accepted  bool
		retryable bool
		throttled bool
	}{
		{"ok", func(c *smscConn, seq uint32) { c.respond(seq, 0, "5F3A01") },
			Result{Outcome: Responded, MessageID: "5F3A01"}, true, false, false},
		{"throttled", func(c *smscConn, seq uint32) { c.respond(seq, pdu.ErrThrottled, "") },
			Result{Outcome: Responded, Status: pdu.ErrThrottled}, false, true, true},
		{"queue full", func(c *smscConn, seq uint32) { c.respond(seq, pdu.ErrMsgQFul, "") },
			Result{Outcome: Responded, Status: pdu.ErrMsgQFul}, false, true, true},
		{"rejected", func(c *smscConn, seq uint32) { c.respond(seq, pdu.ErrInvDstAdr, "") },
			Result{Outcome: Responded, Status: pdu.ErrInvDstAdr}, false, false, false},
		{"generic_nack", func(c *smscConn, seq uint32) { c.send(pdu.AppendEmpty(nil, pdu.GenericNack, pdu.ErrInvCmdID, seq)) },
			Result{Outcome: Responded, Status: pdu.ErrInvCmdID, Nack: true}, false, false, false},
		{"generic_nack throttled", func(c *smscConn, seq uint32) { c.send(pdu.AppendEmpty(nil, pdu.GenericNack, pdu.ErrThrottled, seq)) },
			Result{Outcome: Responded, Status: pdu.ErrThrottled, Nack: true}, false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeSMSC(t)
			holdSubmits(f)
			var throttles atomic.Int32
			o := testOptions(f)
			o.OnThrottle = func(pdu.Status) { throttles.Add(1) }
			s, c := dial(t, f, o)
			r := make(results, 1)
			submit(t, s, r)
			fr := c.expectID(t, pdu.SubmitSM)
			tc.answer(c, fr.h.Seq)
			got := r.next(t)
			if got.Seq != fr.h.Seq {
				t.Errorf("result seq %d, want the submit_sm's %d", got.Seq, fr.h.Seq)
			}
			got.Latency, got.Seq = 0, 0
			if got != tc.want {
				t.Errorf("result %+v, want %+v", got, tc.want)
			}
			if got.Accepted() != tc.accepted || got.Retryable() != tc.retryable {
				t.Errorf("Accepted %v Retryable %v", got.Accepted(), got.Retryable())
			}
			if (throttles.Load() == 1) != tc.throttled {
				t.Errorf("OnThrottle calls %d", throttles.Load())
			}
			if s.InFlight() != 0 {
				t.Errorf("InFlight %d", s.InFlight())
			}
		})
	}
}

func TestSubmitWireFormat(t *testing.T) {
	f := newFakeSMSC(t)
	s, c := dial(t, f, testOptions(f))
	r := make(results, 1)
	sm := testSM
	sm.ID = pdu.DeliverSM // ignored: Submit always sends submit_sm
	if err := s.Submit(context.Background(), &sm, r.done); err != nil {
		t.Fatal(err)
	}
	fr := c.expectID(t, pdu.SubmitSM)
	// submit_sm body of SMPP 3.4 §4.4.1 laid out field by field.
	want := unhex(t, `00 05 00 41434d4500 01 01 39393535393931323334353600 00 00 00 00 00 01 00 00 00 05 68656c6c6f`)
	if string(fr.body) != string(want) {
		t.Errorf("body %x\nwant %x", fr.body, want)
	}
	if res := r.next(t); res.MessageID != strconv.Itoa(int(fr.h.Seq)) {
		t.Errorf("result %+v", res)
	}
	long := testSM
	long.ShortMessage = make([]byte, 255)
	if err := s.Submit(context.Background(), &long, r.done); !errors.Is(err, pdu.ErrSMTooLong) {
		t.Errorf("oversized short_message: %v", err)
	}
	if err := s.Submit(context.Background(), &testSM, nil); !errors.Is(err, ErrNilCallback) {
		t.Errorf("nil callback: %v", err)
	}
}

func TestWindowBlocks(t *testing.T) {
	f := newFakeSMSC(t)
	holdSubmits(f)
	o := testOptions(f)
	o.Window = 2
	s, c := dial(t, f, o)
	r := make(results, 3)
	submit(t, s, r)
	submit(t, s, r)
	first := c.expectID(t, pdu.SubmitSM)
	c.expectID(t, pdu.SubmitSM)
	errc := submitAsync(context.Background(), s, r)
	select {
	case err := <-errc:
		t.Fatalf("third Submit returned (%v) with a full window", err)
	case <-time.After(100 * time.Millisecond):
	}
	if s.InFlight() != 2 {
		t.Errorf("InFlight %d", s.InFlight())
	}
	c.respond(first.h.Seq, 0, "1")
	if err := <-errc; err != nil {
		t.Fatalf("third Submit: %v", err)
	}
	if res := r.next(t); res.MessageID != "1" {
		t.Errorf("first result %+v", res)
	}
	c.expectID(t, pdu.SubmitSM)

	// A full window and an expiring ctx: the submitter gives up, done is
	// never called.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Submit(ctx, &testSM, r.done); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Submit with full window and expiring ctx: %v", err)
	}
}

func TestSequenceWrap(t *testing.T) {
	f := newFakeSMSC(t)
	holdSubmits(f)
	o := testOptions(f)
	o.hooks = &testHooks{firstSeq: pdu.MaxSeq - 1} // the bind takes MaxSeq-1
	s, c := dial(t, f, o)
	r := make(results, 3)
	submit(t, s, r)
	submit(t, s, r)
	// Come round again while MaxSeq and 1 are still outstanding.
	s.mu.Lock()
	s.seq = pdu.MaxSeq
	s.mu.Unlock()
	submit(t, s, r)
	var seqs []uint32
	for range 3 {
		seqs = append(seqs, c.expectID(t, pdu.SubmitSM).h.Seq)
	}
	if want := []uint32{pdu.MaxSeq, 1, 2}; seqs[0] != want[0] || seqs[1] != want[1] || seqs[2] != want[2] {
		t.Fatalf("sequence numbers %#x, want %#x", seqs, want)
	}
	for _, q := range seqs {
		c.respond(q, 0, strconv.FormatUint(uint64(q), 16))
	}
	got := map[string]bool{}
	for range 3 {
		got[r.next(t).MessageID] = true
	}
	if !got["7fffffff"] || !got["1"] || !got["2"] {
		t.Errorf("results %v", got)
	}
}

func TestRespTimeoutAndLateResponse(t *testing.T) {
	f := newFakeSMSC(t)
	holdSubmits(f)
	reg := prometheus.NewRegistry()
	o := testOptions(f)
	o.Window = 1
	o.RespTimeout = 100 * time.Millisecond
	o.Metrics = NewMetrics(reg)
	s, c := dial(t, f, o)
	r := make(results, 2)
	submit(t, s, r)
	first := c.expectID(t, pdu.SubmitSM)
	res := r.next(t)
	if res.Outcome != Unknown || !errors.Is(res.Err, ErrRespTimeout) || res.Latency < o.RespTimeout {
		t.Fatalf("result %+v", res)
	}
	if s.InFlight() != 0 {
		t.Fatalf("slot not freed: InFlight %d", s.InFlight())
	}
	// The slot is free again: Submit does not block.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	sm := testSM
	if err := s.Submit(ctx, &sm, r.done); err != nil {
		t.Fatalf("Submit after timeout: %v", err)
	}
	second := c.expectID(t, pdu.SubmitSM)
	c.respond(first.h.Seq, 0, "late")
	c.respond(second.h.Seq, 0, "second")
	if res := r.next(t); res.Outcome != Responded || res.MessageID != "second" {
		t.Errorf("second result %+v", res)
	}
	if n := testutil.ToFloat64(o.Metrics.late.WithLabelValues("test")); n != 1 {
		t.Errorf("late responses %v", n)
	}
	if n := testutil.ToFloat64(o.Metrics.unknown.WithLabelValues("test")); n != 1 {
		t.Errorf("unknown outcomes %v", n)
	}
	if s.Err() != nil {
		t.Errorf("session ended: %v", s.Err())
	}
}

// TestDisconnectMidWindow: written submits resolve Unknown, queued ones
// NotSent.
func TestDisconnectMidWindow(t *testing.T) {
	f := newFakeSMSC(t)
	holdSubmits(f)
	var block atomic.Bool
	inHook, release := make(chan struct{}), make(chan struct{})
	o := testOptions(f)
	o.hooks = &testHooks{beforeWrite: func() {
		if block.Load() {
			close(inHook)
			<-release
		}
	}}
	reg := prometheus.NewRegistry()
	o.Metrics = NewMetrics(reg)
	s, c := dial(t, f, o)
	rs := make([]results, 4)
	for i := range rs {
		rs[i] = make(results, 1)
	}
	submit(t, s, rs[0])
	submit(t, s, rs[1])
	c.expectID(t, pdu.SubmitSM)
	c.expectID(t, pdu.SubmitSM)
	block.Store(true)
	submit(t, s, rs[2]) // taken by the writer, which stalls before writing
	<-inHook
	block.Store(false)
	submit(t, s, rs[3]) // stays queued
	c.c.Close()
	select {
	case <-s.dying:
	case <-time.After(5 * time.Second):
		t.Fatal("session did not notice the disconnect")
	}
	close(release)
	waitDone(t, s, 5*time.Second)
	for i, want := range []Outcome{Unknown, Unknown, NotSent, NotSent} {
		if res := rs[i].next(t); res.Outcome != want || res.Err == nil {
			t.Errorf("submit %d: %+v, want %v", i, res, want)
		}
	}
	if err := s.Submit(context.Background(), &testSM, rs[0].done); !isClosedErr(err) {
		t.Errorf("Submit after end: %v", err)
	}
	if n := testutil.ToFloat64(o.Metrics.submits.WithLabelValues("test", "not_sent")); n != 2 {
		t.Errorf("not_sent %v", n)
	}
	if n := testutil.ToFloat64(o.Metrics.inflight.WithLabelValues("test")); n != 0 {
		t.Errorf("window_inflight %v", n)
	}
}

// TestInbound: requests and oddities from the SMSC are answered and the
// bind survives them.
func TestInbound(t *testing.T) {
	big := make([]byte, 2000)
	binary.BigEndian.PutUint32(big[0:], 2000)
	binary.BigEndian.PutUint32(big[4:], uint32(pdu.DeliverSM))
	binary.BigEndian.PutUint32(big[12:], 7)
	bigResp := append([]byte(nil), big...)
	binary.BigEndian.PutUint32(bigResp[4:], uint32(pdu.DataSMResp))
	for _, tc := range []struct {
		name     string
		wire     string
		raw      []byte
		wantID   pdu.CommandID // 0: no answer expected
		wantSt   pdu.Status
		wantSeq  uint32
		errKind  string
		survives bool
	}{
		{"enquire_link answered", `00000010 00000015 00000000 0000002a`, nil, pdu.EnquireLinkResp, 0, 42, "", true},
		{"unknown command", `00000010 00000999 00000000 00000005`, nil, pdu.GenericNack, pdu.ErrInvCmdID, 5, kindUnknownCommand, true},
		{"unsupported query_sm", `00000013 00000003 00000000 00000006 410000`, nil, pdu.GenericNack, pdu.ErrInvCmdID, 6, kindUnknownCommand, true},
		{"oversize deliver_sm", "", big, pdu.GenericNack, pdu.ErrInvCmdLen, 7, kindTooLarge, true},
		{"oversize response not answered", "", bigResp, 0, 0, 0, kindTooLarge, true},
		{"deliver_sm without NUL", `00000013 00000005 00000000 00000008 616263`, nil, pdu.GenericNack, pdu.ErrInvCmdLen, 8, kindMalformed, true},
		{"deliver_sm with broken TLV", `00000036 00000005 00000000 00000009
			00 01 01 39393535393931323334353600 00 00 3434323200 04 00 00 00 00 00 00 00 00 00
			001e 0009 41`,
			nil, pdu.GenericNack, pdu.ErrInvOptParStream, 9, kindMalformed, true},
		{"unknown response ignored", `00000010 80000999 00000000 0000000a`, nil, 0, 0, 0, kindUnexpectedResponse, true},
		{"alert_notification not answered", `00000010 00000102 00000000 0000000b`, nil, 0, 0, 0, "", true},
		{"bad command_length drops the bind", `00000008 00000015 00000000 0000000c`, nil, 0, 0, 0, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeSMSC(t)
			reg := prometheus.NewRegistry()
			o := testOptions(f)
			o.Mode = Transceiver
			o.MaxPDU = 1024
			o.Handler = make(deliveries, 10)
			o.Metrics = NewMetrics(reg)
			s, c := dial(t, f, o)
			wire := tc.raw
			if wire == nil {
				wire = unhex(t, tc.wire)
			}
			c.send(wire)
			if !tc.survives {
				waitDone(t, s, 5*time.Second)
				if !errors.Is(s.Err(), pdu.ErrBadLength) {
					t.Errorf("Err %v", s.Err())
				}
				return
			}
			// A probe after the PDU: its answer proves the bind survived
			// and orders the check that nothing else was sent.
			c.send(pdu.AppendEmpty(nil, pdu.EnquireLink, 0, 99))
			if tc.wantID != 0 {
				fr := c.expect(t)
				if fr.h.ID != tc.wantID || fr.h.Status != tc.wantSt || fr.h.Seq != tc.wantSeq {
					t.Errorf("answer %v status %v seq %d", fr.h.ID, fr.h.Status.Hex(), fr.h.Seq)
				}
			}
			if fr := c.expect(t); fr.h.ID != pdu.EnquireLinkResp || fr.h.Seq != 99 {
				t.Errorf("probe answer %v seq %d", fr.h.ID, fr.h.Seq)
			}
			if tc.errKind != "" {
				if n := testutil.ToFloat64(o.Metrics.pduErrors.WithLabelValues("test", tc.errKind)); n != 1 {
					t.Errorf("pdu_errors{kind=%s} = %v", tc.errKind, n)
				}
			}
			if s.Err() != nil {
				t.Errorf("session ended: %v", s.Err())
			}
		})
	}
}

func TestIdleEnquireLink(t *testing.T) {
	f := newFakeSMSC(t)
	o := testOptions(f)
	o.EnquireLink = 100 * time.Millisecond
	s, c := dial(t, f, o)
	for range 3 {
		c.expectID(t, pdu.EnquireLink) // answered by the fake
	}
	if s.Err() != nil {
		t.Errorf("session ended: %v", s.Err())
	}
}

// TestHalfOpen: the SMSC reads but never answers; the session ends after
// about EnquireLink + EnquireLinkTimeout.
func TestHalfOpen(t *testing.T) {
	f := newFakeSMSC(t)
	f.onPDU = func(*smscConn, frame) bool { return true }
	o := testOptions(f)
	o.EnquireLink = 100 * time.Millisecond
	o.EnquireLinkTimeout = 100 * time.Millisecond
	o.RespTimeout = time.Hour
	s, c := dial(t, f, o)
	start := time.Now()
	r := make(results, 1)
	submit(t, s, r) // outgoing traffic alone does not count as a live link
	waitDone(t, s, 3*time.Second)
	took := time.Since(start)
	if !errors.Is(s.Err(), ErrEnquireLinkTimeout) {
		t.Errorf("Err %v", s.Err())
	}
	if took < o.EnquireLink+o.EnquireLinkTimeout {
		t.Errorf("ended after %v, before EnquireLink+EnquireLinkTimeout", took)
	}
	c.expectID(t, pdu.EnquireLink)
	if res := r.next(t); res.Outcome != Unknown {
		t.Errorf("result %+v", res)
	}
}

func TestPeerUnbind(t *testing.T) {
	f := newFakeSMSC(t)
	holdSubmits(f)
	s, c := dial(t, f, testOptions(f))
	r := make(results, 1)
	submit(t, s, r)
	c.expectID(t, pdu.SubmitSM)
	c.send(pdu.AppendEmpty(nil, pdu.Unbind, 0, 9))
	fr := c.expectID(t, pdu.UnbindResp)
	if fr.h.Seq != 9 || fr.h.Status != 0 {
		t.Errorf("unbind_resp %+v", fr.h)
	}
	waitDone(t, s, 5*time.Second)
	if !errors.Is(s.Err(), ErrPeerUnbind) {
		t.Errorf("Err %v", s.Err())
	}
	if res := r.next(t); res.Outcome != Unknown {
		t.Errorf("result %+v", res)
	}
}

func TestCloseDrains(t *testing.T) {
	f := newFakeSMSC(t)
	holdSubmits(f)
	s, c := dial(t, f, testOptions(f))
	r := make(results, 2)
	submit(t, s, r)
	submit(t, s, r)
	a, b := c.expectID(t, pdu.SubmitSM), c.expectID(t, pdu.SubmitSM)
	closed := make(chan error, 1)
	go func() { closed <- s.Close(context.Background()) }()
	// Submits are refused once Close started.
	select {
	case <-s.closingCh:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not start")
	}
	if err := s.Submit(context.Background(), &testSM, r.done); !isClosedErr(err) {
		t.Fatalf("Submit during Close: %v", err)
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v before the window drained", err)
	case <-time.After(50 * time.Millisecond):
	}
	c.respond(a.h.Seq, 0, "a")
	c.respond(b.h.Seq, 0, "b")
	for range 2 {
		if res := r.next(t); res.Outcome != Responded {
			t.Errorf("result %+v", res)
		}
	}
	c.expectID(t, pdu.Unbind)
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	if !isClosedErr(s.Err()) {
		t.Errorf("Err %v", s.Err())
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCloseBounded(t *testing.T) {
	f := newFakeSMSC(t)
	holdSubmits(f)
	s, c := dial(t, f, testOptions(f))
	r := make(results, 1)
	submit(t, s, r)
	c.expectID(t, pdu.SubmitSM)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close: %v", err)
	}
	if res := r.next(t); res.Outcome != Unknown {
		t.Errorf("result %+v", res)
	}
}

// TestDeliverAck: deliver_sm_resp goes out only when the handler acks, with
// the ack's status.
func TestDeliverAck(t *testing.T) {
	// deliver_sm (SMPP 3.4 §4.6.1) with a receipt (esm_class 0x04) and the
	// receipted_message_id TLV.
	receipt := `0000004a 00000005 00000000 0000000a
		00 01 01 39393535393931323334353600 00 00 3434323200 04 00 00 00 00 00 00 00 00
		12 69643a313220737461743a44454c49565244
		001e 0003 313200`
	for _, st := range []pdu.Status{pdu.StatusOK, pdu.ErrSysErr, pdu.ErrThrottled, pdu.ErrXTAppn} {
		t.Run(st.Hex(), func(t *testing.T) {
			f := newFakeSMSC(t)
			ds := make(deliveries, 1)
			o := testOptions(f)
			o.Mode = Transceiver
			o.Handler = ds
			s, c := dial(t, f, o)
			wire := unhex(t, receipt)
			c.send(wire)
			c.send(pdu.AppendEmpty(nil, pdu.EnquireLink, 0, 11))
			d := ds.next(t)
			if !d.d.IsReceipt() || d.d.Source != "995599123456" || d.b.Operator != "test" {
				t.Errorf("delivery %+v", d.d)
			}
			if id, _ := d.d.TLVs.CString(pdu.TagReceiptedMessageID); id != "12" {
				t.Errorf("receipted_message_id %q", id)
			}
			// Not acked yet: the enquire_link behind it is answered first.
			if fr := c.expect(t); fr.h.ID != pdu.EnquireLinkResp {
				t.Fatalf("got %v before the ack", fr.h.ID)
			}
			go d.ack(st) // from another goroutine
			fr := c.expectID(t, pdu.DeliverSMResp)
			if fr.h.Seq != 10 || fr.h.Status != st {
				t.Errorf("deliver_sm_resp seq %d status %v", fr.h.Seq, fr.h.Status.Hex())
			}
			if wantLen := map[bool]int{true: 1, false: 0}[st == 0]; len(fr.body) != wantLen {
				t.Errorf("deliver_sm_resp body %x", fr.body)
			}
			d.ack(0) // only the first ack counts
			c.send(pdu.AppendEmpty(nil, pdu.EnquireLink, 0, 12))
			if fr := c.expect(t); fr.h.ID != pdu.EnquireLinkResp || fr.h.Seq != 12 {
				t.Errorf("second ack sent something: %v", fr.h.ID)
			}
			s.Close(context.Background())
			d.ack(0) // after the session: a no-op
		})
	}
}

// TestDeliverBackpressure: with MaxUnacked deliver_sm un-acked the reader
// pauses (the SMSC's next PDUs wait in TCP); an ack resumes it.
func TestDeliverBackpressure(t *testing.T) {
	f := newFakeSMSC(t)
	ds := make(deliveries, 10)
	o := testOptions(f)
	o.Mode = Receiver
	o.Handler = ds
	o.MaxUnacked = 2
	o.MaxReadPause = time.Minute
	s, c := dial(t, f, o)
	c.send(moPDU(1))
	c.send(moPDU(2))
	c.send(moPDU(3))
	c.send(pdu.AppendEmpty(nil, pdu.EnquireLink, 0, 4))
	first := ds.next(t)
	ds.next(t)
	select {
	case d := <-ds:
		t.Fatalf("third deliver_sm handed over with 2 un-acked: %+v", d.d)
	case fr := <-c.rec:
		t.Fatalf("SMSC got %v while the reader should be paused", fr.h.ID)
	case <-time.After(100 * time.Millisecond):
	}
	first.ack(0)
	if fr := c.expect(t); fr.h.ID != pdu.DeliverSMResp || fr.h.Seq != 1 {
		t.Errorf("got %v seq %d", fr.h.ID, fr.h.Seq)
	}
	third := ds.next(t)
	if string(third.d.ShortMessage) != "STOP" {
		t.Errorf("third %+v", third.d)
	}
	if fr := c.expect(t); fr.h.ID != pdu.EnquireLinkResp {
		t.Errorf("got %v", fr.h.ID)
	}
	if s.Err() != nil {
		t.Errorf("session ended: %v", s.Err())
	}
}

// TestDeliverRefusedAfterMaxReadPause: a pause longer than MaxReadPause
// ends in refusals (ESME_RTHROTTLED) so the reader reads on — a
// submit_sm_resp behind the deliver_sm is not left to time out — and
// refusals stop at once when an ack makes room.
func TestDeliverRefusedAfterMaxReadPause(t *testing.T) {
	f := newFakeSMSC(t)
	ds := make(deliveries, 10)
	o := testOptions(f)
	o.Mode = Receiver
	o.Handler = ds
	o.MaxUnacked = 2
	o.MaxReadPause = 50 * time.Millisecond
	s, c := dial(t, f, o)
	c.send(moPDU(1))
	c.send(moPDU(2))
	c.send(moPDU(3))
	c.send(moPDU(4))
	c.send(pdu.AppendEmpty(nil, pdu.EnquireLink, 0, 5))
	first := ds.next(t)
	ds.next(t)
	for _, seq := range []uint32{3, 4} {
		if fr := c.expect(t); fr.h.ID != pdu.DeliverSMResp || fr.h.Seq != seq || fr.h.Status != pdu.ErrThrottled {
			t.Fatalf("deliver_sm %d: got %v seq %d status %s, want ESME_RTHROTTLED", seq, fr.h.ID, fr.h.Seq, fr.h.Status.Hex())
		}
	}
	if fr := c.expect(t); fr.h.ID != pdu.EnquireLinkResp || fr.h.Seq != 5 {
		t.Fatalf("the reader stopped: got %v seq %d", fr.h.ID, fr.h.Seq)
	}
	select {
	case d := <-ds:
		t.Fatalf("a refused deliver_sm was handed over: %+v", d.d)
	case <-time.After(50 * time.Millisecond):
	}
	first.ack(0)
	if fr := c.expect(t); fr.h.ID != pdu.DeliverSMResp || fr.h.Seq != 1 || fr.h.Status != pdu.StatusOK {
		t.Errorf("got %v seq %d", fr.h.ID, fr.h.Seq)
	}
	c.send(moPDU(6)) // delivered again: there is room now
	if again := ds.next(t); string(again.d.ShortMessage) != "STOP" {
		t.Errorf("redelivered %+v", again.d)
	}
	if s.Err() != nil {
		t.Errorf("session ended: %v", s.Err())
	}
}

func moPDU(seq uint32) []byte {
	return pdu.Append(nil, seq, 0, &pdu.SM{ID: pdu.DeliverSM, Source: "995599123456", Dest: "4422", ShortMessage: []byte("STOP")})
}

func TestDeliverOnTransmitter(t *testing.T) {
	f := newFakeSMSC(t)
	_, c := dial(t, f, testOptions(f))
	c.sendPDU(5, 0, &pdu.SM{ID: pdu.DeliverSM, Source: "1", Dest: "2"})
	if fr := c.expect(t); fr.h.ID != pdu.DeliverSMResp || fr.h.Status != pdu.ErrInvBndSts || fr.h.Seq != 5 {
		t.Errorf("got %v %v", fr.h.ID, fr.h.Status.Hex())
	}
}

// TestOversizeSubmitResp: a submit_sm_resp above MaxPDU still resolves its
// submit with the header's status; the lost body is reported in Err.
func TestOversizeSubmitResp(t *testing.T) {
	f := newFakeSMSC(t)
	holdSubmits(f)
	o := testOptions(f)
	o.MaxPDU = 1024
	s, c := dial(t, f, o)
	r := make(results, 1)
	submit(t, s, r)
	fr := c.expectID(t, pdu.SubmitSM)
	big := make([]byte, 2000)
	binary.BigEndian.PutUint32(big[0:], 2000)
	binary.BigEndian.PutUint32(big[4:], uint32(pdu.SubmitSMResp))
	binary.BigEndian.PutUint32(big[12:], fr.h.Seq)
	c.send(big)
	res := r.next(t)
	if res.Outcome != Responded || res.Status != 0 || res.MessageID != "" || !errors.Is(res.Err, pdu.ErrTooLarge) {
		t.Errorf("result %+v", res)
	}
	if s.Err() != nil {
		t.Errorf("session ended: %v", s.Err())
	}
}
