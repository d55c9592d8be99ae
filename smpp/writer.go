package smpp

import (
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/smsgate/smsgate/smpp/pdu"
)

// writeLoop owns the socket's write side. Producers append encoded PDUs to
// s.ctrl / s.sub under s.mu and wake it; it swaps those buffers for its
// spare ones and writes everything queued in one Write, so a burst costs
// one syscall. The same goroutine runs the periodic sweep (response
// timeouts, enquire_link) and, at the end, the teardown.
func (s *Session) writeLoop() {
	t := time.NewTicker(s.tick)
	defer t.Stop()
	var err error
loop:
	for {
		select {
		case <-s.wake:
		case now := <-t.C:
			if err = s.onTick(now); err != nil {
				break loop
			}
		case <-s.dying:
			break loop
		}
		exit, ferr := s.flush()
		if ferr != nil {
			err = ferr
			break
		}
		if exit {
			err = ErrPeerUnbind
			break
		}
	}
	if err != nil {
		s.fail(err)
	}
	s.teardown()
}

// flush writes whatever is queued. exit reports that the session must end
// now (peer unbind answered).
func (s *Session) flush() (exit bool, err error) {
	s.mu.Lock()
	s.wakeSet = false
	ctrl, sub, batch := s.ctrl, s.sub, s.pending
	if len(ctrl)+len(sub) == 0 {
		exit = s.exitAfterFlush
		s.mu.Unlock()
		return exit, nil
	}
	s.ctrl, s.sub, s.pending = s.ctrl2[:0], s.sub2[:0], s.pending2[:0]
	s.mu.Unlock()

	w := sub
	switch {
	case len(sub) == 0:
		w = ctrl
	case len(ctrl) > 0:
		// Responses first: they free the SMSC's window for us.
		s.wbuf = append(append(s.wbuf[:0], ctrl...), sub...)
		w = s.wbuf
	}
	subStart := len(w) - len(sub)
	if h := s.o.hooks; h != nil && h.beforeWrite != nil {
		h.beforeWrite()
	}
	var n int
	select {
	case <-s.dying:
		// The session already ended (the reader saw EOF or an error):
		// writing now could put a PDU on a dead socket whose outcome we
		// would then have to call unknown. Not writing keeps it NotSent.
		err = ErrClosed
	default:
		err = s.conn.SetWriteDeadline(time.Now().Add(s.o.WriteTimeout))
		if err == nil {
			n, err = s.conn.Write(w)
		}
	}

	s.mu.Lock()
	if err != nil {
		// A submit_sm not wholly handed to the kernel cannot have reached
		// the SMSC: safe to retry.
		for _, q := range batch {
			if subStart+q.end > n && q.e.live && q.e.seq == q.seq {
				q.e.notSent = true
			}
		}
	}
	clear(batch)
	s.ctrl2, s.sub2, s.pending2 = ctrl[:0], sub[:0], batch[:0]
	exit = s.exitAfterFlush && len(s.ctrl) == 0
	s.mu.Unlock()
	if err != nil {
		return true, fmt.Errorf("smpp: write: %w", err)
	}
	return exit, nil
}

// onTick expires submits older than RespTimeout (outcome Unknown, slot
// freed) and runs the enquire_link state machine. It returns
// ErrEnquireLinkTimeout when the link is dead.
func (s *Session) onTick(now time.Time) error {
	if s.readActive.Swap(false) {
		s.lastRead = now
	}
	s.refreshRead.Store(true)
	s.logUnmatched(now)
	mono := now.Sub(s.epoch)
	cbs := s.cbs[:0]
	var err error
	s.mu.Lock()
	for e := s.head; e != nil && mono-e.start >= s.o.RespTimeout; e = s.head {
		cbs = append(cbs, callback{done: e.done, res: Result{Outcome: Unknown, Err: ErrRespTimeout, Latency: mono - e.start, Bind: s.o.BindIndex, Seq: e.seq}})
		s.removeLocked(e)
	}
	if len(cbs) > 0 && !s.suspect.Load() {
		s.suspect.Store(true)
		s.suspectAt = now
	} else if s.suspect.Load() && s.lastRead.After(s.suspectAt) {
		s.suspect.Store(false) // the peer spoke again
	}
	if s.enquireSeq != 0 {
		switch {
		case s.lastRead.After(s.enquireAt):
			// Something arrived since: the link is alive, whatever became
			// of the enquire_link_resp.
			s.enquireSeq = 0
		case now.Sub(s.enquireAt) >= s.o.EnquireLinkTimeout:
			err = ErrEnquireLinkTimeout
		}
	}
	if s.enquireSeq == 0 && err == nil && s.err == nil && (now.Sub(s.lastRead) >= s.o.EnquireLink || s.suspect.Load()) {
		s.enquireSeq = s.nextSeqLocked()
		s.enquireAt = now
		s.ctrl = pdu.AppendEmpty(s.ctrl, pdu.EnquireLink, 0, s.enquireSeq)
	}
	s.mu.Unlock()
	if len(cbs) > 0 {
		s.log.Warn("smpp: submit_sm unanswered within resp_timeout: outcome unknown; no new submits on this bind until the SMSC answers", zap.Int("count", len(cbs)))
	}
	s.finish(cbs)
	s.cbs = cbs[:0]
	return err
}
