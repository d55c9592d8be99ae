package main

import "time"

// sample is a counter reading at a time.
type sample struct {
	t   time.Time
	c   uint64
	cpu float64 // the simulator's CPU seconds at t (0 when unknown)
}

// samples keeps a counter's readings, one per change.
type samples []sample

func (s *samples) add(t time.Time, c uint64, cpu float64) {
	if n := len(*s); n > 0 && (*s)[n-1].c == c {
		return
	}
	*s = append(*s, sample{t, c, cpu})
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
	a, b, ok := s.window(target)
	if !ok {
		return 0
	}
	return float64(b.c-a.c) / b.t.Sub(a.t).Seconds()
}

// cpuShare is the simulator's CPU use over the rate's window, in cores
// (1.0 = one core busy the whole time): near 1 for single-threaded node,
// the simulator is the bottleneck.
func (s samples) cpuShare(target uint64) float64 {
	a, b, ok := s.window(target)
	if !ok || a.cpu == 0 {
		return 0
	}
	return (b.cpu - a.cpu) / b.t.Sub(a.t).Seconds()
}

// window returns the readings rate is taken between.
func (s samples) window(target uint64) (a, b sample, ok bool) {
	a, ok = s.firstNonZero()
	if !ok {
		return a, b, false
	}
	found := false
	for _, x := range s {
		if x.c < target && x.t.After(a.t) {
			b, found = x, true
		}
	}
	if !found || b.t.Sub(a.t) < minSpan {
		b = s[len(s)-1]
	}
	return a, b, b.t.Sub(a.t) > 0
}
