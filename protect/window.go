package protect

// slide approximates a sliding-window count from two buckets aligned to
// multiples of the window width: the current bucket's count plus the
// previous bucket's weighted by how much of the previous window still
// overlaps the sliding one. It costs 16 bytes per key instead of one
// timestamp per event. The estimate is exact for traffic at a steady rate
// (a running loop, a sustained pump); for bursts it over-counts traffic
// from early in the previous bucket and under-counts traffic from late in
// it, so an adversary timing a burst around a bucket boundary can pass up
// to about twice the limit within one window length, never more.
type slide struct {
	idx       int64 // bucket index of cur: unix nanos / width
	cur, prev uint32
}

// roll moves the buckets to the bucket index of now. A clock that goes
// back keeps counting into the current bucket.
func (s *slide) roll(now, width int64) {
	idx := now / width
	switch {
	case idx <= s.idx:
		return
	case idx == s.idx+1:
		s.prev, s.cur = s.cur, 0
	default:
		s.prev, s.cur = 0, 0
	}
	s.idx = idx
}

// estimate is the count over the window ending at now (after roll).
func (s *slide) estimate(now, width int64) float64 {
	if s.prev == 0 {
		return float64(s.cur)
	}
	elapsed := float64(now-s.idx*width) / float64(width)
	if elapsed < 0 {
		elapsed = 0
	} else if elapsed > 1 {
		elapsed = 1
	}
	return float64(s.prev)*(1-elapsed) + float64(s.cur)
}

func (s *slide) reset() { *s = slide{} }

// inc adds one, saturating.
func (s *slide) inc() {
	if s.cur < ^uint32(0) {
		s.cur++
	}
}
