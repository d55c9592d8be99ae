package smpp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/smsgate/smsgate/smpp/pdu"
)

// Session is one bound SMPP connection. It is safe for concurrent use.
// A Session is never reconnected: when it ends (Done is closed) make a new
// one with Dial; the Pool does that.
type Session struct {
	o           SessionOptions
	conn        net.Conn
	br          *bufio.Reader
	log         *zap.Logger
	m           opMetrics
	info        BindInfo
	tick        time.Duration
	epoch       time.Time // origin of mono()
	readTimeout time.Duration

	slots   chan struct{} // window semaphore: one token per outstanding submit_sm
	unacked chan struct{} // one token per deliver_sm handed to Handler and not yet acked

	unmatchedCount  atomic.Int64  // responses that matched no request, not yet logged
	unmatchedLogged time.Time     // writer's: last unmatched log line
	wake            chan struct{} // cap 1: the writer has bytes to send
	drainSig        chan struct{} // cap 1: during Close, a submit resolved or a deliver_sm was acked
	closingCh       chan struct{} // closed when the session stops taking submits
	dying           chan struct{} // closed by fail: the session is being torn down
	refusing        bool          // reader only: deliver_sm at MaxUnacked are refused without a pause
	readerDone      chan struct{}
	done            chan struct{} // closed when both goroutines ended and every callback ran
	unbound         chan struct{} // closed when our unbind is answered

	inflightN    atomic.Int32
	readActive   atomic.Bool // set by the reader per PDU, cleared by the writer's tick
	refreshRead  atomic.Bool // set by the writer's tick: the reader renews its read deadline
	notAccepting atomic.Bool // mirrors closing, for the Pool's lock-free pick
	// suspect: a submit went unanswered for RespTimeout and nothing was read
	// since. The Pool sends nothing new on it until the peer answers (an
	// enquire_link goes out at once); a half-open link would otherwise eat
	// a window of submits per RespTimeout, each ending unknown.
	suspect atomic.Bool

	failOnce, closingOnce, unboundOnce sync.Once

	mu             sync.Mutex
	err            error
	closing        bool // no new submits (Close, peer unbind, or fail)
	closeCalled    bool
	seq            uint32
	enquireSeq     uint32 // outstanding enquire_link, 0 if none
	enquireAt      time.Time
	unbindSeq      uint32 // our unbind, 0 if none
	inflight       map[uint32]*entry
	head, tail     *entry // outstanding submits, oldest first
	free           *entry
	ctrl           []byte   // queued responses, enquire_link, unbind: written first
	sub            []byte   // queued submit_sm
	pending        []queued // the submits in sub
	wakeSet        bool     // a wake is pending; saves a channel op per Submit under load
	exitAfterFlush bool     // peer unbind: end once ctrl is written

	// Writer-owned.
	ctrl2, sub2, wbuf []byte
	pending2          []queued
	cbs               []callback
	lastRead          time.Time
	suspectAt         time.Time
}

// Dial connects to o.Addr, binds, and starts the session's reader and
// writer goroutines. It returns a *BindError when the SMSC refuses the
// bind. ctx bounds the connect and the bind (besides DialTimeout and
// BindTimeout); it does not bound the session's life.
func Dial(ctx context.Context, o SessionOptions) (*Session, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: o.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("smpp: dial %s: %w", o.Addr, err)
	}
	if o.TLSConfig != nil {
		cfg := o.TLSConfig.Clone()
		if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
			host, _, _ := net.SplitHostPort(o.Addr)
			cfg.ServerName = host
		}
		tc := tls.Client(conn, cfg)
		hctx, cancel := context.WithTimeout(ctx, o.DialTimeout)
		err = tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("smpp: tls handshake with %s: %w", o.Addr, err)
		}
		conn = tc
	}
	s := newSession(o, conn)
	if err := s.bind(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	s.log.Info("smpp bound", zap.String("smsc_system_id", s.info.SMSCSystemID))
	s.lastRead = time.Now()
	go s.readLoop()
	go s.writeLoop()
	return s, nil
}

