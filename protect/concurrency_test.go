package protect

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGuardConcurrent runs Check, Recheck, ObserveReceipt, blocklist
// writes, rule reloads, Release, Holds and Stats from several goroutines
// (meant for -race), then checks that the counters add up to the verdicts
// the goroutines saw.
func TestGuardConcurrent(t *testing.T) {
	var holds atomic.Int64
	r := benchRules()
	r.Pumping.MaxPerMinute = 50
	r.Loop.Max = 1
	g := mustGuard(t, r, Options{OnHold: func(RangeHold) { holds.Add(1) }, MaxLoopPairs: 4096, MaxRanges: 4096})
	for i := 0; i < 1000; i++ {
		g.Blocklist().Add(strconv.Itoa(995599500000 + i))
	}
	const workers, perWorker = 4, 3000
	var (
		wg                             sync.WaitGroup
		blocked, loop, fraud, monitor  atomic.Uint64
		contentRej, contentHeld, sendr atomic.Uint64
	)
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for i := 0; i < perWorker; i++ {
				now := t0.Add(time.Duration(i) * time.Millisecond)
				// Workers w and w+2 share an account and send to the
				// same numbers in another order: pairs repeat across
				// goroutines.
				x := (i*7 + w) % 3000
				m := &Message{
					Account: "acct" + strconv.Itoa(w%2),
					Sender:  []string{"ACME", "4422"}[x%2],
					Dest:    strconv.Itoa(995599500000 + x),
					Text:    benchTexts[x%len(benchTexts)] + []string{"", " short3.link/x", " PROMO4CODE"}[x%3],
				}
				v := g.Check(m, now)
				switch {
				case v.Reason == ReasonBlocked:
					blocked.Add(1)
				case v.Reason == ReasonLoop:
					loop.Add(1)
				case v.Action == Hold && v.Reason == ReasonFraudHold:
					fraud.Add(1)
				case v.Action == Monitor:
					monitor.Add(1)
				case v.Reason == ReasonContent && v.Action == Reject:
					contentRej.Add(1)
				case v.Reason == ReasonContent && v.Action == Hold:
					contentHeld.Add(1)
				case v.Reason == ReasonSenderNotAllowed:
					sendr.Add(1)
				}
				g.Recheck(m)
				g.ObserveReceipt(m.Account, m.Dest, i%5 == 0, now)
			}
		})
	}
	wg.Go(func() { // blocklist writer
		for i := 0; i < 2000; i++ {
			n := strconv.Itoa(995599600000 + i)
			g.Blocklist().Add(n)
			g.Blocklist().Remove(n)
		}
	})
	wg.Go(func() { // reloads, releases, listings
		for i := 0; i < 100; i++ {
			if err := g.SetRules(r); err != nil {
				t.Error(err)
				return
			}
			for _, h := range g.Holds(t0.Add(time.Second)) {
				g.Release(h.Account, h.Range, t0.Add(time.Second))
			}
			_ = g.Stats()
		}
	})
	wg.Wait()
	st := g.Stats()
	checks := []struct {
		name      string
		got, want uint64
	}{
		{"blocked", st.Blocked, blocked.Load()},
		{"loop", st.Loop, loop.Load()},
		{"fraud held", st.FraudHeld, fraud.Load()},
		{"monitored", st.FraudMonitored, monitor.Load()},
		{"content rejected", st.ContentRejected, contentRej.Load()},
		{"content held", st.ContentHeld, contentHeld.Load()},
		{"sender rejected", st.SenderRejected, sendr.Load()},
		{"range reports", st.RangeHolds + st.RangeMonitors, uint64(holds.Load())},
	}
	for _, c := range checks {
		// Recheck counts blocked and sender rejects again: those only
		// have a lower bound.
		switch c.name {
		case "loop", "fraud held", "monitored", "range reports", "content rejected", "content held":
			if c.got != c.want {
				t.Errorf("%s: counter %d, seen %d", c.name, c.got, c.want)
			}
		default:
			if c.got < c.want {
				t.Errorf("%s: counter %d below the %d seen by Check", c.name, c.got, c.want)
			}
		}
	}
	if blocked.Load() == 0 || loop.Load() == 0 || fraud.Load() == 0 || contentRej.Load() == 0 || contentHeld.Load() == 0 {
		t.Errorf("a path was not exercised: %+v", st)
	}
	if n := g.loop.t.len(); n > 4096 {
		t.Errorf("loop pairs %d over bound", n)
	}
	if n := g.pump.t.len(); n > 4096 {
		t.Errorf("ranges %d over bound", n)
	}
	if g.Blocklist().Len() != 1000 {
		t.Errorf("blocklist size %d, want 1000", g.Blocklist().Len())
	}
	t.Logf("%+v", st)
}
