package protect

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

const shardBits = 6 // 64 shards: enough to keep 2–16 cores off each other's locks

// table is a bounded, sharded map from a 64-bit key hash to V. Keys are
// maphash hashes of the identifying strings, so that a lookup builds no
// string; two different identities sharing a hash (probability ~n²/2⁶⁵)
// would share a counter, which errs on the strict side.
//
// Memory is bounded: a shard holding perShard entries first drops expired
// entries, then evicts others (not protected ones first) down to 7/8 of
// its size; evictions are counted. Each shard also drops expired entries
// when it is touched after sweepEvery, so idle state goes away without a
// goroutine.
type table[V any] struct {
	shards     [1 << shardBits]shard[V]
	perShard   int
	sweepEvery int64
	// expired: v can go (idle). keep ranks what capacity eviction takes
	// first: entries of rank 0, then 1, then 2 (nil: all rank 0).
	expired func(v *V, now int64) bool
	keep    func(v *V, now int64) int

	expiredN atomic.Uint64 // dropped because idle
	evictedN atomic.Uint64 // dropped because the shard was full
}

type shard[V any] struct {
	mu        sync.Mutex
	m         map[uint64]V
	nextSweep int64
	_         [40]byte // own cache line: shards are locked from every core
}

func newTable[V any](max int, sweepEvery int64, expired func(*V, int64) bool, keep func(*V, int64) int) *table[V] {
	per := max >> shardBits
	if per < 8 {
		per = 8
	}
	t := &table[V]{perShard: per, sweepEvery: sweepEvery, expired: expired, keep: keep}
	for i := range t.shards {
		t.shards[i].m = make(map[uint64]V)
	}
	return t
}

func (t *table[V]) shard(key uint64) *shard[V] { return &t.shards[key>>(64-shardBits)] }

// makeRoom is called with s locked before inserting a new key.
func (t *table[V]) makeRoom(s *shard[V], now int64) {
	if now >= s.nextSweep {
		s.nextSweep = now + t.sweepEvery
		t.sweep(s, now)
	}
	if len(s.m) < t.perShard {
		return
	}
	t.sweep(s, now)
	target := t.perShard - t.perShard/8
	var n uint64
	for rank := 0; rank < 3 && len(s.m) > target; rank++ {
		for k, v := range s.m {
			if len(s.m) <= target {
				break
			}
			if t.keep != nil && t.keep(&v, now) > rank {
				continue
			}
			delete(s.m, k)
			n++
		}
	}
	t.evictedN.Add(n)
}

func (t *table[V]) sweep(s *shard[V], now int64) {
	var n uint64
	for k, v := range s.m {
		if t.expired(&v, now) {
			delete(s.m, k)
			n++
		}
	}
	if n > 0 {
		t.expiredN.Add(n)
	}
}

// len counts entries (locks every shard in turn).
func (t *table[V]) len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// keyOf hashes the identifying strings of an entry; 0 separates them so
// that ("ab","c") and ("a","bc") differ.
func keyOf(seed maphash.Seed, a, b, c string) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	h.WriteString(a)
	h.WriteByte(0)
	h.WriteString(b)
	h.WriteByte(0)
	h.WriteString(c)
	return h.Sum64()
}
