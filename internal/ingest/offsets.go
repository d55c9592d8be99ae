package ingest

import (
	"sync"
	"sync/atomic"
)

// tracker follows, per partition, the records read and not yet settled.
// A record is settled once its outcome is durable: journaled (an intent
// row), parked, rejected with its row written, or in the DLQ. The offset
// committed for a partition is the first record that is not settled, so a
// committed offset never passes a record that could be lost (invariant 1).
// One goroutine polls (add), many settle, one commits (committable).
type tracker struct {
	mu    sync.Mutex
	parts map[int32]*partTrack
	// open counts records read and not settled, over all partitions: the
	// consumer stops polling above its bound (memory, invariant 6).
	open atomic.Int64
	// slab: entries are allocated 256 at a time (add is on every record).
	slab []entry
}

type partTrack struct {
	entries []*entry // offsets increasing
	next    int64    // offset to commit: every record below it is settled
	dirty   bool     // next moved since the last commit
}

type entry struct {
	off  int64
	done atomic.Bool
	t    *tracker
	// gone: the partition was revoked; settling only fixes the counter.
	gone atomic.Bool
}

// settle marks the record settled; safe to call more than once.
func (e *entry) settle() {
	if e.done.CompareAndSwap(false, true) {
		e.t.open.Add(-1)
	}
}

func newTracker() *tracker { return &tracker{parts: map[int32]*partTrack{}} }

// add records a record read at off in partition p and returns its handle.
func (t *tracker) add(p int32, off int64) *entry {
	t.open.Add(1)
	t.mu.Lock()
	if len(t.slab) == 0 {
		t.slab = make([]entry, 256)
	}
	e := &t.slab[0]
	t.slab = t.slab[1:]
	e.off, e.t = off, t
	pt := t.parts[p]
	if pt == nil {
		pt = &partTrack{next: off}
		t.parts[p] = pt
	}
	pt.entries = append(pt.entries, e)
	t.mu.Unlock()
	return e
}

// committable advances each partition past its settled head and returns
// the offsets to commit (next record to read) of the partitions that moved.
func (t *tracker) committable() map[int32]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out map[int32]int64
	for p, pt := range t.parts {
		i := 0
		for i < len(pt.entries) && pt.entries[i].done.Load() {
			pt.next = pt.entries[i].off + 1
			i++
		}
		if i > 0 {
			clear(pt.entries[:i])
			pt.entries = pt.entries[i:]
			if len(pt.entries) == 0 {
				pt.entries = nil // let the backing array go
			}
			pt.dirty = true
		}
		if pt.dirty {
			if out == nil {
				out = map[int32]int64{}
			}
			out[p] = pt.next
		}
	}
	return out
}

// committed clears the dirty marks of the offsets that were committed.
func (t *tracker) committed(offs map[int32]int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for p, off := range offs {
		if pt := t.parts[p]; pt != nil && pt.next == off {
			pt.dirty = false
		}
	}
}

// drop forgets partitions that were revoked or lost: records of theirs
// still in flight settle into nothing (the new owner reads them again and
// the journal recognises those already written).
func (t *tracker) drop(ps []int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range ps {
		pt := t.parts[p]
		if pt == nil {
			continue
		}
		for _, e := range pt.entries {
			e.gone.Store(true)
			if e.done.CompareAndSwap(false, true) {
				t.open.Add(-1)
			}
		}
		delete(t.parts, p)
	}
}

// unsettled returns how many records are read and not settled.
func (t *tracker) unsettled() int64 { return t.open.Load() }
