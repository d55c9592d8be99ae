package protect

import (
	"errors"
	"fmt"
	"iter"
	"math/bits"
	"sync"
	"sync/atomic"
)

// ErrBadNumber is wrapped by Blocklist methods for a number that is not
// 1–15 digits (a leading '+' allowed).
var ErrBadNumber = errors.New("not an E.164 number")

// Blocklist is a set of E.164 numbers built for millions of entries and
// reads from every message: Contains takes no lock and allocates nothing.
//
// Numbers are stored as uint64 keys in an open-addressing hash table
// (linear probing, load ≤ 3/4): 8 bytes per slot, 16 MiB for one million
// numbers. Writers (Add, Remove, Replace) are serialised by a mutex and
// write slots with atomic stores; readers load slots atomically, so a
// reader that overlaps a write sees the number either before or after it.
// A table that fills up is rebuilt off to the side and swapped in
// atomically.
type Blocklist struct {
	mu  sync.Mutex // writers only
	tab atomic.Pointer[numTable]
	n   atomic.Int64
}

const (
	slotEmpty = 0
	slotTomb  = 1 // removed: probing continues past it
	minSlots  = 1 << 10
)

type numTable struct {
	slots []atomic.Uint64
	mask  uint64
	shift uint
	used  int // live + tombstones; writers only
}

func newNumTable(n int) *numTable {
	size := minSlots
	for size*3/4 < n+1 {
		size <<= 1
	}
	return &numTable{
		slots: make([]atomic.Uint64, size),
		mask:  uint64(size - 1),
		shift: uint(64 - bits.TrailingZeros(uint(size))),
	}
}

// NewBlocklist returns an empty Blocklist.
func NewBlocklist() *Blocklist {
	b := &Blocklist{}
	b.tab.Store(newNumTable(0))
	return b
}

// numberKey turns 1–15 digits (a leading '+' ignored) into a key: the
// digits read as a decimal number with a 1 in front, so that leading zeros
// stay distinct. Keys are ≥ 10, clear of the empty and tombstone markers.
func numberKey(s string) (uint64, bool) {
	if len(s) > 0 && s[0] == '+' {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 15 {
		return 0, false
	}
	k := uint64(1)
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		k = k*10 + uint64(c)
	}
	return k, true
}

func (t *numTable) home(k uint64) uint64 { return (k * 0x9E3779B97F4A7C15) >> t.shift }

func (t *numTable) has(k uint64) bool {
	for i := t.home(k); ; i = (i + 1) & t.mask {
		switch t.slots[i].Load() {
		case k:
			return true
		case slotEmpty:
			return false
		}
	}
}

// insert adds k (writers only); false if present.
func (t *numTable) insert(k uint64) bool {
	free := -1
	for i := t.home(k); ; i = (i + 1) & t.mask {
		switch t.slots[i].Load() {
		case k:
			return false
		case slotTomb:
			if free < 0 {
				free = int(i)
			}
		case slotEmpty:
			if free >= 0 {
				t.slots[free].Store(k) // reuses a tombstone: used unchanged
			} else {
				t.slots[i].Store(k)
				t.used++
			}
			return true
		}
	}
}

// remove deletes k (writers only); false if absent.
func (t *numTable) remove(k uint64) bool {
	for i := t.home(k); ; i = (i + 1) & t.mask {
		switch t.slots[i].Load() {
		case k:
			t.slots[i].Store(slotTomb)
			return true
		case slotEmpty:
			return false
		}
	}
}

// Contains reports whether number (E.164 digits, a leading '+' ignored) is
// in the list. A malformed number is not.
func (b *Blocklist) Contains(number string) bool {
	k, ok := numberKey(number)
	return ok && b.tab.Load().has(k)
}

// Add puts number in the list; added is false when it was there already.
func (b *Blocklist) Add(number string) (added bool, err error) {
	k, ok := numberKey(number)
	if !ok {
		return false, fmt.Errorf("blocklist add %q: %w", number, ErrBadNumber)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.tab.Load()
	if t.has(k) {
		return false, nil
	}
	if (t.used+1)*4 > len(t.slots)*3 {
		t = b.rebuild(t, int(b.n.Load())+1)
	}
	t.insert(k)
	b.n.Add(1)
	return true, nil
}

// Remove takes number out of the list; removed is false when it was not
// there.
func (b *Blocklist) Remove(number string) (removed bool, err error) {
	k, ok := numberKey(number)
	if !ok {
		return false, fmt.Errorf("blocklist remove %q: %w", number, ErrBadNumber)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.tab.Load().remove(k) {
		return false, nil
	}
	b.n.Add(-1)
	return true, nil
}

// rebuild copies the live keys of t into a table sized for n keys (plus
// growth room) and publishes it. Called with mu held.
func (b *Blocklist) rebuild(t *numTable, n int) *numTable {
	nt := newNumTable(n + n/2)
	for i := range t.slots {
		if k := t.slots[i].Load(); k > slotTomb {
			nt.insert(k)
		}
	}
	b.tab.Store(nt)
	return nt
}

// Replace makes the list exactly the numbers of seq (a bulk load, e.g. from
// Postgres at start or after an import): the new set is built off to the
// side while readers keep using the old one, then swapped in. Malformed
// numbers are skipped and counted; duplicates count once in n.
// Add and Remove wait while it builds, so none is lost by the swap.
func (b *Blocklist) Replace(seq iter.Seq[string]) (n, invalid int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	keys := make([]uint64, 0, 1024)
	for s := range seq {
		k, ok := numberKey(s)
		if !ok {
			invalid++
			continue
		}
		keys = append(keys, k)
	}
	// Sized with half again as room for Adds before the next rebuild.
	t := newNumTable(len(keys) + len(keys)/2)
	for _, k := range keys {
		if t.insert(k) {
			n++
		}
	}
	b.tab.Store(t)
	b.n.Store(int64(n))
	return n, invalid
}

// Len is the number of numbers in the list.
func (b *Blocklist) Len() int { return int(b.n.Load()) }

// TableBytes is the memory held by the table's slots.
func (b *Blocklist) TableBytes() int { return len(b.tab.Load().slots) * 8 }
