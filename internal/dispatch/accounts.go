package dispatch

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smsgate/smsgate/internal/policy"
)

// Accounts within an operator's queue share it by weight (queue.go); an
// account's `tps` caps its parts per second across the cluster. Each
// instance enforces a share of it in proportion to its demand for the
// account (parts sent in the last round plus messages queued here), as the
// live instances report it in Postgres every second: an instance alone,
// or the only one holding the binds that carry an account's traffic, gets
// (nearly) the whole cap, and the shares always add up to the cap. Before
// the first round, or when the round fails, the share is tps ÷ live
// instances.

// acctGate is one account's weight and token bucket on this instance,
// shared by every operator's queue.
type acctGate struct {
	name      string
	weight    atomic.Int32
	limited   atomic.Bool
	throttled prometheus.Counter
	// sent counts the parts let through since the last round (demand).
	sent atomic.Int64
	// share is this instance's part of the cap (parts/s as float64 bits;
	// 0 = no cap).
	share atomic.Uint64

	mu     sync.Mutex
	rate   float64 // parts per second (this instance's share)
	burst  float64
	tokens float64
	last   time.Time
}

// setRate sets the bucket to r parts per second (0: unlimited). The burst
// is 100 ms of the rate, at least one part, so a second never sees much
// more than the cap.
func (g *acctGate) setRate(r float64, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r <= 0 {
		g.limited.Store(false)
		g.rate = 0
		return
	}
	if g.rate > 0 {
		g.refill(now)
	} else {
		g.tokens, g.last = max(r/10, 1), now
	}
	g.rate, g.burst = r, max(r/10, 1)
	g.tokens = min(g.tokens, g.burst)
	g.limited.Store(true)
}

func (g *acctGate) refill(now time.Time) {
	if now.After(g.last) {
		g.tokens = min(g.burst, g.tokens+g.rate*now.Sub(g.last).Seconds())
		g.last = now
	}
}

// take spends parts tokens if the bucket allows a message of that size
// now; otherwise it says how long until it would. A message larger than
// the burst goes once the bucket is full and leaves it in debt, so the
// average rate holds whatever the message sizes.
func (g *acctGate) take(parts int, now time.Time) (bool, time.Duration) {
	if g == nil || !g.limited.Load() {
		return true, 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.rate <= 0 {
		return true, 0
	}
	g.refill(now)
	need := min(float64(parts), g.burst)
	if g.tokens >= need {
		g.tokens -= float64(parts)
		g.sent.Add(int64(parts))
		return true, 0
	}
	return false, time.Duration((need-g.tokens)/g.rate*float64(time.Second)) + time.Millisecond
}

func (g *acctGate) weightOf() int {
	if g == nil {
		return 1
	}
	return int(max(g.weight.Load(), 1))
}

// accountGates holds the gates of the accounts seen here (the configured
// ones: ingest refuses unknown accounts, so the map is bounded by config).
type accountGates struct {
	tables    func() *policy.Tables
	throttled *prometheus.CounterVec
	live      atomic.Int32

	mu sync.Mutex
	m  map[string]*acctGate
}

func newAccountGates(tables func() *policy.Tables, throttled *prometheus.CounterVec) *accountGates {
	g := &accountGates{tables: tables, throttled: throttled, m: map[string]*acctGate{}}
	g.live.Store(1)
	return g
}

// get returns name's gate, made from the current tables on first use.
func (g *accountGates) get(name string) *acctGate {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if a := g.m[name]; a != nil {
		return a
	}
	a := &acctGate{name: name}
	if g.throttled != nil {
		a.throttled = g.throttled.WithLabelValues(name)
	}
	g.apply(a, g.tables(), time.Now())
	g.m[name] = a
	return a
}

// refresh applies the tables (weights and tps after a reload) and the
// cluster's demand to every gate; the bind-slot leaser calls it once per
// round. totals is each capped account's demand summed over the live
// instances (this one's included, as given in mine); nil when the round
// could not read it: the share is then tps ÷ live.
func (g *accountGates) refresh(live int, mine, totals map[string]int64, now time.Time) {
	if g == nil {
		return
	}
	g.live.Store(int32(max(live, 1)))
	t := g.tables()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, a := range g.m {
		w, tps := g.rules(a, t)
		a.weight.Store(int32(w))
		share := float64(tps) / float64(max(live, 1))
		if total, ok := totals[a.name]; ok && tps > 0 {
			share = demandShare(tps, mine[a.name], total, live)
		}
		a.setRate(share, now)
		a.share.Store(math.Float64bits(share))
	}
}

// demandShare is an instance's part of an account's cap: in proportion to
// its demand, each live instance counted with one part more so that an
// idle instance can still start and the shares add up to tps.
func demandShare(tps int, mine, total int64, live int) float64 {
	live = max(live, 1)
	return float64(tps) * float64(mine+1) / float64(total+int64(live))
}

// demands returns, for each capped account, the parts let through here
// since the last call plus its messages queued here (queued, by account).
func (g *accountGates) demands(queued map[string]int) map[string]int64 {
	if g == nil {
		return nil
	}
	t := g.tables()
	g.mu.Lock()
	defer g.mu.Unlock()
	var out map[string]int64
	for name, a := range g.m {
		if _, tps := g.rules(a, t); tps > 0 {
			if out == nil {
				out = map[string]int64{}
			}
			out[name] = a.sent.Swap(0) + int64(queued[name])
		}
	}
	return out
}

func (g *accountGates) rules(a *acctGate, t *policy.Tables) (weight, tps int) {
	weight = 1
	if t != nil {
		if acct := t.Accounts[a.name]; acct != nil {
			weight, tps = max(acct.Weight, 1), acct.TPS
		}
	}
	return weight, tps
}

func (g *accountGates) apply(a *acctGate, t *policy.Tables, now time.Time) {
	w, tps := g.rules(a, t)
	a.weight.Store(int32(w))
	share := float64(tps) / float64(g.live.Load())
	a.setRate(share, now)
	a.share.Store(math.Float64bits(share))
}

// each calls f for every gate (under the lock: f must not call back).
func (g *accountGates) each(f func(*acctGate)) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, a := range g.m {
		f(a)
	}
}
