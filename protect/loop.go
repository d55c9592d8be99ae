package protect

// loopEntry is one (account, sender, destination) pair's count.
type loopEntry struct {
	win      slide
	lastSeen int64
	width    int64 // the window it was counted with; a reload with another per restarts it
}

type loopGuard struct {
	t *table[loopEntry]
}

// loopIdle: a pair not seen for two windows has nothing left to count.
func loopIdle(e *loopEntry, now int64) bool { return now-e.lastSeen > 2*e.width }

func newLoopGuard(maxPairs int, sweepEvery int64) *loopGuard {
	return &loopGuard{t: newTable[loopEntry](maxPairs, sweepEvery, loopIdle, nil)}
}

// allow counts one message of the pair key and reports whether it stays
// within max per width; a message over the limit is not counted.
func (g *loopGuard) allow(key uint64, max int, width, now int64) bool {
	s := g.t.shard(key)
	s.mu.Lock()
	e, ok := s.m[key]
	if !ok {
		g.t.makeRoom(s, now)
	}
	if e.width != width {
		e = loopEntry{width: width}
	}
	e.lastSeen = now
	e.win.roll(now, width)
	allowed := e.win.estimate(now, width)+1 <= float64(max)
	if allowed {
		e.win.inc()
	}
	s.m[key] = e
	s.mu.Unlock()
	return allowed
}
