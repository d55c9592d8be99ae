package router

import (
	"fmt"
	"slices"
	"time"
)

// Choose picks the route for one send to dest (see Candidates for dest,
// network and now).
//
// usable reports whether an operator can take traffic now (bound, not
// throttled, not drained or disabled); nil means every operator is usable.
// tried lists operators already used for this message; they are skipped
// (failover and reroute take the next route).
//
// With forced non-empty (the submit's `route` field) only that operator is
// considered, and only through a route row of its own that applies to dest:
// a forced operator without one is ErrNoRoute, because its cost and
// cost_on would be unknown. It stays subject to usable and tried, like any
// other route.
//
// Otherwise the best rank that has a usable, untried member wins, and its
// members split traffic by Weight: r, a value in [0, 1) drawn uniformly by
// the caller (passed in so tests are deterministic), picks member i with
// probability Weight_i / Σ Weight over the usable members, so a member that
// is down gives its share to the others. On a table from WithQuality the
// rank is by cost per delivered message instead, with an explore share
// (see WithQuality).
//
// The error is ErrNoRoute when no row applies, and ErrNoUsableRoute (which
// wraps ErrNoRoute) when rows apply but none is usable and untried; they
// are returned as they are, without the destination, so that the miss path
// does not allocate either: the caller adds its context. Only a forced
// operator without a row gets an error naming it (wrapping ErrNoRoute),
// which allocates.
func (t *Table) Choose(dest, network, forced string, now time.Time, usable func(op string) bool, tried []string, r float64) (Candidate, error) {
	var buf [stackCandidates]int32
	idx := t.collectOpen(buf[:0], dest, network, now) // rows outside their Active window left out
	if len(idx) == 0 {
		return Candidate{}, ErrNoRoute
	}
	ok := func(op string) bool {
		return !slices.Contains(tried, op) && (usable == nil || usable(op))
	}
	if forced != "" {
		for i, ri := range idx {
			if t.opNames[t.hot[ri].op] == forced {
				if !ok(forced) {
					return Candidate{}, ErrNoUsableRoute
				}
				return Candidate{Route: t.rows[ri], Rank: rankAt(t, idx, i)}, nil
			}
		}
		return Candidate{}, fmt.Errorf("forced operator %q has no route: %w", forced, ErrNoRoute)
	}
	if t.quality != nil {
		return t.chooseByQuality(idx, ok, network, now, r)
	}
	rank := 0
	for lo := 0; lo < len(idx); rank++ {
		hi := lo + 1
		for hi < len(idx) && t.hot[idx[hi]].cost == t.hot[idx[lo]].cost {
			hi++
		}
		// Keep the usable members of this rank in place at idx[lo:k], so
		// usable is asked once per member.
		k := lo
		total := 0
		for _, ri := range idx[lo:hi] {
			if ok(t.opNames[t.hot[ri].op]) {
				idx[k] = ri
				k++
				total += int(t.hot[ri].weight)
			}
		}
		if k > lo {
			return Candidate{Route: t.rows[pickWeighted(t, idx[lo:k], total, r)], Rank: rank}, nil
		}
		lo = hi
	}
	return Candidate{}, ErrNoUsableRoute
}

// pickWeighted returns the member of members whose cumulative weight
// interval holds r·total. r outside [0, 1) (or NaN) is clamped.
func pickWeighted(t *Table, members []int32, total int, r float64) int32 {
	target := 0
	switch {
	case r >= 1: // also +Inf, whose int conversion is undefined
		target = total - 1
	case r > 0: // false for NaN
		target = int(r * float64(total))
	}
	cum := 0
	for _, ri := range members {
		cum += int(t.hot[ri].weight)
		if target < cum {
			return ri
		}
	}
	return members[len(members)-1]
}

// rankAt is the Rank of idx[i] as Candidates numbers it.
func rankAt(t *Table, idx []int32, i int) int {
	rank := 0
	for j := 1; j <= i; j++ {
		if t.hot[idx[j]].cost != t.hot[idx[j-1]].cost {
			rank++
		}
	}
	return rank
}
