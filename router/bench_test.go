package router

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/smsgate/smsgate/billing"
)

// bigRoutes returns routes for n distinct random prefixes (a real country
// code followed by random digits, 4–10 digits in all), each with 1–3 of 20
// operators, a few with a later price change; and 1024 destinations, most
// under a routed prefix.
func bigRoutes(n int) ([]Route, []string) {
	rng := rand.New(rand.NewPCG(7, 7))
	seen := make(map[string]bool, n)
	routes := make([]Route, 0, 2*n)
	prefixes := make([]string, 0, n)
	for len(prefixes) < n {
		p := countryCodes[rng.IntN(len(countryCodes))]
		for l := 4 + rng.IntN(7); len(p) < l; {
			p += strconv.Itoa(rng.IntN(10))
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		prefixes = append(prefixes, p)
		first := rng.IntN(20)
		for k := range 1 + rng.IntN(3) {
			r := Route{Prefix: p, Operator: "op" + strconv.Itoa((first+k)%20), Cost: billing.Amount(1000 + rng.IntN(50)*100),
				Currency: "EUR", Weight: 1 + rng.IntN(3)}
			routes = append(routes, r)
			if rng.IntN(10) == 0 {
				r.Cost /= 2
				r.Effective = ts("2026-12-01T00:00:00Z")
				routes = append(routes, r)
			}
		}
	}
	dests := make([]string, 1024)
	for i := range dests {
		d := prefixes[rng.IntN(len(prefixes))]
		if i%8 == 0 { // some miss every routed prefix beyond the country code
			d = countryCodes[rng.IntN(len(countryCodes))]
		}
		for len(d) < 12 {
			d += strconv.Itoa(rng.IntN(10))
		}
		dests[i] = d
	}
	return routes, dests
}

// TestLookupsDoNotAllocate measures each destination on its own:
// AllocsPerRun averages with integer division, so one run per call is the
// only way a rare allocation cannot hide.
func TestLookupsDoNotAllocate(t *testing.T) {
	routes, dests := bigRoutes(100_000)
	routes = append(routes, net("28202", "magti", 1), net("28202", "silknet", 1))
	tb := mustTable(t, routes...)
	usable := func(op string) bool { return op != "op3" }
	tried := []string{"op4"}
	buf := make([]Candidate, 0, 16)
	var hits, misses int
	for _, d := range append(dests[:200:200], "", "+", "0000000", "99x") {
		var err error
		allocs := testing.AllocsPerRun(1, func() {
			_ = tb.Candidates(buf[:0], d, "", now)
			_ = tb.Candidates(buf[:0], d, "28202", now)
			_, err = tb.Choose(d, "", "", now, usable, tried, 0.3)
			_, _ = tb.Choose(d, "28202", "", now, nil, nil, 0.6)
			_ = CountryPrefix(d)
		})
		if allocs != 0 {
			t.Fatalf("lookups for %q allocate %v times", d, allocs)
		}
		if err == nil {
			hits++
		} else {
			misses++
		}
	}
	// Both the found and the not-found path must have been measured.
	if hits == 0 || misses == 0 {
		t.Fatalf("hits %d, misses %d: a path went unmeasured", hits, misses)
	}
}

func BenchmarkNewTable100k(b *testing.B) {
	routes, _ := bigRoutes(100_000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewTable(routes); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(routes)), "rows")
}

// The lookup benchmarks cycle over 1024 random destinations spread over the
// whole table ("cold": most trie levels and rows miss the CPU caches, the
// worst case) and over 16 ("hot": the working set stays cached, like
// traffic concentrated on a few countries).
func BenchmarkCandidates100k(b *testing.B) {
	routes, dests := bigRoutes(100_000)
	tb := mustTable(b, routes...)
	for _, n := range []int{16, 1024} {
		b.Run("dests="+strconv.Itoa(n), func(b *testing.B) {
			buf := make([]Candidate, 0, 16)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				buf = tb.Candidates(buf[:0], dests[i%n], "", now)
				i++
			}
		})
	}
}

func BenchmarkChoose100k(b *testing.B) {
	routes, dests := bigRoutes(100_000)
	tb := mustTable(b, routes...)
	usable := func(op string) bool { return op != "op3" }
	later := ts("2026-12-02T00:00:00Z") // past the price changes: more rows per operator
	for _, n := range []int{16, 1024} {
		b.Run("dests="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				_, _ = tb.Choose(dests[i%n], "", "", later, usable, nil, float64(i%100)/100)
				i++
			}
		})
	}
}

func BenchmarkHolderLoadChoose(b *testing.B) {
	routes, dests := bigRoutes(100_000)
	h := NewHolder(mustTable(b, routes...))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			_, _ = h.Load().Choose(dests[i%len(dests)], "", "", now, nil, nil, 0.5)
			i++
		}
	})
}

func BenchmarkCountryPrefix(b *testing.B) {
	nums := []string{"995599123456", "12025550143", "447911123456", "79123456789", "8816123456"}
	i := 0
	var sink string
	for b.Loop() {
		sink = CountryPrefix(nums[i%len(nums)])
		i++
	}
	_ = sink
}

func BenchmarkNormalizeMSISDN(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NormalizeMSISDN("+995 599 12-34-56", "995"); err != nil {
			b.Fatal(err)
		}
	}
}
