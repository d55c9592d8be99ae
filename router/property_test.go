package router

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/smsgate/smsgate/billing"
)

// The property tests compare Table against refCandidates/refChoose, a
// brute-force reading of the contract over a plain slice of rows, on small
// random tables whose alphabets are tiny so that keys, costs, times and
// operators collide often.

var propTimes = []time.Time{{}, ts("2026-01-01T00:00:00Z"), ts("2026-06-01T00:00:00Z"), ts("2027-01-01T00:00:00Z")}

func randTable(rng *rand.Rand) []Route {
	type k struct {
		key, op string
		eff     time.Time
	}
	seen := map[k]bool{}
	var rows []Route
	for range rng.IntN(25) {
		r := Route{
			Operator:  string(rune('a' + rng.IntN(4))),
			Cost:      billing.Amount(rng.IntN(4)),
			Currency:  "EUR",
			Weight:    rng.IntN(4),
			Effective: propTimes[rng.IntN(len(propTimes))],
		}
		if rng.IntN(5) == 0 {
			r.MCCMNC = fmt.Sprintf("2820%d", rng.IntN(3))
		} else {
			for range 1 + rng.IntN(4) {
				r.Prefix += string(rune('1' + rng.IntN(3)))
			}
		}
		kk := k{fmt.Sprint(kind(&r), key(&r)), r.Operator, r.Effective}
		if seen[kk] {
			continue
		}
		seen[kk] = true
		rows = append(rows, r)
	}
	return rows
}

func refCandidates(rows []Route, dest, network string, now time.Time) []Candidate {
	pick := func(match func(r *Route) bool) []Candidate {
		latest := map[string]Route{}
		for _, r := range rows {
			if !match(&r) || r.Effective.After(now) {
				continue
			}
			if old, ok := latest[r.Operator]; !ok || r.Effective.After(old.Effective) {
				latest[r.Operator] = r
			}
		}
		var out []Candidate
		for _, r := range latest {
			if r.Weight == 0 {
				r.Weight = 1
			}
			out = append(out, Candidate{Route: r})
		}
		slices.SortFunc(out, func(a, b Candidate) int {
			return cmp.Or(cmp.Compare(a.Route.Cost, b.Route.Cost), cmp.Compare(a.Route.Operator, b.Route.Operator))
		})
		for i := 1; i < len(out); i++ {
			out[i].Rank = out[i-1].Rank
			if out[i].Route.Cost != out[i-1].Route.Cost {
				out[i].Rank++
			}
		}
		return out
	}
	if network != "" {
		if out := pick(func(r *Route) bool { return r.MCCMNC == network }); len(out) > 0 {
			return out
		}
	}
	if len(dest) > 0 && dest[0] == '+' {
		dest = dest[1:]
	}
	for l := len(dest); l > 0; l-- {
		if out := pick(func(r *Route) bool { return r.MCCMNC == "" && r.Prefix == dest[:l] }); len(out) > 0 {
			return out
		}
	}
	return nil
}

func refChoose(cs []Candidate, usable func(string) bool, tried []string, r float64) (Candidate, bool) {
	for rank := 0; len(cs) > 0 && rank <= cs[len(cs)-1].Rank; rank++ {
		var members []Candidate
		total := 0
		for _, c := range cs {
			if c.Rank == rank && usable(c.Route.Operator) && !slices.Contains(tried, c.Route.Operator) {
				members = append(members, c)
				total += c.Route.Weight
			}
		}
		if len(members) == 0 {
			continue
		}
		// Member i owns the r-interval [Σ_{j<i} w_j, Σ_{j≤i} w_j) / total.
		acc := 0
		for _, m := range members {
			acc += m.Route.Weight
			if r*float64(total) < float64(acc) {
				return m, true
			}
		}
		return members[len(members)-1], true
	}
	return Candidate{}, false
}

func checkAgainstReference(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	rows := randTable(rng)
	tb, err := NewTable(rows)
	if err != nil {
		t.Fatalf("seed %d: NewTable: %v", seed, err)
	}
	if len(tb.nodes) != cap(tb.nodes) {
		t.Fatalf("seed %d: trie has %d nodes, trieSize said %d", seed, len(tb.nodes), cap(tb.nodes))
	}
	var buf []Candidate
	for range 30 {
		dest := ""
		if rng.IntN(4) == 0 {
			dest = "+"
		}
		for range rng.IntN(7) {
			dest += string(rune('1' + rng.IntN(4)))
		}
		network := []string{"", "28200", "28201", "28209"}[rng.IntN(4)]
		now := propTimes[1+rng.IntN(3)].Add(time.Duration(rng.IntN(3)-1) * time.Second)
		want := refCandidates(rows, dest, network, now)
		buf = tb.Candidates(buf[:0], dest, network, now)
		if !slices.Equal(buf, want) {
			t.Fatalf("seed %d: Candidates(%q, %q, %s)\n got %s\nwant %s\nrows %+v",
				seed, dest, network, now.Format(time.RFC3339), summary(buf), summary(want), rows)
		}
		var down, tried []string
		for _, op := range []string{"a", "b", "c", "d"} {
			switch rng.IntN(4) {
			case 0:
				down = append(down, op)
			case 1:
				tried = append(tried, op)
			}
		}
		r := rng.Float64()
		wantC, wantOK := refChoose(want, downSet(down...), tried, r)
		gotC, err := tb.Choose(dest, network, "", now, downSet(down...), tried, r)
		if gotC != wantC || (err == nil) != wantOK {
			t.Fatalf("seed %d: Choose(%q, %q, down %v, tried %v, r %v) = %+v, %v; want %+v, %v",
				seed, dest, network, down, tried, r, gotC, err, wantC, wantOK)
		}
		switch {
		case err == nil:
		case len(want) == 0 && !(errors.Is(err, ErrNoRoute) && !errors.Is(err, ErrNoUsableRoute)):
			t.Fatalf("seed %d: no candidates, err %v", seed, err)
		case len(want) > 0 && !errors.Is(err, ErrNoUsableRoute):
			t.Fatalf("seed %d: candidates but none usable, err %v", seed, err)
		}
	}
}

func TestCandidatesMatchReference(t *testing.T) {
	for seed := range uint64(500) {
		checkAgainstReference(t, seed)
	}
}

func FuzzCandidates(f *testing.F) {
	for _, s := range []uint64{0, 1, 2, 42, 1 << 40} {
		f.Add(s)
	}
	f.Fuzz(checkAgainstReference)
}
