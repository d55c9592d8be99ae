package smpp

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/smsgate/smsgate/smpp/pdu"
)

// readLoop owns the socket's read side: it matches responses to requests,
// answers the SMSC's requests (through the writer's control queue) and
// hands deliver_sm to the handler. It ends when the connection fails or is
// closed; the writer then tears the session down.
func (s *Session) readLoop() {
	defer close(s.readerDone)
	buf := make([]byte, 0, 1024)
	resetDeadline := true // renew at once; then on each writer tick
	for {
		// The deadline is renewed on each sweep tick rather than per read:
		// that costs no clock read per PDU, and it still fires only after
		// readTimeout - tick without a PDU.
		if resetDeadline || (s.refreshRead.Load() && s.refreshRead.Swap(false)) {
			if err := s.conn.SetReadDeadline(time.Now().Add(s.readTimeout)); err != nil {
				s.fail(fmt.Errorf("smpp: read: %w", err))
				return
			}
			resetDeadline = false
		}
		h, body, b, err := pdu.ReadFrame(s.br, buf, s.o.MaxPDU)
		buf = b
		if err != nil {
			var fe *pdu.FrameError
			if errors.As(err, &fe) {
				s.readActive.Store(true)
				s.onFrameError(fe)
				continue
			}
			// Includes pdu.ErrBadLength: the stream is out of step.
			switch {
			case errors.Is(err, pdu.ErrBadLength):
				s.m.pduError(kindBadLength)
			case errors.Is(err, pdu.ErrTruncated):
				s.m.pduError(kindTruncated)
			}
			s.fail(fmt.Errorf("smpp: read: %w", err))
			return
		}
		s.readActive.Store(true)
		switch h.ID {
		case pdu.SubmitSMResp:
			if !s.onSubmitResp(h, body, false) {
				s.unmatched()
			}
		case pdu.GenericNack:
			if !s.onNack(h) {
				s.unmatched()
			}
		case pdu.DeliverSM:
			if s.onDeliver(h, body) {
				resetDeadline = true // paused: the read deadline may be near
			}
		case pdu.EnquireLink:
			s.m.inboundKind("enquire_link")
			s.sendEmpty(pdu.EnquireLinkResp, pdu.StatusOK, h.Seq)
		case pdu.EnquireLinkResp:
			s.mu.Lock()
			if h.Seq == s.enquireSeq {
				s.enquireSeq = 0
			}
			s.mu.Unlock()
		case pdu.Unbind:
			s.m.inboundKind("unbind")
			s.onPeerUnbind(h)
		case pdu.UnbindResp:
			s.mu.Lock()
			ours := s.unbindSeq != 0 && h.Seq == s.unbindSeq
			s.mu.Unlock()
			if ours {
				s.unboundOnce.Do(func() { close(s.unbound) })
				s.fail(ErrClosed)
			}
		case pdu.AlertNotification:
			// Has no response by definition.
			s.m.inboundKind("alert_notification")
		default:
			if h.ID.IsResponse() {
				// Never nack a response: two peers doing that loop forever.
				s.m.pduError(kindUnexpectedResponse)
				s.log.Debug("smpp: unexpected response ignored", zap.Stringer("command", h.ID), zap.Uint32("seq", h.Seq))
				continue
			}
			s.m.pduError(kindUnknownCommand)
			s.log.Info("smpp: unsupported command answered with generic_nack", zap.Stringer("command", h.ID), zap.Uint32("seq", h.Seq))
			s.nack(pdu.ErrInvCmdID, h.Seq)
		}
	}
}

// unmatched notes a response that matches no outstanding request (late
// after its timeout, or bogus; smsgate_smpp_late_responses_total counts
// it). The writer's tick logs the count, so a burst is reported in full
// even when the stream goes quiet after it.
func (s *Session) unmatched() { s.unmatchedCount.Add(1) }

// logUnmatched writes one line per second at most with the responses that
// matched nothing since the last line.
func (s *Session) logUnmatched(now time.Time) {
	if now.Sub(s.unmatchedLogged) < time.Second {
		return
	}
	if n := s.unmatchedCount.Swap(0); n > 0 {
		s.log.Warn("smpp: responses matching no outstanding request (late or bogus)", zap.Int64("count", n))
		s.unmatchedLogged = now
	}
}

