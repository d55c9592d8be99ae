package protect

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"
)

func testPumpRules() Rules {
	return Rules{Pumping: &PumpingRules{
		PrefixDigits: 4, MaxPerMinute: 300, MinDeliveryRate: 0.2, MinSamples: 50, HoldFor: 30 * time.Minute,
		Default: ModeBlock, Modes: map[string]Mode{"44": ModeMonitor, "1": ModeAllow}, Safe: []string{"995599000"},
	}}
}

// events collects OnHold reports.
type events struct {
	mu sync.Mutex
	hs []RangeHold
}

func (e *events) add(h RangeHold) { e.mu.Lock(); e.hs = append(e.hs, h); e.mu.Unlock() }
func (e *events) list() []RangeHold {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]RangeHold(nil), e.hs...)
}

// burst sends n messages from account to numbers of one range (prefix +
// 4 digits), one every step from start; it returns the verdicts.
func burst(g *Guard, account, prefix string, n int, start time.Time, step time.Duration) []Verdict {
	out := make([]Verdict, n)
	for i := range n {
		out[i] = g.Check(&Message{Account: account, Sender: "ACME", Dest: fmt.Sprintf("%s%04d", prefix, i%10000)}, start.Add(time.Duration(i)*step))
	}
	return out
}

func count(vs []Verdict, a Action) int {
	n := 0
	for _, v := range vs {
		if v.Action == a {
			n++
		}
	}
	return n
}

// TestPumpingAttack: a burst of 50 msg/s to one range is held within the
// minute, after exactly max_per_minute messages, while the same account's
// traffic to other ranges and another account's to the same range go on.
func TestPumpingAttack(t *testing.T) {
	var ev events
	g := mustGuard(t, testPumpRules(), Options{OnHold: ev.add})
	var firstHeld time.Time
	other := 0
	for i := range 1000 {
		now := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		v := g.Check(&Message{Account: "acme", Sender: "ACME", Dest: fmt.Sprintf("99559912%04d", i)}, now)
		switch {
		case i < 300 && v.Action != Allow:
			t.Fatalf("message %d held early: %+v", i, v)
		case i >= 300 && (v.Action != Hold || v.Reason != ReasonFraudHold || v.Range != "99559912"):
			t.Fatalf("message %d: %+v", i, v)
		case i == 300:
			firstHeld = now
		}
		// The same account to 1000 other ranges, one message each, and
		// another account to the held range.
		if i%10 == 0 {
			if v := g.Check(&Message{Account: "acme", Sender: "ACME", Dest: strconv.Itoa(995577000000 + i*10000)}, now); v.Action != Allow {
				t.Fatalf("other range %d: %+v", i, v)
			}
			if v := g.Check(&Message{Account: "beta", Sender: "ACME", Dest: fmt.Sprintf("99559912%04d", i)}, now); v.Action != Allow {
				t.Fatalf("other account: %+v", v)
			}
			other++
		}
	}
	if d := firstHeld.Sub(t0); d >= time.Minute {
		t.Errorf("held after %v", d)
	}
	hs := ev.list()
	if len(hs) != 1 {
		t.Fatalf("%d hold reports, want 1: %+v", len(hs), hs)
	}
	want := RangeHold{Account: "acme", Range: "99559912", Cause: CauseVelocity, Mode: ModeBlock, Strikes: 1, Since: firstHeld, Until: firstHeld.Add(30 * time.Minute)}
	if hs[0] != want {
		t.Errorf("report %+v, want %+v", hs[0], want)
	}
	if got := g.Holds(t0.Add(time.Minute)); len(got) != 1 || got[0] != want {
		t.Errorf("Holds = %+v", got)
	}
	st := g.Stats()
	if st.FraudHeld != 700 || st.RangeHolds != 1 || st.RangeMonitors != 0 {
		t.Errorf("stats %+v", st)
	}
	// The hold ends on time.
	if v := g.Check(&Message{Account: "acme", Dest: "995599120001"}, firstHeld.Add(30*time.Minute)); v.Action != Allow {
		t.Errorf("after the hold: %+v", v)
	}
	if len(g.Holds(firstHeld.Add(30*time.Minute))) != 0 {
		t.Error("Holds lists an ended hold")
	}
}

