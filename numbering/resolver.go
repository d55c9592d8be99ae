package numbering

import (
	"sync/atomic"
)

// Source says which stage of Resolve answered.
type Source uint8

const (
	SourceNone   Source = iota // no stage knew the number's network
	SourcePorted               // ported-number cache (Postgres)
	SourceLookup               // external lookup, cached or just answered
	SourceRange                // number-range table
)

func (s Source) String() string {
	switch s {
	case SourcePorted:
		return "ported"
	case SourceLookup:
		return "lookup"
	case SourceRange:
		return "range"
	}
	return "none"
}

// Resolver finds a destination's network. Order (first answer wins):
//
//  1. ported-number cache (PortedCache, a full copy of Postgres);
//  2. the lookup answer cache, if a lookup is configured;
//  3. on a miss there, the external lookup itself, waited for at most
//     lookup_timeout (Lookup); a late answer is cached for next time;
//  4. the number-range table (longest prefix);
//  5. none.
//
// A lookup that errs, times out, is dropped or answers "no network" falls
// through to the range table. Cached numbers (steps 1, 2, 4) take no lock
// and do not allocate.
type Resolver struct {
	reg    *Registry
	ranges atomic.Pointer[RangeTable]
	ported *PortedCache
	lookup *Lookup

	counts [4]paddedCounter // by Source
}

// paddedCounter keeps each counter on its own cache line so that cores
// counting different sources do not contend.
type paddedCounter struct {
	n atomic.Uint64
	_ [56]byte
}

// NewResolver returns a resolver over reg's networks. ranges, ported and
// lookup may each be nil (that stage is skipped); ranges and ported must
// use reg.
func NewResolver(reg *Registry, ranges *RangeTable, ported *PortedCache, lookup *Lookup) *Resolver {
	r := &Resolver{reg: reg, ported: ported, lookup: lookup}
	r.ranges.Store(ranges)
	return r
}

// SetRanges swaps in a new range table (config reload); nil removes it.
func (r *Resolver) SetRanges(t *RangeTable) { r.ranges.Store(t) }

// Ranges returns the current range table (maybe nil).
func (r *Resolver) Ranges() *RangeTable { return r.ranges.Load() }

// Registry returns the registry of the resolver's networks.
func (r *Resolver) Registry() *Registry { return r.reg }

// Resolve returns the network of e164 (digits, one leading '+' allowed) and
// the stage that named it; the zero Network and SourceNone if none did or
// e164 is not 1–15 digits. It waits at most lookup_timeout, and only when a
// lookup is configured and the number is in neither cache.
func (r *Resolver) Resolve(e164 string) (Network, Source) {
	id, src := r.ResolveID(e164)
	return r.reg.Network(id), src
}

// ResolveID is Resolve returning the NetID (Registry.Network reads it).
func (r *Resolver) ResolveID(e164 string) (NetID, Source) {
	v, n, ok := parseDigits(e164)
	if !ok {
		r.counts[SourceNone].n.Add(1)
		return 0, SourceNone
	}
	id, src := r.resolve(v, n, e164)
	r.counts[src].n.Add(1)
	return id, src
}

// ResolveNoWait is ResolveID without waiting: on a lookup miss it starts
// the lookup in the background (its answer serves later calls) and lets
// the range table decide now. For callers that must not block, e.g. a
// batch of messages resolved in one goroutine.
func (r *Resolver) ResolveNoWait(e164 string) (NetID, Source) {
	v, n, ok := parseDigits(e164)
	if !ok {
		r.counts[SourceNone].n.Add(1)
		return 0, SourceNone
	}
	id, src := r.resolveWith(v, n, e164, false)
	r.counts[src].n.Add(1)
	return id, src
}

func (r *Resolver) resolve(v uint64, n int, e164 string) (NetID, Source) {
	return r.resolveWith(v, n, e164, true)
}

func (r *Resolver) resolveWith(v uint64, n int, e164 string, wait bool) (NetID, Source) {
	if r.ported != nil {
		if id, ok := r.ported.Get(v); ok {
			return id, SourcePorted
		}
	}
	if r.lookup != nil {
		id, found := r.lookup.cached(v)
		if !found {
			if e164[0] == '+' {
				e164 = e164[1:]
			}
			if wait {
				id = r.lookup.await(v, e164)
			} else {
				r.lookup.start(v, e164)
			}
		}
		if id != 0 {
			return id, SourceLookup
		}
	}
	if id := r.ranges.Load().match(v, n); id != 0 {
		return id, SourceRange
	}
	return 0, SourceNone
}

// Counts returns how many decisions each source made since start, indexed
// by Source.
func (r *Resolver) Counts() [4]uint64 {
	var c [4]uint64
	for i := range c {
		c[i] = r.counts[i].n.Load()
	}
	return c
}
