package router

import (
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"
)

// feed records delivered and failed receipts for (op, network) at at.
func feed(q *Quality, op, network string, delivered, failed int, at time.Time) {
	for range delivered {
		q.Observe(op, network, true, 2*time.Second, at)
	}
	for range failed {
		q.Observe(op, network, false, 4*time.Second, at)
	}
}

// cheapBad is the pair: "cheap" costs less but delivers 40%,
// "good" costs more and delivers 95%, per delivered message the better.
func cheapBad(t *testing.T) *Table {
	return mustTable(t, eur("995", "cheap", 10000), eur("995", "good", 15000),
		net("28201", "cheap", 10000), net("28201", "good", 15000))
}

func choose(t *testing.T, tb *Table, network string, r float64) string {
	t.Helper()
	c, err := tb.Choose("995591234567", network, "", now, nil, nil, r)
	if err != nil {
		t.Fatalf("Choose: %v", err)
	}
	return c.Route.Operator
}

func TestQualityRanksByCostPerDelivered(t *testing.T) {
	base := cheapBad(t)
	q := NewQuality(time.Hour)
	tb := base.WithQuality(q, 100, 0)
	if base.Quality() != nil || tb.Quality() != q || tb.QualityMinSamples() != 100 {
		t.Fatal("WithQuality must return a copy carrying q and leave the table as it was")
	}
	// Nothing known: cost alone.
	if got := choose(t, tb, "28201", 0.5); got != "cheap" {
		t.Fatalf("no receipts: chose %s, want cheap (cost)", got)
	}
	feed(q, "cheap", "28201", 40, 60, now.Add(-time.Minute)) // 0.010 / 0.40 = 0.025 per delivered
	feed(q, "good", "28201", 95, 5, now.Add(-time.Minute))   // 0.015 / 0.95 ≈ 0.0158
	feed(q, "cheap", "28202", 100, 0, now.Add(-time.Minute)) // another network: no effect on 28201
	for _, r := range []float64{0, 0.3, 0.999} {
		if got := choose(t, tb, "28201", r); got != "good" {
			t.Fatalf("r=%v: chose %s, want good (better cost per delivered message)", r, got)
		}
	}
	c, _ := tb.Choose("995591234567", "28201", "", now, nil, nil, 0.5)
	if c.Rank != 0 || c.Route.Cost != 15000 {
		t.Fatalf("candidate %+v: want rank 0 and good's own row", c)
	}
	// Without quality the same table ranks by cost.
	if got := choose(t, base, "28201", 0.5); got != "cheap" {
		t.Fatalf("quality off: chose %s, want cheap", got)
	}
	// Rates are per network: unknown network has no receipts → cost.
	if got := choose(t, tb, "", 0.5); got != "cheap" {
		t.Fatalf("unknown network: chose %s, want cheap", got)
	}
	// Tried and unusable routes are skipped as without quality.
	if c, err := tb.Choose("995591234567", "28201", "", now, nil, []string{"good"}, 0.5); err != nil || c.Route.Operator != "cheap" {
		t.Fatalf("good tried: %v %v, want cheap", c.Route.Operator, err)
	}
	if _, err := tb.Choose("995591234567", "28201", "", now, func(string) bool { return false }, nil, 0.5); !errors.Is(err, ErrNoUsableRoute) {
		t.Fatalf("nothing usable: %v", err)
	}
	// A forced route is unchanged by quality.
	if c, err := tb.Choose("995591234567", "28201", "cheap", now, nil, nil, 0.5); err != nil || c.Route.Operator != "cheap" {
		t.Fatalf("forced cheap: %v %v", c.Route.Operator, err)
	}
	// A route that delivers nothing ranks last, even when free.
	free := mustTable(t, net("28203", "free", 0), net("28203", "paid", 20000)).WithQuality(q, 10, 0)
	feed(q, "free", "28203", 0, 10, now)
	if got := choose(t, free, "28203", 0.1); got != "paid" {
		t.Fatalf("free route that delivers nothing: chose %s, want paid", got)
	}
}