func TestPumpingBelowLimitNotHeld(t *testing.T) {
	var ev events
	g := mustGuard(t, testPumpRules(), Options{OnHold: ev.add})
	// 4 per second (240/min) for ten minutes: below 300/min.
	vs := burst(g, "acme", "99559912", 2400, t0, 250*time.Millisecond)
	if n := count(vs, Allow); n != 2400 {
		t.Errorf("%d of 2400 allowed", n)
	}
	if len(ev.list()) != 0 {
		t.Errorf("reports %+v", ev.list())
	}
}

func TestPumpingMonitorMode(t *testing.T) {
	var ev events
	g := mustGuard(t, testPumpRules(), Options{OnHold: ev.add})
	vs := burst(g, "acme", "44770090", 1000, t0, 20*time.Millisecond)
	if n := count(vs, Allow); n != 300 {
		t.Errorf("%d allowed unflagged, want 300", n)
	}
	if n := count(vs, Monitor); n != 700 {
		t.Errorf("%d monitored, want 700", n)
	}
	for _, v := range vs[300:] {
		if v.Reason != ReasonFraudHold || v.Range != "44770090" {
			t.Fatalf("monitored verdict %+v", v)
		}
	}
	hs := ev.list()
	if len(hs) != 1 || hs[0].Mode != ModeMonitor || hs[0].Cause != CauseVelocity {
		t.Errorf("reports %+v", hs)
	}
	st := g.Stats()
	if st.FraudMonitored != 700 || st.FraudHeld != 0 || st.RangeMonitors != 1 || st.RangeHolds != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestPumpingAllowModeAndSafe(t *testing.T) {
	var ev events
	g := mustGuard(t, testPumpRules(), Options{OnHold: ev.add})
	// 99559900 + 0000…0999 is under the safe 995599000; country 1 is allowed.
	for _, prefix := range []string{"99559900", "12125550"} {
		vs := burst(g, "acme", prefix, 1000, t0, time.Millisecond)
		if n := count(vs, Allow); n != 1000 {
			t.Errorf("%s: %d of 1000 allowed", prefix, n)
		}
		for i := 0; i < 200; i++ {
			g.ObserveReceipt("acme", prefix+"0001", false, t0)
		}
	}
	if len(ev.list()) != 0 {
		t.Errorf("reports %+v", ev.list())
	}
	if n := g.pump.t.len(); n != 0 {
		t.Errorf("%d ranges tracked for unwatched traffic", n)
	}
	// Next to the safe prefix, the same burst is held.
	if n := count(burst(g, "acme", "99559901", 1000, t0, time.Millisecond), Hold); n != 700 {
		t.Errorf("outside the safe prefix: %d held, want 700", n)
	}
}

// TestPumpingRepeatDoubles: each repeat after a hold doubles the next.
func TestPumpingRepeatDoubles(t *testing.T) {
	var ev events
	g := mustGuard(t, testPumpRules(), Options{OnHold: ev.add, MaxHold: 3 * time.Hour})
	start := t0
	want := []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 3 * time.Hour}
	for i, d := range want {
		vs := burst(g, "acme", "99559912", 400, start, 10*time.Millisecond)
		if n := count(vs, Hold); n != 100 {
			t.Fatalf("round %d: %d held, want 100", i, n)
		}
		hs := ev.list()
		h := hs[len(hs)-1]
		if h.Strikes != i+1 || h.Until.Sub(h.Since) != d {
			t.Fatalf("round %d: %+v, want strikes %d for %v", i, h, i+1, d)
		}
		// Still held just before the end; next round starts at the end.
		if v := g.Check(&Message{Account: "acme", Dest: "995599129999"}, h.Until.Add(-time.Second)); v.Action != Hold {
			t.Fatalf("round %d: not held before the end: %+v", i, v)
		}
		start = h.Until
	}
	// Long after the last hold a new burst is a first offence again.
	vs := burst(g, "acme", "99559912", 400, start.Add(25*time.Hour), 10*time.Millisecond)
	hs := ev.list()
	if h := hs[len(hs)-1]; count(vs, Hold) != 100 || h.Strikes != 1 || h.Until.Sub(h.Since) != 30*time.Minute {
		t.Errorf("after strike memory: %+v", h)
	}
}

