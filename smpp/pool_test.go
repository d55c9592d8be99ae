package smpp

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/smsgate/smsgate/smpp/pdu"
)

// runPool starts p.Run and stops it at cleanup, checking it returns.
func runPool(t testing.TB, p *Pool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return")
		}
	})
}

func poolOptions(f *fakeSMSC) PoolOptions {
	o := testOptions(f)
	o.Mode = Transceiver
	o.Handler = make(deliveries, 100)
	return PoolOptions{Session: o, Binds: 1, BackoffMin: 10 * time.Millisecond, BackoffMax: 40 * time.Millisecond,
		CloseTimeout: time.Second}
}

// eventually polls cond for up to 5s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 5s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func poolSubmit(t *testing.T, p *Pool) Result {
	t.Helper()
	r := make(results, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sm := testSM
	if err := p.Submit(ctx, &sm, r.done); err != nil {
		t.Fatalf("Pool.Submit: %v", err)
	}
	return r.next(t)
}

func TestPoolLayouts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		mode      BindMode
		binds, rx int
		want      map[pdu.CommandID]int
	}{
		{"transceivers", Transceiver, 2, 0, map[pdu.CommandID]int{pdu.BindTransceiver: 2}},
		{"transmitter+receiver", Transmitter, 2, 1, map[pdu.CommandID]int{pdu.BindTransmitter: 2, pdu.BindReceiver: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeSMSC(t)
			var mu sync.Mutex
			got := map[pdu.CommandID]int{}
			f.bindStatus = func(_ int, b *pdu.Bind) pdu.Status {
				mu.Lock()
				got[b.ID]++
				mu.Unlock()
				return 0
			}
			o := poolOptions(f)
			o.Session.Mode = tc.mode
			o.Binds, o.Receivers = tc.binds, tc.rx
			p := NewPool(o)
			runPool(t, p)
			eventually(t, "binds up", func() bool {
				st := p.Stats()
				return st.BindsUp == tc.binds && st.ReceiversUp == tc.rx
			})
			mu.Lock()
			for id, n := range tc.want {
				if got[id] != n {
					t.Errorf("%v: %d binds, want %d", id, got[id], n)
				}
			}
			mu.Unlock()
			if st := p.Stats(); st.WindowCap != tc.binds*10 || st.BindsWanted != tc.binds || st.ReceiversWanted != tc.rx {
				t.Errorf("stats %+v", st)
			}
			if res := poolSubmit(t, p); !res.Accepted() {
				t.Errorf("result %+v", res)
			}
		})
	}
}

func TestPoolReconnects(t *testing.T) {
	f := newFakeSMSC(t)
	reg := prometheus.NewRegistry()
	o := poolOptions(f)
	o.Session.Metrics = NewMetrics(reg)
	p := NewPool(o)
	runPool(t, p)
	f.nextConn(t)
	if res := poolSubmit(t, p); !res.Accepted() {
		t.Fatalf("result %+v", res)
	}
	f.DropAll()
	f.nextConn(t) // the pool bound again
	eventually(t, "reconnect counted", func() bool { return p.Stats().Reconnects == 1 })
	if res := poolSubmit(t, p); !res.Accepted() {
		t.Errorf("result after reconnect %+v", res)
	}
	if n := testutil.ToFloat64(o.Session.Metrics.reconnects.WithLabelValues("test")); n != 1 {
		t.Errorf("reconnects_total %v", n)
	}
	if n := testutil.ToFloat64(o.Session.Metrics.bindsUp.WithLabelValues("test")); n != 1 {
		t.Errorf("binds_up %v", n)
	}
}