func newSession(o SessionOptions, conn net.Conn) *Session {
	s := &Session{
		o:          o,
		conn:       conn,
		br:         bufio.NewReaderSize(conn, 32<<10),
		log:        sessionLogger(o),
		m:          o.Metrics.forOperator(o.Operator),
		info:       BindInfo{Operator: o.Operator, Index: o.BindIndex, Mode: o.Mode},
		tick:       o.tickInterval(),
		epoch:      time.Now(),
		slots:      make(chan struct{}, o.Window),
		unacked:    make(chan struct{}, o.MaxUnacked),
		wake:       make(chan struct{}, 1),
		drainSig:   make(chan struct{}, 1),
		closingCh:  make(chan struct{}),
		dying:      make(chan struct{}),
		readerDone: make(chan struct{}),
		done:       make(chan struct{}),
		unbound:    make(chan struct{}),
		seq:        1,
		inflight:   make(map[uint32]*entry, o.Window),
		sub:        make([]byte, 0, 4096),
		sub2:       make([]byte, 0, 4096),
		pending:    make([]queued, 0, o.Window),
		pending2:   make([]queued, 0, o.Window),
		lastRead:   time.Now(),
	}
	// The read deadline is a backstop behind enquire_link: a healthy SMSC
	// sends something (at least an enquire_link_resp) within
	// EnquireLink + EnquireLinkTimeout.
	s.readTimeout = o.EnquireLink + o.EnquireLinkTimeout + 4*s.tick
	if o.hooks != nil && o.hooks.firstSeq != 0 {
		s.seq = o.hooks.firstSeq
	}
	return s
}

// bind performs the bind exchange synchronously, before the goroutines
// start.
func (s *Session) bind(ctx context.Context) error {
	deadline := time.Now().Add(s.o.BindTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	s.conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { s.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	wrap := func(what string, err error) error {
		var ne net.Error
		if ctx.Err() != nil {
			err = ctx.Err()
		} else if d, ok := ctx.Deadline(); ok && errors.As(err, &ne) && ne.Timeout() && !time.Now().Before(d) {
			// The socket deadline we took from ctx fired before ctx's own timer.
			err = context.DeadlineExceeded
		}
		return fmt.Errorf("smpp: bind %s: %s: %w", s.o.Addr, what, err)
	}

	id := s.o.Mode.bindID()
	seq := s.nextSeqLocked() // no other goroutine yet
	req := pdu.Append(nil, seq, 0, &pdu.Bind{ID: id, SystemID: s.o.SystemID, Password: s.o.Password,
		SystemType: s.o.SystemType, InterfaceVersion: 0x34, AddressRange: s.o.AddressRange})
	if _, err := s.conn.Write(req); err != nil {
		return wrap("write", err)
	}
	var buf []byte
	// A peer that never answers is cut by the deadline; one that chatters
	// without answering, by this bound.
	for range 64 {
		h, body, b, err := pdu.ReadFrame(s.br, buf, s.o.MaxPDU)
		buf = b
		var fe *pdu.FrameError
		if errors.As(err, &fe) {
			continue
		}
		if err != nil {
			return wrap("read", err)
		}
		switch {
		case h.ID == id.Response() && h.Seq == seq:
			if h.Status != pdu.StatusOK {
				return &BindError{Status: h.Status}
			}
			var r pdu.BindResp
			if r.DecodeBody(body) == nil {
				s.info.SMSCSystemID = r.SystemID
			}
			if !stop() {
				// ctx ended meanwhile and its AfterFunc poisoned the deadline.
				return wrap("cancelled", context.Cause(ctx))
			}
			if err := s.conn.SetDeadline(time.Time{}); err != nil {
				return wrap("deadline", err)
			}
			return nil
		case h.ID == pdu.GenericNack && h.Seq == seq:
			return &BindError{Status: h.Status, Nack: true}
		case h.ID == pdu.EnquireLink:
			if _, err := s.conn.Write(pdu.AppendEmpty(nil, pdu.EnquireLinkResp, 0, h.Seq)); err != nil {
				return wrap("write", err)
			}
		default:
			s.log.Debug("smpp: PDU before bind_resp ignored", zap.Stringer("command", h.ID), zap.Uint32("seq", h.Seq))
		}
	}
	return fmt.Errorf("smpp: bind %s: %w: no bind_resp", s.o.Addr, ErrProtocol)
}

// Submit queues sm as a submit_sm. It blocks while the window is full (it
// never rejects for a full window) and returns once the PDU is queued for
// the writer; sm may be reused as soon as Submit returns. done is then
// called exactly once, from an internal goroutine, with the outcome; it
// must return quickly (it runs on the reader or writer goroutine).
//
// Submit returns an error, and does not call done, only if ctx ends or
// the session is closing or closed (ErrClosed) before the PDU was queued,
// on a receiver bind (ErrReceiverBind), or when sm is invalid
// (short_message over 254 octets). The SubmitSM command id is used
// whatever sm.ID says.
func (s *Session) Submit(ctx context.Context, sm *pdu.SM, done func(Result)) error {
	if !s.o.Mode.canSubmit() {
		return ErrReceiverBind
	}
	if done == nil {
		return ErrNilCallback
	}
	if err := sm.Validate(); err != nil {
		return fmt.Errorf("smpp: submit: %w", err)
	}
	select {
	case s.slots <- struct{}{}:
	default:
		select {
		case s.slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closingCh:
			return ErrClosed
		case <-s.dying:
			return ErrClosed
		}
	}
	now := s.mono()
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		<-s.slots
		return ErrClosed
	}
	seq := s.nextSeqLocked()
	e := s.newEntryLocked()
	e.seq, e.start, e.done = seq, now, done
	s.addLocked(e)
	start := len(s.sub)
	s.sub, _ = pdu.AppendHeader(s.sub, pdu.SubmitSM, 0, seq)
	s.sub = sm.AppendBody(s.sub)
	s.sub = pdu.Finish(s.sub, start)
	s.pending = append(s.pending, queued{e: e, seq: seq, end: len(s.sub)})
	wake := !s.wakeSet
	s.wakeSet = true
	s.m.queued() // under the lock, so the gauge never sees the response first
	s.mu.Unlock()
	if wake {
		s.wakeWriter()
	}
	return nil
}

func (s *Session) wakeWriter() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// queueCtrl appends a PDU built by f to the control queue and wakes the
// writer. It reports false once the session is being torn down.
func (s *Session) queueCtrl(f func([]byte) []byte) bool {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return false
	}
	s.ctrl = f(s.ctrl)
	wake := !s.wakeSet
	s.wakeSet = true
	s.mu.Unlock()
	if wake {
		s.wakeWriter()
	}
	return true
}