// TestPumpingDeliveryRate: failures hold the range once min_samples
// receipts are in; a healthy rate does not.
func TestPumpingDeliveryRate(t *testing.T) {
	var ev events
	g := mustGuard(t, testPumpRules(), Options{OnHold: ev.add})
	now := t0
	for i := 0; i < 49; i++ {
		g.ObserveReceipt("acme", fmt.Sprintf("99559912%04d", i), false, now)
	}
	if len(ev.list()) != 0 {
		t.Fatal("held before min_samples")
	}
	if v := g.Check(&Message{Account: "acme", Dest: "995599120001"}, now); v.Action != Allow {
		t.Fatalf("before min_samples: %+v", v)
	}
	g.ObserveReceipt("acme", "+995599120049", false, now)
	hs := ev.list()
	if len(hs) != 1 || hs[0].Cause != CauseDeliveryRate || hs[0].Range != "99559912" || hs[0].Strikes != 1 {
		t.Fatalf("reports %+v", hs)
	}
	if v := g.Check(&Message{Account: "acme", Dest: "995599120001"}, now.Add(time.Minute)); v.Action != Hold || v.Reason != ReasonFraudHold {
		t.Fatalf("after the rate hold: %+v", v)
	}
	// Late receipts during the hold are not counted toward the next one.
	for i := 0; i < 100; i++ {
		g.ObserveReceipt("acme", "995599120001", false, now.Add(time.Minute))
	}
	if len(ev.list()) != 1 {
		t.Fatal("receipts during a hold started another")
	}

	// A healthy range: 40 delivered, 60 failed (rate 0.4 ≥ 0.2) … then
	// failures only, until the rate falls under 0.2.
	for i := 0; i < 40; i++ {
		g.ObserveReceipt("acme", "995577120001", true, now)
	}
	for i := 0; i < 60; i++ {
		g.ObserveReceipt("acme", "995577120001", false, now)
	}
	if len(ev.list()) != 1 {
		t.Fatalf("healthy range held: %+v", ev.list())
	}
	held := 0
	for i := 0; i < 200 && held == 0; i++ {
		g.ObserveReceipt("acme", "995577120001", false, now)
		if len(ev.list()) == 2 {
			held = 100 + i + 1
		}
	}
	// 40 / n < 0.2 first for n = 201.
	if held != 201 {
		t.Errorf("held at receipt %d, want 201", held)
	}
}

func TestPumpingReleaseAndRestore(t *testing.T) {
	var ev events
	g := mustGuard(t, testPumpRules(), Options{OnHold: ev.add})
	burst(g, "acme", "99559912", 301, t0, time.Millisecond)
	h := ev.list()[0]
	if g.Release("acme", "99559913", t0) || g.Release("beta", "99559912", t0) {
		t.Error("released a range that is not held")
	}
	if !g.Release("acme", "99559912", t0.Add(time.Second)) {
		t.Fatal("Release = false for a held range")
	}
	if g.Release("acme", "99559912", t0.Add(time.Second)) {
		t.Error("second Release = true")
	}
	// Counters were reset: 300 more in the same minute pass.
	vs := burst(g, "acme", "99559912", 300, t0.Add(2*time.Second), time.Millisecond)
	if n := count(vs, Allow); n != 300 {
		t.Errorf("after release: %d of 300 allowed", n)
	}

	// A fresh guard (restart) restores the persisted hold, with strikes.
	var ev2 events
	g2 := mustGuard(t, testPumpRules(), Options{OnHold: ev2.add})
	h.Strikes = 2
	g2.Restore(h, t0.Add(time.Minute))
	if v := g2.Check(&Message{Account: "acme", Dest: "995599125555"}, t0.Add(time.Minute)); v.Action != Hold || v.Range != "99559912" {
		t.Fatalf("restored hold not applied: %+v", v)
	}
	if got := g2.Holds(t0.Add(time.Minute)); len(got) != 1 || got[0] != h {
		t.Errorf("Holds after restore = %+v, want %+v", got, h)
	}
	vs = burst(g2, "acme", "99559912", 301, h.Until, time.Millisecond)
	if count(vs, Hold) != 1 {
		t.Fatalf("no hold after the restored one ended")
	}
	if h3 := ev2.list()[0]; h3.Strikes != 3 || h3.Until.Sub(h3.Since) != 2*time.Hour {
		t.Errorf("hold after restore: %+v, want strike 3 for 2h", h3)
	}
}

