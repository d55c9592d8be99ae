package protect

import (
	"strings"
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

// rangeEntry is the pumping state of one (account, range).
type rangeEntry struct {
	vel                 slide // messages, one-minute window
	delivered, failed   slide // receipts, Options.RateWindow
	lastSeen            int64
	heldFrom, heldUntil int64
	strikes             uint32
	cause               Cause
	mode                Mode
	account, rng        string // kept while a hold is on record, for Holds
}

type pumpGuard struct {
	t            *table[rangeEntry]
	rateWidth    int64
	idle         int64
	maxHold      int64
	strikeMemory int64
}

func newPumpGuard(o *Options) *pumpGuard {
	g := &pumpGuard{
		rateWidth:    int64(o.RateWindow),
		idle:         2 * int64(o.RateWindow),
		maxHold:      int64(o.MaxHold),
		strikeMemory: int64(o.StrikeMemory),
	}
	expired := func(e *rangeEntry, now int64) bool {
		return now >= e.heldUntil && now-e.lastSeen > g.idle &&
			(e.strikes == 0 || now-e.heldUntil > g.strikeMemory)
	}
	held := func(e *rangeEntry, now int64) bool { return now < e.heldUntil }
	sweep := int64(5 * time.Minute)
	if g.idle < sweep {
		sweep = g.idle
	}
	g.t = newTable[rangeEntry](o.MaxRanges, sweep, expired, held)
	return g
}

// trigger starts a hold on e (locked by the caller) and returns its report.
func (g *pumpGuard) trigger(e *rangeEntry, account, rng string, cause Cause, mode Mode, r *pumpRules, now int64) RangeHold {
	if e.strikes > 0 && now-e.heldUntil > g.strikeMemory {
		e.strikes = 0 // a repeat long after the last hold is a first offence again
	}
	e.strikes++
	d := int64(r.HoldFor)
	for i := uint32(1); i < e.strikes && d < g.maxHold; i++ {
		d *= 2
	}
	if d > g.maxHold && int64(r.HoldFor) <= g.maxHold {
		d = g.maxHold
	}
	e.heldFrom, e.heldUntil = now, now+d
	// Counts from before the hold would re-trigger it as soon as it ends.
	e.vel.reset()
	e.delivered.reset()
	e.failed.reset()
	e.cause, e.mode = cause, mode
	e.account, e.rng = strings.Clone(account), strings.Clone(rng)
	return e.hold()
}

func (e *rangeEntry) hold() RangeHold {
	return RangeHold{
		Account: e.account, Range: e.rng, Cause: e.cause, Mode: e.mode,
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
			h := g.trigger(&e, account, rng, CauseVelocity, mode, r, now)
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
		e.delivered.roll(now, g.rateWidth)
		e.failed.roll(now, g.rateWidth)
		if delivered {
			e.delivered.inc()
		} else {
			e.failed.inc()
		}
		d := e.delivered.estimate(now, g.rateWidth)
		n := d + e.failed.estimate(now, g.rateWidth)
		if n >= float64(r.MinSamples) && d/n < r.MinDeliveryRate {
			h := g.trigger(&e, account, rng, CauseDeliveryRate, mode, r, now)
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
	e.delivered.reset()
	e.failed.reset()
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
		e.cause, e.mode = h.Cause, h.Mode
		if e.cause == "" {
			e.cause = CauseRestored
		}
		e.account, e.rng = strings.Clone(h.Account), strings.Clone(h.Range)
	}
	if h.Strikes > int(e.strikes) {
		e.strikes = uint32(h.Strikes)
	}
	if e.lastSeen < now {
		e.lastSeen = now
	}
	s.m[key] = e
}

// holds lists the ranges held at now.
func (g *pumpGuard) holds(now int64) []RangeHold {
	var out []RangeHold
	for i := range g.t.shards {
		s := &g.t.shards[i]
		s.mu.Lock()
		for _, e := range s.m {
			if now < e.heldUntil {
				out = append(out, e.hold())
			}
		}
		s.mu.Unlock()
	}
	return out
}