func (s *Session) nack(st pdu.Status, seq uint32) {
	inc(s.m.nackOut)
	s.sendEmpty(pdu.GenericNack, st, seq)
}

// onFrameError answers a PDU that was too large to read (the stream is
// still in step).
func (s *Session) onFrameError(fe *pdu.FrameError) {
	s.m.pduError(kindTooLarge)
	s.log.Warn("smpp: inbound PDU too large, discarded", zap.Stringer("command", fe.Header.ID),
		zap.Uint32("length", fe.Header.Length), zap.Int("max", s.o.MaxPDU))
	if !fe.Header.ID.IsResponse() {
		s.nack(pdu.ErrInvCmdLen, fe.Header.Seq)
		return
	}
	// An oversized response to one of our submits: its outcome is known
	// (the status is in the header) but the body is lost.
	if fe.Header.ID == pdu.SubmitSMResp {
		s.onSubmitResp(fe.Header, nil, true)
	}
}

// onSubmitResp resolves the submit the response answers. It reports
// whether one was outstanding.
func (s *Session) onSubmitResp(h pdu.Header, body []byte, truncated bool) bool {
	now := s.mono()
	s.mu.Lock()
	e := s.inflight[h.Seq]
	if e == nil {
		s.mu.Unlock()
		inc(s.m.late)
		return false
	}
	done, start := e.done, e.start
	s.removeLocked(e)
	s.mu.Unlock()

	r := Result{Outcome: Responded, Status: h.Status, Latency: now - start, Bind: s.o.BindIndex, Seq: h.Seq}
	if truncated {
		r.Err = fmt.Errorf("smpp: submit_sm_resp: %w", pdu.ErrTooLarge)
	} else if len(body) > 0 {
		var resp pdu.SMResp
		if err := resp.DecodeBody(body); err != nil {
			s.m.pduError(kindMalformed)
			r.Err = fmt.Errorf("smpp: submit_sm_resp: %w", err)
		} else {
			r.MessageID = resp.MessageID
		}
	}
	s.resolved(done, r)
	return true
}

// onNack resolves the request a generic_nack answers.
func (s *Session) onNack(h pdu.Header) bool {
	inc(s.m.nackIn)
	now := s.mono()
	s.mu.Lock()
	switch {
	case h.Seq != 0 && h.Seq == s.enquireSeq:
		s.enquireSeq = 0 // the peer is alive, if rude
		s.mu.Unlock()
		return true
	case h.Seq != 0 && h.Seq == s.unbindSeq:
		s.mu.Unlock()
		s.unboundOnce.Do(func() { close(s.unbound) })
		s.fail(ErrClosed)
		return true
	}
	e := s.inflight[h.Seq]
	if e == nil {
		s.mu.Unlock()
		s.log.Info("smpp: generic_nack matching no request", zap.Uint32("seq", h.Seq), zap.String("status", h.Status.Hex()))
		return false
	}
	done, start := e.done, e.start
	s.removeLocked(e)
	s.mu.Unlock()
	s.resolved(done, Result{Outcome: Responded, Status: h.Status, Nack: true, Latency: now - start, Bind: s.o.BindIndex, Seq: h.Seq})
	return true
}

// resolved completes one answered submit (slot, metrics, throttle hook,
// callback) on the reader goroutine.
func (s *Session) resolved(done func(Result), r Result) {
	<-s.slots
	s.m.resolved(&r)
	if r.Status.Throttling() {
		inc(s.m.throttled)
		if s.o.OnThrottle != nil {
			s.o.OnThrottle(r.Status)
		}
	}
	done(r)
}

