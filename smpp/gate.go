package smpp

import (
	"context"
	"math"
	"sync"
	"time"
)

// AIMD parameters of the Gate. After a throttling answer the rate is
// halved (at most once per gateCooldown, so a window full of
// ESME_RTHROTTLED counts once), never below gateMinFactor of the limit,
// and then recovers linearly by gateRecovery of the limit per second (from
// half to full in 10 s).
const (
	gateDecrease  = 0.5
	gateMinFactor = 0.05
	gateRecovery  = 0.05
	gateCooldown  = time.Second
)

// Gate is a token bucket in its GCRA form, counting message parts, with
// AIMD slow-down on throttling. It is shared by the binds of one operator.
//
// Grants never exceed rate·t + burst in any interval t. Wait reserves its
// slot in virtual time before sleeping, so late timer wake-ups do not lower
// the long-run rate: accuracy depends only on float arithmetic, not on the
// scheduler.
type Gate struct {
	now    func() time.Time
	timers sync.Pool // *time.Timer: a sleeping Wait would otherwise allocate one

	mu       sync.Mutex
	limit    float64   // configured parts/s; <= 0 means no limit
	burst    float64   // parts that may pass at once
	factor   float64   // AIMD multiplier at cutAt
	cutAt    time.Time // last multiplicative decrease
	tat      time.Time // theoretical arrival time of the next part
	throttle int64     // Throttled calls that cut the rate
}

// NewGate returns a gate passing tps parts per second with bursts of at
// most burst parts (min 1). tps <= 0 means no limit.
func NewGate(tps float64, burst int) *Gate {
	return newGate(tps, burst, time.Now)
}

func newGate(tps float64, burst int, now func() time.Time) *Gate {
	return &Gate{now: now, limit: tps, burst: float64(max(burst, 1)), factor: 1}
}

// Wait blocks until n parts may be sent, or ctx ends (then it returns
// ctx's error and gives the reservation back).
func (g *Gate) Wait(ctx context.Context, n int) error {
	g.mu.Lock()
	if g.limit <= 0 {
		g.mu.Unlock()
		return nil
	}
	now := g.now()
	at, tat, iv := g.reserveLocked(now, n)
	g.mu.Unlock()
	d := at.Sub(now)
	if d <= 0 {
		return nil
	}
	t, _ := g.timers.Get().(*time.Timer)
	if t == nil {
		t = time.NewTimer(d)
	} else {
		t.Reset(d)
	}
	// Since Go 1.23 a stopped timer never delivers a stale tick, so it can
	// be reused as is.
	defer func() {
		t.Stop()
		g.timers.Put(t)
	}()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		// Give the slot back only if nobody reserved after us; otherwise
		// leave it (the rate errs low, never high).
		if g.tat.Equal(tat) {
			g.tat = g.tat.Add(-iv)
		}
		g.mu.Unlock()
		return ctx.Err()
	}
}

// reserveLocked books n parts and returns when they may go, the new
// theoretical arrival time and the time booked.
func (g *Gate) reserveLocked(now time.Time, n int) (at, tat time.Time, iv time.Duration) {
	if g.limit <= 0 {
		return now, g.tat, 0
	}
	tat = g.tat
	if tat.Before(now) {
		tat = now
	}
	iv = g.intervalLocked(now, n)
	tat = tat.Add(iv)
	g.tat = tat
	return tat.Add(-g.intervalLocked(now, int(g.burst))), tat, iv
}

// intervalLocked is the time n parts take at the current rate.
func (g *Gate) intervalLocked(now time.Time, n int) time.Duration {
	return time.Duration(math.Round(float64(n) * float64(time.Second) / g.rateLocked(now)))
}

// rateLocked is the current AIMD-adjusted rate.
func (g *Gate) rateLocked(now time.Time) float64 {
	f := g.factor
	if f < 1 {
		f += gateRecovery * now.Sub(g.cutAt).Seconds()
		if f >= 1 {
			f, g.factor = 1, 1
		}
	}
	return g.limit * f
}

// Throttled tells the gate the SMSC answered with ESME_RTHROTTLED or
// ESME_RMSGQFUL: the rate is halved (at most once per second) and then
// recovers.
func (g *Gate) Throttled() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.throttledLocked(g.now())
}

func (g *Gate) throttledLocked(now time.Time) {
	if !g.cutAt.IsZero() && now.Sub(g.cutAt) < gateCooldown {
		return
	}
	if g.limit <= 0 {
		g.cutAt = now
		return
	}
	f := g.rateLocked(now) / g.limit
	g.factor = max(f*gateDecrease, gateMinFactor)
	g.cutAt = now
	g.throttle++
}

// SetLimit changes the rate cap (parts/s) at run time, keeping any AIMD
// slow-down in progress. tps <= 0 removes the limit.
func (g *Gate) SetLimit(tps float64) {
	g.mu.Lock()
	g.limit = tps
	g.mu.Unlock()
}

// SetBurst changes the burst (min 1).
func (g *Gate) SetBurst(burst int) {
	g.mu.Lock()
	g.burst = float64(max(burst, 1))
	g.mu.Unlock()
}

// Limit returns the configured cap.
func (g *Gate) Limit() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.limit
}

// Rate returns the current rate: the cap lowered by throttling.
func (g *Gate) Rate() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rateLocked(g.now())
}

// Backoff reports whether the gate was cut by throttling within the last
// second: the operator should be avoided if there is a choice.
func (g *Gate) Backoff() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return !g.cutAt.IsZero() && g.now().Sub(g.cutAt) < gateCooldown
}