// sendEmpty queues a body-less PDU (enquire_link_resp, generic_nack, ...).
func (s *Session) sendEmpty(id pdu.CommandID, st pdu.Status, seq uint32) {
	s.mu.Lock()
	if s.err == nil {
		s.ctrl = pdu.AppendEmpty(s.ctrl, id, st, seq)
		if !s.wakeSet {
			s.wakeSet = true
			s.mu.Unlock()
			s.wakeWriter()
			return
		}
	}
	s.mu.Unlock()
}

// stopSubmitsLocked makes Submit refuse new PDUs and wakes blocked ones.
func (s *Session) stopSubmitsLocked() {
	s.closing = true
	s.notAccepting.Store(true)
	s.closingOnce.Do(func() { close(s.closingCh) })
}

// fail starts the teardown: records err as the session's error, closes
// the connection (unblocking reader and writer). Later calls are no-ops.
func (s *Session) fail(err error) {
	s.failOnce.Do(func() {
		s.mu.Lock()
		s.err = err
		s.stopSubmitsLocked()
		s.mu.Unlock()
		close(s.dying)
		s.conn.Close()
		if errors.Is(err, ErrClosed) {
			s.log.Info("smpp session closed")
		} else {
			s.log.Warn("smpp session ended", zap.Error(err))
		}
	})
}