func TestQualityMinSamplesFallsBackToCost(t *testing.T) {
	q := NewQuality(time.Hour)
	tb := cheapBad(t).WithQuality(q, 200, 0)
	feed(q, "cheap", "28201", 0, 199, now) // terrible, but too few receipts
	if got := choose(t, tb, "28201", 0.5); got != "cheap" {
		t.Fatalf("199 receipts < min_samples 200: chose %s, want cheap (cost alone)", got)
	}
	feed(q, "cheap", "28201", 0, 1, now)
	if got := choose(t, tb, "28201", 0.5); got != "good" {
		t.Fatalf("200 receipts: chose %s, want good", got)
	}
	// Once good is judged too, the lower cost per delivered message wins.
	feed(q, "cheap", "28201", 300, 0, now) // cheap now 300/500 = 60% → 0.0167
	feed(q, "good", "28201", 50, 150, now) // good 25% → 0.06
	if got := choose(t, tb, "28201", 0.5); got != "cheap" {
		t.Fatalf("good at 25%%: chose %s, want cheap", got)
	}
}

func TestQualityExploreShare(t *testing.T) {
	q := NewQuality(time.Hour)
	tb := mustTable(t,
		Route{MCCMNC: "28201", Operator: "a", Cost: 10000, Currency: "EUR", Weight: 70},
		Route{MCCMNC: "28201", Operator: "b", Cost: 10000, Currency: "EUR", Weight: 30},
		net("28201", "c", 12000), net("28201", "d", 30000),
	).WithQuality(q, 10, 0.1)
	feed(q, "d", "28201", 10, 0, now) // d: 0.030 per delivered, still last
	rng := rand.New(rand.NewPCG(7, 8))
	const n = 200_000
	counts := map[string]int{}
	for range n {
		c, err := tb.Choose("995591234567", "28201", "", now, nil, nil, rng.Float64())
		if err != nil {
			t.Fatal(err)
		}
		counts[c.Route.Operator]++
	}
	// Best rank {a, b} keeps 90% split 70/30; c and d get 5% each.
	want := map[string]float64{"a": 0.9 * 0.7, "b": 0.9 * 0.3, "c": 0.05, "d": 0.05}
	for op, p := range want {
		got := float64(counts[op]) / n
		sigma := math.Sqrt(p * (1 - p) / n)
		if math.Abs(got-p) > 5*sigma {
			t.Errorf("%s: share %.4f, want %.4f ± %.4f (5σ)", op, got, p, 5*sigma)
		}
	}
	// Exploring never overrides usability: with c and d down the best take all.
	down := func(op string) bool { return op == "a" || op == "b" }
	for _, r := range []float64{0, 0.05, 0.0999, 0.5} {
		c, err := tb.Choose("995591234567", "28201", "", now, down, nil, r)
		if err != nil || (c.Route.Operator != "a" && c.Route.Operator != "b") {
			t.Fatalf("r=%v, c and d down: %s %v", r, c.Route.Operator, err)
		}
	}
	// The explored pick is spread evenly by r and carries its own rank.
	if c, _ := tb.Choose("995591234567", "28201", "", now, nil, nil, 0.01); c.Route.Operator != "c" || c.Rank != 1 {
		t.Fatalf("r=0.01: %s rank %d, want c rank 1", c.Route.Operator, c.Rank)
	}
	if c, _ := tb.Choose("995591234567", "28201", "", now, nil, nil, 0.09); c.Route.Operator != "d" || c.Rank != 2 {
		t.Fatalf("r=0.09: %s rank %d, want d rank 2", c.Route.Operator, c.Rank)
	}
	// Out-of-range draws stay in range.
	for _, r := range []float64{-1, math.NaN(), 1, math.Inf(1)} {
		if _, err := tb.Choose("995591234567", "28201", "", now, nil, nil, r); err != nil {
			t.Fatalf("r=%v: %v", r, err)
		}
	}
}