// TestPumpingRangeMemoryBounded: many ranges stay within MaxRanges, held
// ranges survive eviction, idle ones expire.
func TestPumpingRangeMemoryBounded(t *testing.T) {
	const max = 64 * 16
	g := mustGuard(t, testPumpRules(), Options{MaxRanges: max})
	burst(g, "acme", "99559912", 301, t0, time.Millisecond) // held
	for i := 0; i < 50000; i++ {
		g.Check(&Message{Account: "acme", Dest: strconv.Itoa(995500000000 + i*10000)}, t0.Add(time.Second))
	}
	if n := g.pump.t.len(); n > max {
		t.Errorf("%d ranges kept, bound %d", n, max)
	}
	if g.Stats().RangesEvicted == 0 {
		t.Error("no evictions counted")
	}
	if v := g.Check(&Message{Account: "acme", Dest: "995599120001"}, t0.Add(2*time.Second)); v.Action != Hold {
		t.Errorf("held range evicted: %+v", v)
	}
	// Three hours later (idle > 2 × rate window) untouched ranges expire
	// as shards are touched.
	later := t0.Add(3 * time.Hour)
	for i := 0; i < 5000; i++ {
		g.Check(&Message{Account: "beta", Dest: strconv.Itoa(995500000000 + i*10000)}, later)
	}
	if g.Stats().RangesExpired == 0 {
		t.Error("no idle ranges expired")
	}
}

func TestRangeOf(t *testing.T) {
	tests := []struct {
		dest, country string
		digits        int
		want          string
	}{
		{"995599123456", "995", 4, "99559912"},
		{"995599123456", "995", 12, "995"},
		{"12125550100", "1", 4, "1212555"},
		{"1234567", "", 12, "1"},
		{"", "", 4, ""},
	}
	for _, tt := range tests {
		if got := rangeOf(tt.dest, tt.country, tt.digits); got != tt.want {
			t.Errorf("rangeOf(%q, %q, %d) = %q, want %q", tt.dest, tt.country, tt.digits, got, tt.want)
		}
	}
	g := mustGuard(t, testPumpRules(), Options{})
	if r := g.RangeOf("+995599123456"); r != "99559912" {
		t.Errorf("RangeOf = %q", r)
	}
}

// TestPumpingEvictionOrder: when the table is full, ranges idle for more
// than a minute go before ranges with recent traffic.
func TestPumpingEvictionOrder(t *testing.T) {
	const max = 64 * 256
	g := mustGuard(t, testPumpRules(), Options{MaxRanges: max})
	other := func(i int, now time.Time) {
		g.Check(&Message{Account: "acme", Dest: strconv.Itoa(995500000000 + i*10000)}, now)
	}
	// Ten minutes of one message each to many ranges: the table fills.
	for i := 0; i < 40000; i++ {
		other(i, t0.Add(time.Duration(i)*15*time.Millisecond))
	}
	// An attack building up: 200 messages (under the limit) to each of 20
	// ranges, then new ranges evict most of the table within the minute.
	at := t0.Add(700 * time.Second) // every range above idle for over a minute
	attacked := func(k int) string { return fmt.Sprintf("791612%02d", k) }
	for k := range 20 {
		burst(g, "acme", attacked(k), 200, at, time.Millisecond)
	}
	evicted := g.Stats().RangesEvicted
	// 8000 new ranges: ~125 per shard of 256, well within the idle ones
	// each shard can give up, whatever the hash seed.
	for i := 0; i < 8000; i++ {
		other(40000+i, at.Add(time.Second+time.Duration(i)*time.Millisecond))
	}
	if n := g.Stats().RangesEvicted - evicted; n < max/3 {
		t.Fatalf("%d evictions: the test does not churn the table", n)
	}
	// Each attacked range kept its count: 150 more within the minute
	// trigger it (a fresh entry would allow 300). Evicting at random,
	// each would survive this churn with a probability of about 0.6, all
	// twenty with one of about 3e-5.
	for k := range 20 {
		vs := burst(g, "acme", attacked(k), 150, at.Add(15*time.Second), time.Millisecond)
		if count(vs, Hold) != 50 {
			t.Errorf("range %s: %d held, want 50 (evicted?)", attacked(k), count(vs, Hold))
		}
	}
}
