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
	// held: counted once in smsgate_account_throttled_total.
	held bool
}

// queue is one operator's in-memory queue, bounded in messages. It holds
// only what the operator's binds can send soon; what must wait longer is
// parked in Postgres.
//
// Order: priority first (9 to 0); within a priority, accounts take turns
// by deficit round robin — each visit adds weight × quantumParts to the
// account's deficit, and its messages go while their parts fit — so one
// account's backlog delays another's next message by at most one round
// (the sum of the weights, in parts). One account's messages keep their
// order within a priority. An account over its tps is skipped and keeps
// its messages; the others go on.
//
// Admission: below the bound every message is taken. At the bound an
// account below its fair share of the queue (cap × weight ÷ the weights of
// the accounts queued) is still admitted, up to twice the bound, so a
// backlog of one account cannot make another's messages wait or be parked
// behind it; an account at or above its share is refused (Stage.Offer
// parks it at once).
type queue struct {
	mu     sync.Mutex
	levels [10]level
	accts  map[string]*acctQ
	last   *acctQ        // the account of the last push: bursts skip the map
	gates  *accountGates // nil: every account weight 1, no tps cap
	n      int
	cap    int
	// weights is the sum of the weights of the accounts with messages here.
	weights int
	// takes numbers take calls: an account found over its tps is skipped
	// for the rest of that take, at every priority.
	takes uint64
	// fullSince is when the queue last refused a message without being
	// drained since (zero: it has room): a queue that stays full is not
	// waited on.
	fullSince time.Time
	// work is signalled (cap 1) when messages arrive; room when taken.
	work chan struct{}
	room chan struct{}
}

// quantumParts is what one visit adds to a weight-1 account's deficit: one
// part keeps rounds short (a round is the sum of the weights in parts).
const quantumParts = 1

// level is one priority: the round of accounts with messages at it.
type level struct {
	round ring[*flow] // the front is the account being visited
	// granted: the front's quantum for this visit was added (a take that
	// ran out of room mid-visit lets the next one go on with it).
	granted bool
}

// flow is one account's FIFO at one priority.
type flow struct {
	a       *acctQ
	msgs    ring[queued]
	deficit int
}

// acctQ is one account's part of the queue.
type acctQ struct {
	name  string
	gate  *acctGate
	n     int // messages queued, every priority
	w     int // weight counted in queue.weights while n > 0
	stamp uint64
	flows [10]flow
}

func newQueue(capacity int, gates *accountGates) *queue {
	return &queue{cap: max(capacity, 1), gates: gates, accts: map[string]*acctQ{},
		work: make(chan struct{}, 1), room: make(chan struct{}, 1)}
}

// ring is a growable FIFO.
type ring[T any] struct {
	buf        []T
	head, size int
}

func (r *ring[T]) push(x T) {
	if r.size == len(r.buf) {
		n := max(2*len(r.buf), 16)
		nb := make([]T, n)
		for i := 0; i < r.size; i++ {
			nb[i] = r.buf[(r.head+i)%len(r.buf)]
		}
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.size)%len(r.buf)] = x
	r.size++
}

func (r *ring[T]) pop() T {
	var zero T
	x := r.buf[r.head]
	r.buf[r.head] = zero
	r.head = (r.head + 1) % len(r.buf)
	r.size--
	return x
}

func (r *ring[T]) front() *T { return &r.buf[r.head] }

// acct returns the account's part of the queue; made once per account
// (accounts are bounded by the config).
func (qu *queue) acct(name string) *acctQ {
	if a := qu.last; a != nil && a.name == name {
		return a
	}
	if a := qu.accts[name]; a != nil {
		qu.last = a
		return a
	}
	a := &acctQ{name: name, gate: qu.gates.get(name)}
	qu.last = a
	for i := range a.flows {
		a.flows[i].a = a
	}
	qu.accts[name] = a
	return a
}

func (qu *queue) push(a *acctQ, q queued) {
	f := &a.flows[min(q.m.Priority, 9)]
	if f.msgs.size == 0 {
		qu.levels[min(q.m.Priority, 9)].round.push(f)
	}
	f.msgs.push(q)
	if a.n == 0 {
		a.w = a.gate.weightOf()
		qu.weights += a.w
	}
	a.n++
	qu.n++
}

func (qu *queue) popFrom(f *flow) queued {
	q := f.msgs.pop()
	a := f.a
	a.n--
	qu.n--
	if a.n == 0 {
		qu.weights -= a.w
	}
	return q
}

// share is a's fair share of the bound: cap × its weight ÷ the weights of
// the accounts queued, a included.
func (qu *queue) share(a *acctQ) int {
	w := a.gate.weightOf()
	others := qu.weights
	if a.n > 0 {
		others -= a.w
	}
	return qu.cap * w / (others + w)
}

