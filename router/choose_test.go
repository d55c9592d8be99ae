package router

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// downSet is a usable func that reports the listed operators as down.
func downSet(down ...string) func(string) bool {
	return func(op string) bool { return !slices.Contains(down, op) }
}

func TestChoose(t *testing.T) {
	tb := mustTable(t,
		eur("99559", "magti", 12000),
		eur("995", "silknet", 15000),
		eur("995", "magti", 18000),
		eur("995", "beeline", 20000),
		net("28202", "geocell", 10000),
	)
	cases := []struct {
		name, dest, network, forced string
		down, tried                 []string
		want                        string // operator, or "" for an error
		wantErr                     error
	}{
		{name: "longest prefix", dest: "995599000001", want: "magti"},
		{name: "cheapest of prefix", dest: "995555000001", want: "silknet"},
		{name: "cheapest down: next", dest: "995555000001", down: []string{"silknet"}, want: "magti"},
		{name: "failover skips tried", dest: "995555000001", tried: []string{"silknet"}, want: "magti"},
		{name: "failover order", dest: "995555000001", tried: []string{"silknet", "magti"}, want: "beeline"},
		{name: "tried and down", dest: "995555000001", tried: []string{"silknet"}, down: []string{"magti"}, want: "beeline"},
		{name: "all tried", dest: "995555000001", tried: []string{"silknet", "magti", "beeline"}, wantErr: ErrNoUsableRoute},
		{name: "all down", dest: "995555000001", down: []string{"silknet", "magti", "beeline"}, wantErr: ErrNoUsableRoute},
		{name: "longest prefix down: no fallback to shorter", dest: "995599000001", down: []string{"magti"}, wantErr: ErrNoUsableRoute},
		{name: "no route", dest: "4420000000", wantErr: ErrNoRoute},
		{name: "network wins", dest: "995599000001", network: "28202", want: "geocell"},
		{name: "forced", dest: "995555000001", forced: "beeline", want: "beeline"},
		{name: "forced over cheaper", dest: "995599000001", forced: "magti", want: "magti"},
		{name: "forced without a row for the prefix", dest: "995599000001", forced: "silknet", wantErr: ErrNoRoute},
		{name: "forced unknown", dest: "995555000001", forced: "nobody", wantErr: ErrNoRoute},
		{name: "forced down", dest: "995555000001", forced: "beeline", down: []string{"beeline"}, wantErr: ErrNoUsableRoute},
		{name: "forced tried", dest: "995555000001", forced: "beeline", tried: []string{"beeline"}, wantErr: ErrNoUsableRoute},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := tb.Choose(c.dest, c.network, c.forced, now, downSet(c.down...), c.tried, 0.5)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("Choose = %s, %v; want %v", got.Route.Operator, err, c.wantErr)
				}
				if c.wantErr == ErrNoRoute && errors.Is(err, ErrNoUsableRoute) {
					t.Fatalf("Choose err = %v; want plain ErrNoRoute", err)
				}
				return
			}
			if err != nil || got.Route.Operator != c.want {
				t.Fatalf("Choose = %s, %v; want %s", got.Route.Operator, err, c.want)
			}
		})
	}
}

func TestChooseRankMatchesCandidates(t *testing.T) {
	tb := mustTable(t, eur("995", "a", 1), eur("995", "b", 2), eur("995", "c", 2), eur("995", "d", 3))
	cs := tb.Candidates(nil, "995599000001", "", now)
	for _, want := range cs {
		got, err := tb.Choose("995599000001", "", want.Route.Operator, now, nil, nil, 0)
		if err != nil || got != want {
			t.Fatalf("forced %s: Choose = %+v, %v; want %+v", want.Route.Operator, got, err, want)
		}
	}
	got, err := tb.Choose("995599000001", "", "", now, nil, []string{"a"}, 0.99)
	if err != nil || got.Route.Operator != "c" || got.Rank != 1 {
		t.Fatalf("Choose after a = %+v, %v; want c at rank 1", got, err)
	}
}

// shares draws n times with r uniform (fixed seed) and returns how often
// each operator was chosen, as fractions.
func shares(t *testing.T, tb *Table, network string, usable func(string) bool, n int) map[string]float64 {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	counts := map[string]int{}
	for range n {
		c, err := tb.Choose("995599000001", network, "", now, usable, nil, rng.Float64())
		if err != nil {
			t.Fatal(err)
		}
		counts[c.Route.Operator]++
	}
	out := map[string]float64{}
	for op, k := range counts {
		out[op] = float64(k) / float64(n)
	}
	return out
}

func TestChooseWeights(t *testing.T) {
	w := func(r Route, weight int) Route { r.Weight = weight; return r }
	tb := mustTable(t,
		w(net("28202", "magti", 10000), 70),
		w(net("28202", "silknet", 10000), 30),
		w(eur("995", "a", 100), 1), eur("995", "b", 100), w(eur("995", "c", 100), 2),
		w(eur("995", "dear", 900), 50),
	)
	const n = 10000
	got := shares(t, tb, "28202", nil, n)
	if math.Abs(got["magti"]-0.70) > 0.02 || math.Abs(got["silknet"]-0.30) > 0.02 {
		t.Fatalf("70/30 split: got %v", got)
	}
	// Default weight 1 (b) equals explicit 1 (a); c has 2; the dearer rank
	// gets nothing while the cheaper one is up.
	got = shares(t, tb, "", nil, n)
	if math.Abs(got["a"]-0.25) > 0.02 || math.Abs(got["b"]-0.25) > 0.02 || math.Abs(got["c"]-0.50) > 0.02 || got["dear"] != 0 {
		t.Fatalf("1/1/2 split: got %v", got)
	}
	// A down member's share goes to the others, in proportion.
	got = shares(t, tb, "", downSet("c"), n)
	if math.Abs(got["a"]-0.5) > 0.02 || math.Abs(got["b"]-0.5) > 0.02 || got["c"] != 0 || got["dear"] != 0 {
		t.Fatalf("c down: got %v", got)
	}
	got = shares(t, tb, "28202", downSet("magti"), n)
	if got["silknet"] != 1 {
		t.Fatalf("magti down: got %v", got)
	}
}

func TestChooseWeightedBoundaries(t *testing.T) {
	w := func(r Route, weight int) Route { r.Weight = weight; return r }
	tb := mustTable(t, w(eur("995", "a", 1), 70), w(eur("995", "b", 1), 30))
	cases := []struct {
		r    float64
		want string
	}{
		{0, "a"}, {0.6999, "a"}, {0.7, "b"}, {0.9999, "b"},
		{-1, "a"}, {math.NaN(), "a"}, {1, "b"}, {math.Inf(1), "b"},
	}
	for _, c := range cases {
		got, err := tb.Choose("995599000001", "", "", now, nil, nil, c.r)
		if err != nil || got.Route.Operator != c.want {
			t.Errorf("r=%v: Choose = %s, %v; want %s", c.r, got.Route.Operator, err, c.want)
		}
	}
}