// A route whose delivery rate collapses is demoted within one window: the
// receipts from before the collapse leave the window at the latest one
// window after they were counted.
func TestQualityDemotesCollapsedRouteWithinOneWindow(t *testing.T) {
	const window = 16 * time.Second
	q := NewQuality(window)
	tb := cheapBad(t).WithQuality(q, 50, 0)
	t0 := now
	feed(q, "cheap", "28201", 1000, 0, t0) // cheap delivers everything
	feed(q, "good", "28201", 950, 50, t0)
	at := func(d time.Duration) string {
		c, err := tb.Choose("995591234567", "28201", "", t0.Add(d), nil, nil, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		return c.Route.Operator
	}
	if got := at(0); got != "cheap" {
		t.Fatalf("before the collapse: %s, want cheap", got)
	}
	// Collapse: from t0+1s on, cheap delivers nothing; good keeps 95%.
	for s := 1; s <= 16; s++ {
		ts := t0.Add(time.Duration(s) * time.Second)
		feed(q, "cheap", "28201", 0, 60, ts)
		feed(q, "good", "28201", 57, 3, ts)
		if s < 10 {
			// 1000 good receipts from t0 still outweigh: 1000/(1000+60s).
			if got := at(time.Duration(s) * time.Second); got != "cheap" {
				t.Fatalf("t0+%ds: %s, want cheap (old receipts in the window)", s, got)
			}
		}
	}
	if got := at(window); got != "good" {
		f := q.Figures("cheap", "28201", t0.Add(window))
		t.Fatalf("one window after the collapse: %s, want good (cheap figures %+v)", got, f)
	}
	if f := q.Figures("cheap", "28201", t0.Add(window)); f.Delivered != 0 {
		t.Fatalf("receipts older than the window still counted: %+v", f)
	}
}

func TestQualityWindowEdges(t *testing.T) {
	const window = 16 * time.Second // 1 s buckets
	q := NewQuality(window)
	t0 := time.Unix(1_800_000_000, 500_000_000)
	q.Observe("a", "", true, 100*time.Millisecond, t0)
	q.Observe("a", "", false, 300*time.Millisecond, t0)
	f := q.Figures("a", "", t0)
	if f.Delivered != 1 || f.Failed != 1 || f.Rate != 0.5 || f.Latency != 200*time.Millisecond || f.Samples() != 2 {
		t.Fatalf("figures %+v", f)
	}
	if f := q.Figures("a", "", t0.Add(window-time.Second-time.Nanosecond)); f.Samples() != 2 {
		t.Fatalf("still in the window at window−bucket: %+v", f)
	}
	if f := q.Figures("a", "", t0.Add(window)); f.Samples() != 0 || f.Rate != 0 {
		t.Fatalf("out of the window after one window: %+v", f)
	}
	// A bucket reused for a later slice starts from zero.
	q.Observe("a", "", true, 0, t0.Add(window))
	if f := q.Figures("a", "", t0.Add(window)); f.Delivered != 1 || f.Failed != 0 {
		t.Fatalf("reused bucket: %+v", f)
	}
	// A receipt older than what its bucket holds is outside the window.
	q.Observe("a", "", false, 0, t0)
	if f := q.Figures("a", "", t0.Add(window)); f.Failed != 0 {
		t.Fatalf("stale receipt counted: %+v", f)
	}
	if f := q.Figures("nobody", "x", t0); f.Samples() != 0 || f.Operator != "nobody" {
		t.Fatalf("unknown pair: %+v", f)
	}
	q.Observe("b", "28201", true, 0, t0.Add(window))
	snap := q.Snapshot(t0.Add(window))
	if len(snap) != 2 || snap[0].Operator != "a" || snap[1].Operator != "b" || snap[1].Network != "28201" || snap[1].Delivered != 1 {
		t.Fatalf("snapshot %+v", snap)
	}
	// Pairs beyond the bound are not tracked, and counted as dropped.
	q.maxKeys = 2
	q.Observe("c", "", true, 0, t0)
	if q.Dropped() != 1 || len(q.Snapshot(t0)) != 2 {
		t.Fatalf("dropped %d, pairs %d", q.Dropped(), len(q.Snapshot(t0)))
	}
}

func TestQualityChooseDoesNotAllocate(t *testing.T) {
	q := NewQuality(time.Hour)
	tb := cheapBad(t).WithQuality(q, 10, 0.1)
	feed(q, "cheap", "28201", 4, 6, now)
	feed(q, "good", "28201", 9, 1, now)
	usable := func(op string) bool { return true }
	for _, r := range []float64{0.01, 0.5} {
		for _, network := range []string{"28201", ""} {
			if n := testing.AllocsPerRun(1, func() {
				_, _ = tb.Choose("995591234567", network, "", now, usable, nil, r)
			}); n != 0 {
				t.Fatalf("Choose with quality (r=%v, network %q) allocates %v times", r, network, n)
			}
		}
	}
}

// TestQualityConcurrent observes and chooses from many goroutines (run
// with -race) and checks no receipt is lost.
func TestQualityConcurrent(t *testing.T) {
	q := NewQuality(time.Hour)
	tb := cheapBad(t).WithQuality(q, 10, 0.02)
	var wg sync.WaitGroup
	const writers, each = 4, 5000
	for w := range writers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range each {
				q.Observe([]string{"cheap", "good"}[i%2], []string{"28201", "28202", ""}[w%3], i%3 != 0, time.Second, now)
			}
		}()
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := tb.Choose("995591234567", "28201", "", now, nil, nil, float64(i)/each); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	var total int64
	for _, f := range q.Snapshot(now) {
		total += f.Samples()
	}
	if total != writers*each {
		t.Fatalf("%d receipts counted, want %d", total, writers*each)
	}
}