// onDeliver decodes a deliver_sm and hands it to the handler, waiting for
// a free un-acked slot first (backpressure). blocked reports that it had
// to wait; ok false means the session is ending.
func (s *Session) onDeliver(h pdu.Header, body []byte) (paused bool) {
	if !s.o.Mode.canReceive() {
		s.m.pduError(kindWrongBind)
		s.sendDeliverResp(pdu.ErrInvBndSts, h.Seq)
		return false
	}
	d := &pdu.SM{ID: pdu.DeliverSM}
	if err := d.DecodeBody(body); err != nil {
		s.m.pduError(kindMalformed)
		st := pdu.ErrInvCmdLen
		if errors.Is(err, pdu.ErrBadTLV) {
			st = pdu.ErrInvOptParStream
		}
		s.log.Warn("smpp: malformed deliver_sm answered with generic_nack", zap.Uint32("seq", h.Seq), zap.Error(err))
		s.nack(st, h.Seq)
		return false
	}
	if d.IsReceipt() {
		s.m.inboundKind("receipt")
	} else {
		s.m.inboundKind("mo")
	}
	ok, paused := s.admitDeliver()
	if !ok {
		inc(s.m.deliverRefused)
		s.sendDeliverResp(pdu.ErrThrottled, h.Seq)
		return paused
	}
	a := &deliverAck{s: s, seq: h.Seq}
	s.o.Handler.HandleDeliver(&s.info, d, a.ack)
	return paused
}

// admitDeliver takes an un-acked slot for a deliver_sm. At the bound the
// reader first waits (TCP backpressure slows the SMSC, nothing is
// refused), but at most MaxReadPause: a longer pause would leave our own
// submit_sm_resp unread until submits time out into unknown outcomes.
// Past it, deliver_sm are refused ESME_RTHROTTLED (the SMSC delivers them
// again) without waiting, until one finds room.
func (s *Session) admitDeliver() (ok, paused bool) {
	select {
	case s.unacked <- struct{}{}:
		s.refusing = false
		return true, false
	default:
	}
	if s.refusing {
		return false, false
	}
	s.log.Debug("smpp: un-acked deliver_sm at MaxUnacked; reading paused")
	t := time.NewTimer(s.o.MaxReadPause)
	defer t.Stop()
	select {
	case s.unacked <- struct{}{}:
		return true, true
	case <-t.C:
		s.refusing = true
		s.log.Warn("smpp: inbound side behind for max_read_pause; refusing deliver_sm with ESME_RTHROTTLED until it catches up",
			zap.Int("unacked", cap(s.unacked)), zap.Duration("paused", s.o.MaxReadPause))
		return false, true
	case <-s.dying:
		return false, true
	}
}

// deliverAck is the ack handed out with one deliver_sm.
type deliverAck struct {
	s    *Session
	seq  uint32
	used atomic.Bool
}

func (a *deliverAck) ack(st pdu.Status) {
	if !a.used.CompareAndSwap(false, true) {
		return
	}
	s := a.s
	s.sendDeliverResp(st, a.seq)
	<-s.unacked
	s.mu.Lock()
	if s.closing {
		s.signalDrain()
	}
	s.mu.Unlock()
}

// sendDeliverResp queues a deliver_sm_resp; a no-op once the session is
// ending.
func (s *Session) sendDeliverResp(st pdu.Status, seq uint32) {
	s.queueCtrl(func(b []byte) []byte {
		b, start := pdu.AppendHeader(b, pdu.DeliverSMResp, st, seq)
		if st == pdu.StatusOK {
			b = append(b, 0) // message_id: unused, NULL
		}
		return pdu.Finish(b, start)
	})
}

// onPeerUnbind answers the SMSC's unbind and ends the session once the
// answer is written. Submits not yet written never will be: NotSent.
func (s *Session) onPeerUnbind(h pdu.Header) {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return
	}
	s.stopSubmitsLocked()
	for _, q := range s.pending {
		if q.e.live && q.e.seq == q.seq {
			q.e.notSent = true
		}
	}
	clear(s.pending)
	s.pending = s.pending[:0]
	s.sub = s.sub[:0]
	s.ctrl = pdu.AppendEmpty(s.ctrl, pdu.UnbindResp, pdu.StatusOK, h.Seq)
	s.exitAfterFlush = true
	s.wakeSet = true
	s.mu.Unlock()
	s.wakeWriter()
	s.log.Info("smpp: SMSC sent unbind")
}
