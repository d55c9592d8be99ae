package dispatch

import (
	"sync"
	"time"

	"github.com/smsgate/smsgate/internal/message"
)

// queued is a message waiting in an operator's queue with the callback
// that settles its Kafka record once it is journaled or parked (nil for
// messages taken from the parked set).
type queued struct {
	m      *message.Message
	settle func()
}

// queue is one operator's in-memory queue: a FIFO per priority (0–9),
// highest first, bounded in messages. It holds only what the operator's
// binds can send soon; what must wait longer is parked in Postgres.
type queue struct {
	mu    sync.Mutex
	lanes [10]ring
	n     int
	cap   int
	// fullSince is when the queue last filled up without being drained
	// since (zero: it has room): a queue that stays full is not waited on.
	fullSince time.Time
	// work is signalled (cap 1) when messages arrive; room when taken.
	work chan struct{}
	room chan struct{}
}

func newQueue(capacity int) *queue {
	return &queue{cap: max(capacity, 1), work: make(chan struct{}, 1), room: make(chan struct{}, 1)}
}

// ring is a growable FIFO.
type ring struct {
	buf        []queued
	head, size int
}

func (r *ring) push(q queued) {
	if r.size == len(r.buf) {
		n := max(2*len(r.buf), 64)
		nb := make([]queued, n)
		for i := 0; i < r.size; i++ {
			nb[i] = r.buf[(r.head+i)%len(r.buf)]
		}
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.size)%len(r.buf)] = q
	r.size++
}

func (r *ring) pop() queued {
	q := r.buf[r.head]
	r.buf[r.head] = queued{}
	r.head = (r.head + 1) % len(r.buf)
	r.size--
	return q
}

// tryPush adds q when there is room.
func (qu *queue) tryPush(q queued, now time.Time) bool {
	qu.mu.Lock()
	if qu.n >= qu.cap {
		if qu.fullSince.IsZero() {
			qu.fullSince = now
		}
		qu.mu.Unlock()
		return false
	}
	qu.lanes[min(q.m.Priority, 9)].push(q)
	qu.n++
	qu.mu.Unlock()
	signal(qu.work)
	return true
}

// pushFront returns messages taken but not journaled (highest priority
// first keeps its place); the bound may be exceeded by them.
func (qu *queue) pushBack(qs []queued) {
	qu.mu.Lock()
	for _, q := range qs {
		qu.lanes[min(q.m.Priority, 9)].push(q)
		qu.n++
	}
	qu.mu.Unlock()
	signal(qu.work)
}

// stuckFor is how long the queue has been full without draining.
func (qu *queue) stuckFor(now time.Time) time.Duration {
	qu.mu.Lock()
	defer qu.mu.Unlock()
	if qu.fullSince.IsZero() {
		return 0
	}
	return now.Sub(qu.fullSince)
}

// take removes up to n messages, highest priority first.
func (qu *queue) take(dst []queued, n int) []queued {
	qu.mu.Lock()
	for p := 9; p >= 0 && n > 0; p-- {
		l := &qu.lanes[p]
		for l.size > 0 && n > 0 {
			dst = append(dst, l.pop())
			qu.n--
			n--
		}
	}
	if qu.n < qu.cap {
		qu.fullSince = time.Time{}
	}
	qu.mu.Unlock()
	signal(qu.room)
	return dst
}

// takeAll empties the queue.
func (qu *queue) takeAll() []queued {
	qu.mu.Lock()
	n := qu.n
	qu.mu.Unlock()
	return qu.take(nil, n)
}

func (qu *queue) len() int {
	qu.mu.Lock()
	defer qu.mu.Unlock()
	return qu.n
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