// teardown runs on the writer goroutine after fail: it waits for the
// reader, then resolves every outstanding submit (NotSent if its bytes
// never reached the socket, Unknown otherwise) and closes Done.
func (s *Session) teardown() {
	<-s.readerDone
	now := s.mono()
	s.mu.Lock()
	err := s.err
	for _, q := range s.pending {
		if q.e.live && q.e.seq == q.seq {
			q.e.notSent = true
		}
	}
	clear(s.pending)
	s.pending = s.pending[:0]
	cbs := s.cbs[:0]
	for e := s.head; e != nil; e = s.head {
		r := Result{Outcome: Unknown, Err: err, Latency: now - e.start, Bind: s.o.BindIndex, Seq: e.seq}
		if e.notSent {
			r.Outcome = NotSent
		}
		cbs = append(cbs, callback{done: e.done, res: r})
		s.removeLocked(e)
	}
	s.mu.Unlock()
	s.finish(cbs)
	s.cbs = cbs[:0]
	close(s.done)
}

// Close ends the session gracefully: it stops taking submits, waits
// (bounded by ctx) for the outstanding submit_sm to be answered and the
// deliver_sm handed to Handler to be acked, sends unbind and waits
// (bounded by ctx and EnquireLinkTimeout) for unbind_resp, then closes the
// connection. Submits still outstanding then resolve as Unknown (written)
// or NotSent. It returns when Done is closed: nil after a clean unbind,
// ctx's error if the drain was cut short, else the session's error. Safe
// to call more than once and after the session ended.
func (s *Session) Close(ctx context.Context) error {
	s.mu.Lock()
	s.stopSubmitsLocked()
	again := s.closeCalled
	s.closeCalled = true
	s.mu.Unlock()
	if again {
		select {
		case <-s.done:
			if err := s.Err(); !errors.Is(err, ErrClosed) {
				return err
			}
			return nil
		case <-ctx.Done():
			return fmt.Errorf("smpp: close: %w", ctx.Err())
		}
	}
	var result error
drain:
	for {
		s.mu.Lock()
		drained := s.head == nil && len(s.unacked) == 0
		s.mu.Unlock()
		if drained {
			break
		}
		select {
		case <-s.drainSig:
		case <-ctx.Done():
			result = fmt.Errorf("smpp: close: drain: %w", ctx.Err())
			break drain
		case <-s.dying:
			break drain
		}
	}
	if result == nil && s.queueCtrl(func(b []byte) []byte {
		s.unbindSeq = s.nextSeqLocked()
		return pdu.AppendEmpty(b, pdu.Unbind, 0, s.unbindSeq)
	}) {
		t := time.NewTimer(s.o.EnquireLinkTimeout)
		select {
		case <-s.unbound:
		case <-ctx.Done():
			result = fmt.Errorf("smpp: close: unbind: %w", ctx.Err())
		case <-s.dying:
		case <-t.C:
			result = fmt.Errorf("smpp: close: unbind: %w", ErrRespTimeout)
		}
		t.Stop()
	}
	s.fail(ErrClosed)
	<-s.done
	if result == nil {
		if err := s.Err(); !errors.Is(err, ErrClosed) {
			result = err
		}
	}
	return result
}

// Done is closed when the session has ended and every done callback has
// been called.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err returns why the session ended (ErrClosed after Close), or nil while
// it is up.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// InFlight returns the number of outstanding submit_sm.
func (s *Session) InFlight() int { return int(s.inflightN.Load()) }

// Window returns the session's window size.
func (s *Session) Window() int { return s.o.Window }

// Info describes the bind.
func (s *Session) Info() BindInfo { return s.info }

// mono is the time since the session started. It reads only the
// monotonic clock, half the cost of time.Now, which matters at two reads
// per message.
func (s *Session) mono() time.Duration { return time.Since(s.epoch) }

// dead reports whether teardown has begun.
func (s *Session) dead() bool {
	select {
	case <-s.dying:
		return true
	default:
		return false
	}
}

// sessionLogger names the session once in every line it logs: operator,
// bind, mode and address (the logger it is given carries none of them).
func sessionLogger(o SessionOptions) *zap.Logger {
	return o.Logger.With(zap.String("operator", o.Operator), zap.Int("bind", o.BindIndex),
		zap.Stringer("mode", o.Mode), zap.String("addr", o.Addr))
}
