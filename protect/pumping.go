package protect

import (
	"strings"
	"sync"
	"time"
)

// Cause says what triggered a range.
type Cause string

const (
	CauseVelocity     Cause = "velocity"      // more than max_per_minute
	CauseDeliveryRate Cause = "delivery_rate" // delivered share below min_delivery_rate
	CauseRestored     Cause = "restored"      // loaded by Restore without a cause
)

// RangeHold is one triggered range: reported through Options.OnHold when it
// starts, listed by Guard.Holds, loaded back by Guard.Restore. In monitor
// mode the range's traffic is sent and counted, not held.
type RangeHold struct {
	Account string
	Range   string
	Cause   Cause
	Mode    Mode
	// Strikes counts this range's holds in a row (1 = first); the hold
	// lasts HoldFor × 2^(Strikes−1), up to Options.MaxHold.
	Strikes int
	Since   time.Time
	Until   time.Time
}

// rangeEntry is the pumping state of one (account, range): 72 bytes.
// The names of held ranges live in pumpGuard.names, so that the many
// ranges that are never held carry no strings.
type rangeEntry struct {
	vel                 slide // messages, one-minute window
	rate                rateWin
	lastSeen            int64
	heldFrom, heldUntil int64
	strikes             uint16
	cause               causeCode
	mode                Mode
}

// rateWin counts delivered and failed receipts in two buckets of
// Options.RateWindow, weighted like slide.
type rateWin struct {
	idx                int64
	d, f, prevD, prevF uint32
}

func (w *rateWin) add(delivered bool, now, width int64) {
	idx := now / width
	switch {
	case idx <= w.idx:
	case idx == w.idx+1:
		w.prevD, w.prevF, w.d, w.f = w.d, w.f, 0, 0
		w.idx = idx
	default:
		*w = rateWin{idx: idx}
	}
	if delivered {
		w.d = satInc(w.d)
	} else {
		w.f = satInc(w.f)
	}
}

// estimate is delivered and total receipts over the window ending at now.
func (w *rateWin) estimate(now, width int64) (delivered, total float64) {
	keep := 1 - float64(now-w.idx*width)/float64(width)
	keep = max(0, min(1, keep))
	delivered = float64(w.d) + float64(w.prevD)*keep
	return delivered, delivered + float64(w.f) + float64(w.prevF)*keep
}

func satInc(v uint32) uint32 {
	if v < ^uint32(0) {
		v++
	}
	return v
}

type causeCode uint8

var causes = [...]Cause{CauseRestored, CauseVelocity, CauseDeliveryRate}

func codeOf(c Cause) causeCode {
	for i, x := range causes {
		if x == c {
			return causeCode(i)
		}
	}
	return 0
}

// rangeName is what a hold report needs besides the entry.
type rangeName struct {
	account, rng string
	until        int64 // the hold's end when recorded: prune after it
}

type pumpGuard struct {
	t            *table[rangeEntry]
	rateWidth    int64
	idle         int64
	maxHold      int64
	strikeMemory int64

	// names of ranges held (or once held, until pruned). Lock order:
	// a shard's mutex, then namesMu.
	namesMu sync.Mutex
	names   map[uint64]rangeName
}

// namesPruneAt: past this many names, ended holds' names are dropped.
const namesPruneAt = 4096

func newPumpGuard(o *Options) *pumpGuard {
	g := &pumpGuard{
		rateWidth:    int64(o.RateWindow),
		idle:         2 * int64(o.RateWindow),
		maxHold:      int64(o.MaxHold),
		strikeMemory: int64(o.StrikeMemory),
		names:        map[uint64]rangeName{},
	}
	expired := func(e *rangeEntry, now int64) bool {
		return now >= e.heldUntil && now-e.lastSeen > g.idle &&
			(e.strikes == 0 || now-e.heldUntil > g.strikeMemory)
	}
	// Under capacity pressure idle ranges go first, then ranges with
	// traffic in the last minute (an attack may be building up), held
	// ranges last.
	keep := func(e *rangeEntry, now int64) int {
		switch {
		case now < e.heldUntil:
			return 2
		case now-e.lastSeen < int64(time.Minute):
			return 1
		}
		return 0
	}
	sweep := int64(5 * time.Minute)
	if g.idle < sweep {
		sweep = g.idle
	}
	g.t = newTable[rangeEntry](o.MaxRanges, sweep, expired, keep)
	return g
}

// setName records the names of a held range (called with its shard locked).
func (g *pumpGuard) setName(key uint64, account, rng string, until, now int64) {
	g.namesMu.Lock()
	defer g.namesMu.Unlock()
	if len(g.names) >= namesPruneAt {
		for k, n := range g.names {
			if n.until <= now {
				delete(g.names, k)
			}
		}
	}
	g.names[key] = rangeName{account: strings.Clone(account), rng: strings.Clone(rng), until: until}
}

