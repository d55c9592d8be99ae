package smpp

import (
	"time"

	"github.com/smsgate/smsgate/smpp/pdu"
)

// entry is one outstanding submit_sm. Entries live in s.inflight (by
// sequence number) and in a list ordered by queue time, which is also
// deadline order because every submit_sm has the same RespTimeout: the
// writer's sweep pops expired entries from the head, so there is no timer
// per PDU. Resolved entries go to a per-session free list (at most Window
// of them exist), so the steady state allocates nothing.
type entry struct {
	seq        uint32
	live       bool          // in s.inflight; false once resolved or on the free list
	notSent    bool          // the writer knows its bytes never reached the socket
	start      time.Duration // queue time, on the session's monotonic clock (s.mono)
	done       func(Result)
	prev, next *entry
}

// queued is a submit_sm whose bytes are in a write buffer; end is the
// offset just past them. seq detects an entry resolved and reused since.
type queued struct {
	e   *entry
	seq uint32
	end int
}

// callback is a done call collected under the lock and run outside it.
type callback struct {
	done func(Result)
	res  Result
}

// nextSeqLocked returns the next sequence number, 1..MaxSeq wrapping, that
// is not in use. The loop ends: at most Window+2 numbers are in use.
func (s *Session) nextSeqLocked() uint32 {
	for {
		seq := s.seq
		s.seq++
		if s.seq > pdu.MaxSeq || s.seq == 0 {
			s.seq = 1
		}
		if seq == 0 || seq == s.enquireSeq || seq == s.unbindSeq {
			continue
		}
		if _, busy := s.inflight[seq]; !busy {
			return seq
		}
	}
}

func (s *Session) newEntryLocked() *entry {
	e := s.free
	if e == nil {
		return &entry{}
	}
	s.free = e.next
	e.next = nil
	return e
}

// addLocked makes e outstanding under e.seq, at the tail of the deadline list.
func (s *Session) addLocked(e *entry) {
	e.live = true
	s.inflight[e.seq] = e
	e.prev = s.tail
	if s.tail != nil {
		s.tail.next = e
	} else {
		s.head = e
	}
	s.tail = e
	s.inflightN.Add(1)
}

// removeLocked takes e out of the window and puts it on the free list; the
// caller has copied what it needs (done, start).
func (s *Session) removeLocked(e *entry) {
	delete(s.inflight, e.seq)
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		s.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		s.tail = e.prev
	}
	*e = entry{next: s.free}
	s.free = e
	s.inflightN.Add(-1)
	if s.closing {
		s.signalDrain()
	}
}

// finish runs resolved callbacks: frees their window slots, records
// metrics, then calls done. Never called with s.mu held.
func (s *Session) finish(cbs []callback) {
	for i := range cbs {
		<-s.slots
		s.m.resolved(&cbs[i].res)
		cbs[i].done(cbs[i].res)
		cbs[i] = callback{}
	}
}

func (s *Session) signalDrain() {
	select {
	case s.drainSig <- struct{}{}:
	default:
	}
}
