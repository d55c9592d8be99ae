package protect

import (
	"strconv"
	"testing"
	"time"
)

func TestLoopGuard(t *testing.T) {
	g := mustGuard(t, Rules{Loop: &LoopRules{Max: 30, Per: 30 * time.Second}}, Options{})
	m := func(acc, from, to string) *Message { return &Message{Account: acc, Sender: from, Dest: to} }
	pair := m("acme", "ACME", "995599123456")
	for i := 0; i < 30; i++ {
		if v := g.Check(pair, t0.Add(time.Duration(i)*100*time.Millisecond)); v.Action != Allow {
			t.Fatalf("message %d: %+v", i+1, v)
		}
	}
	at := t0.Add(3 * time.Second)
	if v := g.Check(pair, at); v.Action != Reject || v.Reason != ReasonLoop {
		t.Fatalf("31st within 30s: %+v", v)
	}
	// Other pairs are counted apart: another destination, sender or
	// account, and the same number written with '+'.
	for _, other := range []*Message{m("acme", "ACME", "995599123457"), m("acme", "INFO", "995599123456"), m("beta", "ACME", "995599123456")} {
		if v := g.Check(other, at); v.Action != Allow {
			t.Errorf("%+v: %+v", other, v)
		}
	}
	if v := g.Check(m("acme", "ACME", "+995599123456"), at); v.Reason != ReasonLoop {
		t.Errorf("'+' spelling escapes the loop guard: %+v", v)
	}
	// Rejected messages do not count: once the window has passed (two
	// buckets later, nothing of the first burst is left) the pair may
	// send again.
	for i := 0; i < 100; i++ {
		g.Check(pair, at)
	}
	if v := g.Check(pair, t0.Add(60*time.Second)); v.Action != Allow {
		t.Errorf("after the window: %+v", v)
	}
	if g.Stats().Loop != 102 {
		t.Errorf("loop count %d, want 102", g.Stats().Loop)
	}
}

// TestLoopSteadyRate: a loop that keeps going at twice the allowed rate is
// held to max per window, bucket boundaries included.
func TestLoopSteadyRate(t *testing.T) {
	g := mustGuard(t, Rules{Loop: &LoopRules{Max: 10, Per: 10 * time.Second}}, Options{})
	pair := &Message{Account: "a", Sender: "S", Dest: "995599123456"}
	allowedAt := []time.Time{}
	for i := 0; i < 600; i++ { // 2 per second for 5 minutes
		now := t0.Add(time.Duration(i) * 500 * time.Millisecond)
		if g.Check(pair, now).Action == Allow {
			allowedAt = append(allowedAt, now)
		}
	}
	// Over 300 s at most 10 per 10 s (300); the estimate is conservative
	// across bucket boundaries (271 measured), not by much.
	if n := len(allowedAt); n > 310 || n < 250 {
		t.Errorf("%d allowed in 300 s, want about 300", n)
	}
	// No sliding 10 s window (at steady rate) holds more than max+1.
	for i := range allowedAt {
		j := i
		for j < len(allowedAt) && allowedAt[j].Sub(allowedAt[i]) < 10*time.Second {
			j++
		}
		if j-i > 11 {
			t.Fatalf("%d allowed within 10 s from %v", j-i, allowedAt[i].Sub(t0))
		}
	}
}

func TestLoopMemoryBounded(t *testing.T) {
	const max = 1024
	g := mustGuard(t, Rules{Loop: &LoopRules{Max: 5, Per: time.Minute}}, Options{MaxLoopPairs: max})
	for i := 0; i < 20000; i++ {
		g.Check(&Message{Account: "a", Sender: "S", Dest: strconv.Itoa(995599000000 + i)}, t0)
	}
	if n := g.Stats().LoopPairs; n > max || n < max/2 {
		t.Errorf("%d pairs kept, bound %d", n, max)
	}
	st := g.Stats()
	if st.LoopEvicted == 0 {
		t.Error("no evictions counted")
	}
	// Idle pairs expire: ten minutes later the next touch of a shard
	// sweeps it.
	later := t0.Add(10 * time.Minute)
	for i := 0; i < 2000; i++ {
		g.Check(&Message{Account: "b", Sender: "S", Dest: strconv.Itoa(995599000000 + i)}, later)
	}
	if g.Stats().LoopExpired == 0 {
		t.Error("no idle pairs expired")
	}
	if n := g.loop.t.len(); n > max {
		t.Errorf("%d pairs kept, bound %d", n, max)
	}
}

func TestSlide(t *testing.T) {
	const w = int64(time.Second)
	var s slide
	base := t0.UnixNano()
	for i := 0; i < 10; i++ {
		s.roll(base, w)
		s.inc()
	}
	if e := s.estimate(base, w); e != 10 {
		t.Errorf("estimate %v, want 10", e)
	}
	// Half way through the next bucket: half of the previous counts.
	mid := base + w + w/2
	s.roll(mid, w)
	if e := s.estimate(mid, w); e != 5 {
		t.Errorf("estimate %v, want 5", e)
	}
	// A clock going back keeps counting into the current bucket.
	s.roll(base, w)
	s.inc()
	if s.cur != 1 || s.prev != 10 {
		t.Errorf("after a step back: %+v", s)
	}
	s.roll(base+5*w, w)
	if e := s.estimate(base+5*w, w); e != 0 {
		t.Errorf("after a gap: %v", e)
	}
}

func TestLoopReloadWithOtherWindow(t *testing.T) {
	g := mustGuard(t, Rules{Loop: &LoopRules{Max: 2, Per: time.Minute}}, Options{})
	m := &Message{Account: "a", Sender: "S", Dest: "995599123456"}
	g.Check(m, t0)
	g.Check(m, t0)
	if v := g.Check(m, t0); v.Reason != ReasonLoop {
		t.Fatalf("%+v", v)
	}
	// A longer window restarts the pair's count instead of reading
	// bucket indexes of the old width.
	if err := g.SetRules(Rules{Loop: &LoopRules{Max: 2, Per: time.Hour}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if v := g.Check(m, t0.Add(time.Second)); v.Action != Allow {
			t.Fatalf("after reload %d: %+v", i, v)
		}
	}
	if v := g.Check(m, t0.Add(30*time.Minute)); v.Reason != ReasonLoop {
		t.Fatalf("within the hour: %+v", v)
	}
	if _, err := New(Rules{Loop: &LoopRules{Max: 1, Per: time.Microsecond}}, Options{}); err == nil {
		t.Error("per under 1ms accepted")
	}
}
