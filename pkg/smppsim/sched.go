package smppsim

import (
	"sync"
	"time"
)

// Kinds of delayed event.
const (
	evResp            = iota + 1 // write resp to c
	evReceipt                    // route receipt p (origin c)
	evReceiptThenResp            // ReceiptFirst: route p, then write resp to c
	evRedeliver                  // route receipt p again after a NACK
)

// event is one delayed action. seq breaks ties so that events due at the
// same instant fire in the order they were added (responses with equal
// delays stay in submit order).
type event struct {
	at         int64 // UnixNano
	seq        uint64
	kind       uint8
	closeAfter bool
	c          *conn
	p          *outPDU
	resp       []byte
}

// scheduler is a bounded min-heap of events served by one goroutine with
// one timer: no goroutine or time.AfterFunc per message.
type scheduler struct {
	mu   sync.Mutex
	h    []event
	n    uint64
	max  int
	wake chan struct{}
}

func newScheduler(max int) *scheduler {
	return &scheduler{max: max, wake: make(chan struct{}, 1)}
}

// add queues e; false when the heap is full.
func (s *scheduler) add(e event) bool {
	s.mu.Lock()
	if len(s.h) >= s.max {
		s.mu.Unlock()
		return false
	}
	s.n++
	e.seq = s.n
	s.h = append(s.h, e)
	s.up(len(s.h) - 1)
	first := s.h[0].seq == e.seq
	s.mu.Unlock()
	if first {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return true
}

func (s *scheduler) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.h)
}

func less(a, b *event) bool {
	return a.at < b.at || (a.at == b.at && a.seq < b.seq)
}

func (s *scheduler) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !less(&s.h[i], &s.h[p]) {
			return
		}
		s.h[i], s.h[p] = s.h[p], s.h[i]
		i = p
	}
}

func (s *scheduler) down(i int) {
	n := len(s.h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && less(&s.h[r], &s.h[l]) {
			m = r
		}
		if !less(&s.h[m], &s.h[i]) {
			return
		}
		s.h[i], s.h[m] = s.h[m], s.h[i]
		i = m
	}
}

func (s *scheduler) pop() event {
	e := s.h[0]
	last := len(s.h) - 1
	s.h[0] = s.h[last]
	s.h[last] = event{}
	s.h = s.h[:last]
	if last > 0 {
		s.down(0)
	}
	return e
}

// run fires due events until done is closed. Events still queued then are
// discarded (the server is closing).
func (s *scheduler) run(done <-chan struct{}, fire func(event)) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	var due []event
	for {
		select {
		case <-done:
			return
		default:
		}
		now := time.Now().UnixNano()
		s.mu.Lock()
		for len(s.h) > 0 && s.h[0].at <= now && len(due) < 4096 {
			due = append(due, s.pop())
		}
		wait := time.Duration(-1)
		if len(s.h) > 0 {
			wait = time.Duration(s.h[0].at - now)
		}
		s.mu.Unlock()
		if len(due) > 0 {
			for i := range due {
				fire(due[i])
				due[i] = event{}
			}
			due = due[:0]
			continue
		}
		if wait < 0 {
			wait = time.Hour
		}
		t.Reset(wait)
		select {
		case <-done:
			return
		case <-s.wake:
		case <-t.C:
		}
	}
}