// BenchmarkChooseQuality is Choose on a network with two judged routes and
// one without receipts, quality on (explore 0.02), against the same table
// without quality.
func BenchmarkChooseQuality(b *testing.B) {
	base, err := NewTable([]Route{net("28201", "a", 10000), net("28201", "b", 15000), net("28201", "c", 20000)})
	if err != nil {
		b.Fatal(err)
	}
	q := NewQuality(time.Hour)
	for i := range 1000 {
		q.Observe("a", "28201", i%5 < 2, time.Second, now)
		q.Observe("b", "28201", i%20 != 0, time.Second, now)
	}
	usable := func(string) bool { return true }
	for _, c := range []struct {
		name string
		tb   *Table
	}{{"off", base}, {"on", base.WithQuality(q, 200, 0.02)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			r := 0.0
			for b.Loop() {
				r += 0.0061
				if r >= 1 {
					r -= 1
				}
				if _, err := c.tb.Choose("995591234567", "28201", "", now, usable, nil, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkChooseQualityManyNetworks chooses among two judged routes on
// one of 2,000 networks (4,000 tracked pairs), so the statistics are
// mostly out of cache as they would be in service.
func BenchmarkChooseQualityManyNetworks(b *testing.B) {
	const nets = 2000
	var routes []Route
	networks := make([]string, nets)
	q := NewQuality(time.Hour)
	for i := range networks {
		networks[i] = strconv.Itoa(20000 + i*3)
		routes = append(routes, net(networks[i], "a", 10000), net(networks[i], "b", 15000))
		for j := range 250 {
			q.Observe("a", networks[i], j%5 < 2, time.Second, now)
			q.Observe("b", networks[i], j%20 != 0, time.Second, now)
		}
	}
	base, err := NewTable(routes)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		tb   *Table
	}{{"off", base}, {"on", base.WithQuality(q, 200, 0.02)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			rng := rand.New(rand.NewPCG(1, 2))
			for b.Loop() {
				if _, err := c.tb.Choose("995591234567", networks[rng.IntN(nets)], "", now, nil, nil, rng.Float64()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