// tryPush adds q when there is room, or when its account is below its
// fair share and the queue below twice its bound.
func (qu *queue) tryPush(q queued, now time.Time) bool {
	qu.mu.Lock()
	a := qu.acct(q.m.Account)
	if qu.n >= qu.cap && (qu.n >= 2*qu.cap || a.n >= qu.share(a)) {
		if qu.fullSince.IsZero() {
			qu.fullSince = now
		}
		qu.mu.Unlock()
		return false
	}
	qu.push(a, q)
	qu.mu.Unlock()
	signal(qu.work)
	return true
}

// overShare: account holds at least its fair share of a full queue;
// waiting for room would only hold up the records behind its own.
func (qu *queue) overShare(account string) bool {
	qu.mu.Lock()
	defer qu.mu.Unlock()
	a := qu.acct(account)
	return qu.n >= qu.cap && a.n >= qu.share(a)
}

// pushBack returns messages taken but not journaled, and parked messages
// taken back; the bound may be exceeded by them.
func (qu *queue) pushBack(qs []queued) {
	qu.mu.Lock()
	for _, q := range qs {
		qu.push(qu.acct(q.m.Account), q)
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

// take removes up to n messages: highest priority first, accounts in turn
// within a priority, none of an account over its tps. wait > 0 says when
// the first account skipped for its tps will have tokens again (the
// journaler sleeps until then when nothing else could be taken).
func (qu *queue) take(dst []queued, n int, now time.Time) (_ []queued, wait time.Duration) {
	qu.mu.Lock()
	qu.takes++
	for p := 9; p >= 0 && n > 0; p-- {
		dst, n, wait = qu.takeLevel(&qu.levels[p], dst, n, now, wait)
	}
	if qu.n < qu.cap {
		qu.fullSince = time.Time{}
	}
	qu.mu.Unlock()
	signal(qu.room)
	return dst, wait
}

// takeLevel runs the round of one priority until n are taken, it is empty,
// or every account left in it is over its tps.
func (qu *queue) takeLevel(lv *level, dst []queued, n int, now time.Time, wait time.Duration) ([]queued, int, time.Duration) {
	blocked := 0 // consecutive visits to accounts over their tps
	for n > 0 && lv.round.size > 0 && blocked < lv.round.size {
		f := *lv.round.front()
		a := f.a
		if a.stamp == qu.takes {
			lv.next()
			blocked++
			continue
		}
		// Alone in the round: no turns to keep, and no empty visits while
		// a long message's deficit builds up.
		alone := lv.round.size == 1
		grant := 0
		if !lv.granted && !alone {
			grant = a.gate.weightOf() * quantumParts
			f.deficit += grant
			lv.granted = true
		}
		throttled, served := false, false
		for n > 0 && f.msgs.size > 0 {
			h := f.msgs.front()
			c := int(max(h.m.Parts, 1))
			if !alone && c > f.deficit {
				break
			}
			if ok, d := a.gate.take(c, now); !ok {
				throttled = true
				a.stamp = qu.takes
				if !h.held {
					h.held = true
					if a.gate.throttled != nil {
						a.gate.throttled.Inc()
					}
				}
				if wait == 0 || d < wait {
					wait = d
				}
				break
			}
			if !alone {
				f.deficit -= c
			}
			dst = append(dst, qu.popFrom(f))
			n--
			served = true
		}
		switch {
		case f.msgs.size == 0:
			// Out of the round; a deficit is not saved up while idle.
			lv.round.pop()
			f.deficit, lv.granted, blocked = 0, false, 0
		case throttled:
			if !served {
				f.deficit -= grant // no credit saved up while over its tps
			}
			lv.next()
			blocked++
		case n == 0 && !alone && int(max(f.msgs.front().m.Parts, 1)) <= f.deficit:
			// Out of room mid-visit: the next take goes on with this visit.
		default:
			lv.next()
			blocked = 0
		}
	}
	return dst, n, wait
}

// next ends the front's visit: it goes to the back of the round.
func (lv *level) next() {
	lv.round.push(lv.round.pop())
	lv.granted = false
}

// takeAll empties the queue (parking it), whatever the turns and caps.
func (qu *queue) takeAll() []queued {
	qu.mu.Lock()
	out := make([]queued, 0, qu.n)
	for p := 9; p >= 0; p-- {
		lv := &qu.levels[p]
		for lv.round.size > 0 {
			f := lv.round.pop()
			for f.msgs.size > 0 {
				out = append(out, qu.popFrom(f))
			}
			f.deficit = 0
		}
		lv.granted = false
	}
	qu.fullSince = time.Time{}
	qu.mu.Unlock()
	signal(qu.room)
	return out
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

// queuedByAccount adds each account's messages queued here to into.
func (qu *queue) queuedByAccount(into map[string]int) {
	qu.mu.Lock()
	defer qu.mu.Unlock()
	for name, a := range qu.accts {
		if a.n > 0 {
			into[name] += a.n
		}
	}
}
