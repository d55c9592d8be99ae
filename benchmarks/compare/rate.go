package main

import "time"

// sample is a counter reading at a time.
type sample struct {
	t time.Time
	c uint64
}

// samples keeps a counter's readings, one per change.
type samples []sample

func (s *samples) add(t time.Time, c uint64) {
	if n := len(*s); n > 0 && (*s)[n-1].c == c {
		return
	}
	*s = append(*s, sample{t, c})
}

// firstNonZero is the first reading above zero.
func (s samples) firstNonZero() (sample, bool) {
	for _, x := range s {
		if x.c > 0 {
			return x, true
		}
	}
	return sample{}, false
}

// reached is the first reading at or above target.
func (s samples) reached(target uint64) (sample, bool) {
	for _, x := range s {
		if x.c >= target {
			return x, true
		}
	}
	return sample{}, false
}

// minSpan is the shortest interval the steady-state rate is taken over.
const minSpan = 1500 * time.Millisecond

// rate is the steady-state rate: from the first reading above zero to the
// last reading below target. A simulator that reports once a second (node)
// would otherwise add up to a second to each end; readings strictly inside
// the run have no such error. Runs too short for that fall back to first
// reading above zero → first reading at target.
func (s samples) rate(target uint64) float64 {
	a, ok := s.firstNonZero()
	if !ok {
		return 0
	}
	var b sample
	found := false
	for _, x := range s {
		if x.c < target && x.t.After(a.t) {
			b, found = x, true
		}
	}
	if !found || b.t.Sub(a.t) < minSpan {
		last := s[len(s)-1]
		if last.t.Sub(a.t) <= 0 {
			return 0
		}
		return float64(last.c-a.c) / last.t.Sub(a.t).Seconds()
	}
	return float64(b.c-a.c) / b.t.Sub(a.t).Seconds()
}
