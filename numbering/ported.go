package numbering

import (
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"time"
)

// maxPending bounds the Puts remembered while a Load builds its table.
const maxPending = 1 << 20

// PortedRow is one ported number as stored in Postgres (smsgate import
// portability): E.164 digits and the network it now belongs to.
type PortedRow struct {
	Number, MCC, MNC string
}

// PortedCache holds every ported number in memory: number → network.
//
// TTL is per load, not per entry: the cache is a full copy of the
// Postgres table (a miss means "not ported", which only a full copy can
// say without a query per message), replaced by Load every cache_ttl so
// deletions and corrections in Postgres reach it. A per-entry expiry would
// cost 4 more bytes per number (+50%) and could only turn a known answer
// into a miss. When a reload fails the old snapshot keeps answering —
// stale portability data beats range-table guesses — and Expired reports
// it so the integrator can alert.
//
// Reads (Get) take no lock: one atomic pointer load and atomic slot loads.
// Put and Load are serialised by a mutex that readers never touch.
type PortedCache struct {
	reg *Registry
	ttl time.Duration

	cur atomic.Pointer[portedSnap]

	mu             sync.Mutex // serialises writers to cur.t
	loading        bool
	pending        []portedEntry // Puts made while a Load runs, replayed into its table
	pendingDropped atomic.Uint64

	loadMu sync.Mutex // one Load at a time
}

type portedSnap struct {
	t        *table
	loadedAt time.Time
}

type portedEntry struct {
	key uint64
	id  NetID
}

// NewPortedCache returns an empty cache whose loads are due again after
// ttl (cache_ttl).
func NewPortedCache(reg *Registry, ttl time.Duration) *PortedCache {
	c := &PortedCache{reg: reg, ttl: ttl}
	c.cur.Store(&portedSnap{t: newTable(0, false)})
	return c
}

// Get returns the network of the ported number key (E.164 digits as a
// number), or false. No lock, no allocation.
func (c *PortedCache) Get(key uint64) (NetID, bool) {
	return c.cur.Load().t.get(key)
}

// Lookup is Get for an E.164 string.
func (c *PortedCache) Lookup(e164 string) (NetID, bool) {
	v, _, ok := parseDigits(e164)
	if !ok {
		return 0, false
	}
	return c.Get(v)
}

func (c *PortedCache) row(r PortedRow) (uint64, NetID, error) {
	v, n, ok := parseDigits(r.Number)
	if !ok || n < 7 {
		return 0, 0, fmt.Errorf("number %q: want 7 to 15 digits", r.Number)
	}
	id, err := c.reg.Intern(r.MCC, r.MNC, "")
	if err != nil {
		return 0, 0, fmt.Errorf("number %s: %w", r.Number, err)
	}
	return v, id, nil
}

// Put adds or replaces one ported number (a new import, seen within
// seconds on every instance); it lives until the next Load replaces the
// snapshot, which by then holds it from Postgres. Safe alongside Get and
// Load.
func (c *PortedCache) Put(r PortedRow) error {
	key, id, err := c.row(r)
	if err != nil {
		return fmt.Errorf("ported: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.cur.Load()
	if ns := putInto(cur, key, id); ns != cur {
		c.cur.Store(ns)
	}
	if c.loading {
		if len(c.pending) < maxPending {
			c.pending = append(c.pending, portedEntry{key, id})
		} else {
			c.pendingDropped.Add(1)
		}
	}
	return nil
}

// putInto stores into snapshot s and returns it, or, when its table is
// full, a new snapshot with a grown copy: a published snapshot is never
// written to except through atomic slot stores.
func putInto(s *portedSnap, key uint64, id NetID) *portedSnap {
	if s.t.put(key, id, 0) {
		return s
	}
	g := newTable(2*s.t.n+1, false)
	s.t.each(func(k uint64, i NetID, _ uint32) { g.put(k, i, 0) })
	g.put(key, id, 0)
	return &portedSnap{t: g, loadedAt: s.loadedAt}
}

// Load replaces the cache with rows (the whole Postgres table), built
// beside the current one, which keeps answering until the swap. sizeHint
// is the expected row count (e.g. from count(*)), 0 if unknown. A bad row
// or an iteration error aborts the load and keeps the old snapshot. A
// number given twice keeps its last row. Returns the entries loaded.
func (c *PortedCache) Load(sizeHint int, rows iter.Seq2[PortedRow, error]) (int, error) {
	c.loadMu.Lock()
	defer c.loadMu.Unlock()
	c.mu.Lock()
	c.loading, c.pending = true, nil
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.loading, c.pending = false, nil
		c.mu.Unlock()
	}()

	s := &portedSnap{t: newTable(sizeHint, false)}
	i := 0
	for r, err := range rows {
		i++
		if err != nil {
			return 0, fmt.Errorf("ported load: row %d: %w", i, err)
		}
		key, id, err := c.row(r)
		if err != nil {
			return 0, fmt.Errorf("ported load: row %d: %w", i, err)
		}
		s = putInto(s, key, id) // s is private: the mutex is not needed yet
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.pending {
		s = putInto(s, p.key, p.id)
	}
	s.loadedAt = time.Now()
	c.cur.Store(s)
	return s.t.n, nil
}

// Expired reports whether the snapshot is older than the TTL (or was
// never loaded): a reload is due, or has been failing.
func (c *PortedCache) Expired(now time.Time) bool {
	at := c.cur.Load().loadedAt
	return at.IsZero() || now.Sub(at) >= c.ttl
}

// LoadedAt returns when the current snapshot was loaded (zero: never).
func (c *PortedCache) LoadedAt() time.Time { return c.cur.Load().loadedAt }

// TTL returns the cache_ttl the cache was made with.
func (c *PortedCache) TTL() time.Duration { return c.ttl }

// Len returns the number of ported numbers held.
func (c *PortedCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur.Load().t.n
}

// Bytes returns the memory of the current table.
func (c *PortedCache) Bytes() int { return c.cur.Load().t.bytes() }

// PortedStats are the cache's counters since it was made.
type PortedStats struct {
	PendingDropped uint64 // Puts during a Load beyond 1M: in the old snapshot only, back at the next Load
}

// Stats returns the counters.
func (c *PortedCache) Stats() PortedStats {
	return PortedStats{PendingDropped: c.pendingDropped.Load()}
}