func TestPoolBackoff(t *testing.T) {
	p := NewPool(PoolOptions{BackoffMin: 100 * time.Millisecond, BackoffMax: time.Second})
	for attempt, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		for range 50 {
			if d := p.backoff(attempt); d < want/2 || d > want {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
	if d := p.backoff(1000); d > time.Second {
		t.Errorf("huge attempt: %v", d)
	}
}

// TestPoolSubmitWaitsForBind: with no bind up, Pool.Submit blocks (it does
// not fail) and proceeds once a bind comes up.
func TestPoolSubmitWaitsForBind(t *testing.T) {
	f := newFakeSMSC(t)
	var allow atomic.Bool
	f.bindStatus = func(int, *pdu.Bind) pdu.Status {
		if allow.Load() {
			return 0
		}
		return pdu.ErrBindFail
	}
	p := NewPool(poolOptions(f))
	runPool(t, p)
	eventually(t, "a refused bind", func() bool { return f.binds.Load() >= 2 })
	if p.Usable() {
		t.Error("Usable with no bind")
	}
	r := make(results, 1)
	errc := submitAsync(context.Background(), p, r)
	select {
	case err := <-errc:
		t.Fatalf("Pool.Submit returned %v with no bind", err)
	case <-time.After(100 * time.Millisecond):
	}
	allow.Store(true)
	if err := <-errc; err != nil {
		t.Fatalf("Pool.Submit: %v", err)
	}
	if res := r.next(t); !res.Accepted() {
		t.Errorf("result %+v", res)
	}
	if !p.Usable() {
		t.Error("not Usable with a bind up")
	}

	// ctx ends while waiting: the error is returned, done never called.
	allow.Store(false)
	f.DropAll()
	eventually(t, "bind down", func() bool { return p.Stats().BindsUp == 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := p.Submit(ctx, &testSM, r.done); err != context.DeadlineExceeded {
		t.Errorf("Submit with no bind and expiring ctx: %v", err)
	}
}

func TestPoolThrottlingLowersGate(t *testing.T) {
	f := newFakeSMSC(t)
	f.onPDU = func(c *smscConn, fr frame) bool {
		if fr.h.ID == pdu.SubmitSM {
			c.respond(fr.h.Seq, pdu.ErrThrottled, "")
			return true
		}
		return false
	}
	reg := prometheus.NewRegistry()
	o := poolOptions(f)
	o.TPS = 1000
	o.Session.Metrics = NewMetrics(reg)
	var userHook atomic.Int32
	o.Session.OnThrottle = func(pdu.Status) { userHook.Add(1) }
	p := NewPool(o)
	runPool(t, p)
	eventually(t, "usable", p.Usable)
	res := poolSubmit(t, p)
	if res.Status != pdu.ErrThrottled || !res.Retryable() {
		t.Errorf("result %+v", res)
	}
	st := p.Stats()
	if !st.Throttled || st.TPSRate >= 1000 || st.TPSRate < 400 || st.TPSLimit != 1000 {
		t.Errorf("stats after throttling %+v", st)
	}
	if p.Usable() {
		t.Error("Usable during throttle back-off")
	}
	if userHook.Load() != 1 {
		t.Errorf("user OnThrottle called %d times", userHook.Load())
	}
	if n := testutil.ToFloat64(o.Session.Metrics.throttled.WithLabelValues("test")); n != 1 {
		t.Errorf("throttled_total %v", n)
	}
	p.SetTPS(200)
	if st := p.Stats(); st.TPSLimit != 200 || st.TPSRate > 200 {
		t.Errorf("after SetTPS %+v", st)
	}
}

func TestPoolSetBinds(t *testing.T) {
	f := newFakeSMSC(t)
	var unbinds atomic.Int32
	f.onPDU = func(c *smscConn, fr frame) bool {
		if fr.h.ID == pdu.Unbind {
			unbinds.Add(1)
		}
		return false
	}
	p := NewPool(poolOptions(f))
	runPool(t, p)
	eventually(t, "1 bind", func() bool { return p.Stats().BindsUp == 1 })
	p.SetBinds(3)
	eventually(t, "3 binds", func() bool { return p.Stats().BindsUp == 3 })
	p.SetBinds(1)
	eventually(t, "back to 1", func() bool { return p.Stats().BindsUp == 1 })
	if unbinds.Load() != 2 {
		t.Errorf("%d unbinds, want 2 (graceful close of removed binds)", unbinds.Load())
	}
	// Spread: several submits in flight go to the least loaded binds.
	p.SetBinds(2)
	eventually(t, "2 binds", func() bool { return p.Stats().BindsUp == 2 })
	for range 4 {
		if res := poolSubmit(t, p); !res.Accepted() {
			t.Errorf("result %+v", res)
		}
	}
}

func TestPoolRunInvalid(t *testing.T) {
	if err := NewPool(PoolOptions{}).Run(context.Background()); err == nil {
		t.Error("Run with empty options succeeded")
	}
	f := newFakeSMSC(t)
	o := poolOptions(f)
	o.Session.Mode = Receiver
	if err := NewPool(o).Run(context.Background()); err == nil {
		t.Error("Run with receiver template succeeded")
	}
}

// TestPoolExactlyOnce: with binds dropping under load, every Submit that
// returned nil gets exactly one done call, and nothing else does.
func TestPoolExactlyOnce(t *testing.T) {
	f := newFakeSMSC(t)
	f.record = false
	o := poolOptions(f)
	o.Binds = 2
	o.BackoffMin, o.BackoffMax = time.Millisecond, 5*time.Millisecond
	p := NewPool(o)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- p.Run(ctx) }()

	const submitters, each = 4, 300
	var queued, called, dup atomic.Int64
	var outcomes [3]atomic.Int64
	var wg sync.WaitGroup
	for range submitters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sm := testSM
			for range each {
				var once atomic.Bool
				sctx, scancel := context.WithTimeout(ctx, 2*time.Second)
				err := p.Submit(sctx, &sm, func(r Result) {
					if once.Swap(true) {
						dup.Add(1)
					}
					called.Add(1)
					outcomes[r.Outcome].Add(1)
				})
				scancel()
				if err == nil {
					queued.Add(1)
				}
			}
		}()
	}
	stop := make(chan struct{})
	chaos := make(chan struct{})
	go func() {
		defer close(chaos)
		for range 20 {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
				f.DropAll()
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-chaos
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if dup.Load() != 0 || called.Load() != queued.Load() {
		t.Errorf("queued %d, done called %d (%d duplicates)", queued.Load(), called.Load(), dup.Load())
	}
	if queued.Load() == 0 || outcomes[Responded].Load() == 0 {
		t.Errorf("nothing got through: queued %d", queued.Load())
	}
	t.Logf("queued %d: responded %d, unknown %d, not sent %d, reconnects %d", queued.Load(),
		outcomes[Responded].Load(), outcomes[Unknown].Load(), outcomes[NotSent].Load(), p.Stats().Reconnects)
}

// A bind whose submits time out is not given new ones until the SMSC
// answers something: on a half-open link (nothing comes back) each
// RespTimeout would otherwise cost a whole window of unknown outcomes.
// When the late responses arrive, the same bind takes submits again.
func TestPoolHoldsSubmitsOnASilentBind(t *testing.T) {
	f := newFakeSMSC(t)
	var silent atomic.Bool
	var swallowed sync.Map // seq → conn, submits left unanswered
	var submits atomic.Int32
	silent.Store(true)
	f.onPDU = func(c *smscConn, fr frame) bool {
		if fr.h.ID == pdu.SubmitSM {
			submits.Add(1)
		}
		if !silent.Load() {
			return false
		}
		if fr.h.ID == pdu.SubmitSM {
			swallowed.Store(fr.h.Seq, c)
		}
		return true // half-open: neither submit_sm nor enquire_link answered
	}
	o := poolOptions(f)
	o.Session.RespTimeout = 200 * time.Millisecond
	o.Session.EnquireLinkTimeout = time.Minute // keep the bind: this test is about the pause
	p := NewPool(o)
	runPool(t, p)
	eventually(t, "bound", p.Usable)

	first := make(results, 3)
	for i := 0; i < 3; i++ {
		sm := testSM
		if err := p.Submit(context.Background(), &sm, first.done); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		if r := first.next(t); r.Outcome != Unknown {
			t.Fatalf("unanswered submit: %v, want unknown", r.Outcome)
		}
	}
	eventually(t, "the bind marked silent", func() bool { return !p.Usable() })

	// A new submit waits instead of going out on the silent bind.
	later := make(results, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	errc := submitAsync(ctx, p, later)
	time.Sleep(400 * time.Millisecond) // two RespTimeouts
	if n := submits.Load(); n != 3 {
		t.Fatalf("the SMSC got %d submit_sm while the bind was silent, want 3", n)
	}

	// The SMSC answers the old submits late: the bind is alive, the
	// waiting submit goes out on it.
	silent.Store(false)
	swallowed.Range(func(k, v any) bool {
		v.(*smscConn).respond(k.(uint32), pdu.StatusOK, "late")
		return true
	})
	if err := <-errc; err != nil {
		t.Fatalf("Submit: %v", err)
	}
	if r := later.next(t); r.Outcome != Responded || r.Status != pdu.StatusOK {
		t.Fatalf("submit after the SMSC answered again: %v", r.Outcome)
	}
	if f.binds.Load() != 1 {
		t.Errorf("binds: %d, want the same one bind throughout", f.binds.Load())
	}
}

// Binds lists one row per bind: up with its window, or backing off with
// the reason it failed.
func TestPoolBinds(t *testing.T) {
	f := newFakeSMSC(t)
	f.bindStatus = func(n int, _ *pdu.Bind) pdu.Status {
		if n == 1 {
			return pdu.ErrBindFail
		}
		return pdu.StatusOK
	}
	o := PoolOptions{Session: testOptions(f), Binds: 1, TPS: 1000, BackoffMin: 50 * time.Millisecond, BackoffMax: 100 * time.Millisecond}
	p := NewPool(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(5 * time.Second)
	var bs []BindStatus
	for time.Now().Before(deadline) {
		bs = p.Binds()
		if len(bs) == 1 && bs[0].State == "up" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(bs) != 1 || bs[0].State != "up" || bs[0].Window != o.Session.Window || bs[0].Mode != "transmitter" {
		t.Fatalf("binds %+v", bs)
	}
	if !strings.Contains(bs[0].LastError, "ESME_RBINDFAIL") {
		t.Errorf("the refused first bind is not shown as the last error: %q", bs[0].LastError)
	}
}
