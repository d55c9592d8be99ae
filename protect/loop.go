package protect

// loopEntry is one (account, sender, destination) pair's count: 24 bytes.
type loopEntry struct {
	win slide
	// widthMs is the window it was counted with (loop.per in ms); a
	// reload with another per restarts the count.
	widthMs uint32
}

type loopGuard struct {
	t *table[loopEntry]
}

// loopIdle: a pair whose buckets are both behind the window has nothing
// left to count.
func loopIdle(e *loopEntry, now int64) bool {
	w := int64(e.widthMs) * 1e6
	return w == 0 || now/w > e.win.idx+1
}

// loopKeep: under capacity pressure, pairs with messages in the current
// bucket (a loop in progress) go after the others.
func loopKeep(e *loopEntry, now int64) int {
	if w := int64(e.widthMs) * 1e6; w > 0 && now/w <= e.win.idx {
		return 1
	}
	return 0
}

func newLoopGuard(maxPairs int, sweepEvery int64) *loopGuard {
	return &loopGuard{t: newTable[loopEntry](maxPairs, sweepEvery, loopIdle, loopKeep)}
}

// allow counts one message of the pair key and reports whether it stays
// within max per width (ns, a whole number of ms); a message over the
// limit is not counted.
func (g *loopGuard) allow(key uint64, max int, width, now int64) bool {
	ms := uint32(width / 1e6)
	s := g.t.shard(key)
	s.mu.Lock()
	e, ok := s.m[key]
	if !ok {
		g.t.makeRoom(s, now)
	}
	if e.widthMs != ms {
		e = loopEntry{widthMs: ms}
	}
	e.win.roll(now, width)
	allowed := e.win.estimate(now, width)+1 <= float64(max)
	if allowed {
		e.win.inc()
	}
	s.m[key] = e
	s.mu.Unlock()
	return allowed
}