// trigger starts a hold on e (locked by the caller) and returns its report.
func (g *pumpGuard) trigger(key uint64, e *rangeEntry, account, rng string, cause Cause, mode Mode, r *pumpRules, now int64) RangeHold {
	if e.strikes > 0 && now-e.heldUntil > g.strikeMemory {
		e.strikes = 0 // a repeat long after the last hold is a first offence again
	}
	if e.strikes < ^uint16(0) {
		e.strikes++
	}
	d := int64(r.HoldFor)
	for i := uint16(1); i < e.strikes && d < g.maxHold; i++ {
		d *= 2
	}
	if d > g.maxHold && int64(r.HoldFor) <= g.maxHold {
		d = g.maxHold
	}
	e.heldFrom, e.heldUntil = now, now+d
	// Counts from before the hold would re-trigger it as soon as it ends.
	e.vel.reset()
	e.rate = rateWin{}
	e.cause, e.mode = codeOf(cause), mode
	g.setName(key, account, rng, e.heldUntil, now)
	return e.hold(account, rng)
}

func (e *rangeEntry) hold(account, rng string) RangeHold {
	return RangeHold{
		Account: account, Range: rng, Cause: causes[e.cause], Mode: e.mode,
		Strikes: int(e.strikes),
		Since:   time.Unix(0, e.heldFrom).UTC(), Until: time.Unix(0, e.heldUntil).UTC(),
	}
}

// onMessage counts one message to the range and reports whether the range
// is (now) triggered, and the hold it started, if any.
func (g *pumpGuard) onMessage(key uint64, account, rng string, r *pumpRules, mode Mode, now int64) (held bool, started *RangeHold) {
	s := g.t.shard(key)
	s.mu.Lock()
	e, ok := s.m[key]
	if !ok {
		g.t.makeRoom(s, now)
	}
	e.lastSeen = now
	switch {
	case now < e.heldUntil:
		held = true
	default:
		e.vel.roll(now, r.window)
		if e.vel.estimate(now, r.window)+1 > float64(r.MaxPerMinute) {
			h := g.trigger(key, &e, account, rng, CauseVelocity, mode, r, now)
			held, started = true, &h
		} else {
			e.vel.inc()
		}
	}
	s.m[key] = e
	s.mu.Unlock()
	return held, started
}

// onReceipt counts one delivery outcome and reports the hold it started,
// if any. Outcomes that arrive while the range is held are not counted:
// they belong to traffic from before the hold.
func (g *pumpGuard) onReceipt(key uint64, account, rng string, delivered bool, r *pumpRules, mode Mode, now int64) (started *RangeHold) {
	s := g.t.shard(key)
	s.mu.Lock()
	e, ok := s.m[key]
	if !ok {
		g.t.makeRoom(s, now)
	}
	e.lastSeen = now
	if now >= e.heldUntil {
		e.rate.add(delivered, now, g.rateWidth)
		d, n := e.rate.estimate(now, g.rateWidth)
		if n >= float64(r.MinSamples) && d/n < r.MinDeliveryRate {
			h := g.trigger(key, &e, account, rng, CauseDeliveryRate, mode, r, now)
			started = &h
		}
	}
	s.m[key] = e
	s.mu.Unlock()
	return started
}

// release ends a hold early; its strikes stay, so a repeat still doubles.
func (g *pumpGuard) release(key uint64, now int64) bool {
	s := g.t.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	if !ok || now >= e.heldUntil {
		return false
	}
	e.heldUntil = now
	e.vel.reset()
	e.rate = rateWin{}
	s.m[key] = e
	return true
}

// restore loads a persisted hold; the later hold and the higher strike
// count win over state already there.
func (g *pumpGuard) restore(key uint64, h RangeHold, now int64) {
	s := g.t.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	if !ok {
		g.t.makeRoom(s, now)
	}
	if until := h.Until.UnixNano(); until > e.heldUntil {
		e.heldFrom, e.heldUntil = h.Since.UnixNano(), until
		e.cause, e.mode = codeOf(h.Cause), h.Mode
		g.setName(key, h.Account, h.Range, until, now)
	}
	if h.Strikes > int(e.strikes) {
		e.strikes = uint16(min(h.Strikes, int(^uint16(0))))
	}
	if e.lastSeen < now {
		e.lastSeen = now
	}
	s.m[key] = e
}

// holds lists the ranges held at now.
func (g *pumpGuard) holds(now int64) []RangeHold {
	type held struct {
		key uint64
		e   rangeEntry
	}
	var hs []held
	for i := range g.t.shards {
		s := &g.t.shards[i]
		s.mu.Lock()
		for k, e := range s.m {
			if now < e.heldUntil {
				hs = append(hs, held{k, e})
			}
		}
		s.mu.Unlock()
	}
	out := make([]RangeHold, 0, len(hs))
	g.namesMu.Lock()
	defer g.namesMu.Unlock()
	for _, h := range hs {
		n := g.names[h.key]
		out = append(out, h.e.hold(n.account, n.rng))
	}
	return out
}
