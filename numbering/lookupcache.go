package numbering

import (
	"sync"
	"sync/atomic"
	"time"
)

// lookupCache keeps lookup answers for cache_ttl in bounded memory: two
// generations of perGen entries. Answers go into the current one; when it
// is full it becomes the previous one and the old previous one is dropped,
// so a number seen within the last perGen..2×perGen answers stays cached
// (an LRU approximation without per-read writes). Each entry has its own
// expiry. Reads take no lock.
type lookupCache struct {
	perGen    int
	cur, prev atomic.Pointer[table]
	mu        sync.Mutex // serialises writers
	rotations atomic.Uint64
}

func newLookupCache(perGen int) *lookupCache {
	c := &lookupCache{perGen: perGen}
	c.cur.Store(newTable(perGen, true))
	c.prev.Store(newTable(0, true))
	return c
}

// unixNow is the clock for expiries, in whole seconds.
func unixNow() uint32 { return uint32(time.Now().Unix()) }

// get returns key's answer if it has not expired at now (Unix seconds).
// The id may be netNegative: "the lookup said no network".
func (c *lookupCache) get(key uint64, now uint32) (NetID, bool) {
	for _, t := range [2]*table{c.cur.Load(), c.prev.Load()} {
		if i, id := t.find(key); i >= 0 {
			// The newest answer for a number is in the first table that
			// has it: an expired one there is a miss.
			return id, atomic.LoadUint32(&t.exp[i]) > now
		}
	}
	return 0, false
}

// put stores an answer valid until exp (Unix seconds).
func (c *lookupCache) put(key uint64, id NetID, exp uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.cur.Load()
	if cur.put(key, id, exp) {
		return
	}
	next := newTable(c.perGen, true)
	next.put(key, id, exp)
	c.prev.Store(cur)
	c.cur.Store(next)
	c.rotations.Add(1)
}

func (c *lookupCache) bytes() int { return c.cur.Load().bytes() + c.prev.Load().bytes() }
