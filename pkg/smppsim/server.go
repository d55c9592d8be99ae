// Package smppsim is an SMPP 3.4 SMSC simulator for smsgate's tests, demo
// and benchmarks.
//
// It accepts binds, answers submit_sm with configurable ids, delays,
// throttling and errors, sends delivery receipts (in other id formats, on
// other binds, before the response, only for last parts, redelivered after
// a NACK or a dropped bind), injects MO messages, and can misbehave on
// purpose (stop answering, drop connections, send garbage). Everything
// random is deterministic for a given Options.Seed.
//
// It is built to never be the bottleneck of a benchmark: per connection one
// reader and one writer goroutine, responses batched into one write per
// burst, delayed events on a single timer goroutine, and a submit_sm path
// that does not allocate unless receipts or recording are on.
package smppsim

import (
	"errors"
	"fmt"
	"math"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smsgate/smsgate/smpp/pdu"
)

// ErrClosed is returned by operations on a closed Server.
var ErrClosed = errors.New("smppsim: server closed")

// Server is a running simulator. All methods are safe for concurrent use.
type Server struct {
	o     Options
	ln    net.Listener
	sched *scheduler
	done  chan struct{}
	wg    sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	systems map[string]*system
	conns   map[*conn]struct{}

	ids   atomic.Uint64
	moRef atomic.Uint32
	draws [numDraws]atomic.Uint64
	rt    runtimeSettings
	tps   bucket
	ctr   counters

	recMu      sync.Mutex
	recs       []Submit
	recDropped uint64
}

// runtimeSettings are the knobs changeable while serving.
type runtimeSettings struct {
	throttleRatio atomic.Uint64 // float64 bits
	errorRate     atomic.Uint64 // float64 bits
	errorStatus   atomic.Uint32
	stopAnswering atomic.Bool
	respDelay     atomic.Int64
	respJitter    atomic.Int64
	receiptDelay  atomic.Int64
	receiptJitter atomic.Int64
	dropAfter     atomic.Int64
	destStatus    atomic.Pointer[[]prefixRule]
	destStat      atomic.Pointer[[]prefixRule]
}

// prefixRule maps a destination prefix to a status or a stat.
type prefixRule struct {
	prefix string
	status pdu.Status
	stat   string
}

// system is the state shared by the binds of one system_id.
type system struct {
	id string

	mu    sync.Mutex
	binds []*conn // copy-on-write: readers may iterate a snapshot unlocked
	peak  int
	total uint64
	rr    uint32
	queue []*outPDU // receipts waiting for a receiver-capable bind (FIFO)
	qLen  atomic.Int64
}

// Start listens on o.Addr and serves in background goroutines until Close.
func Start(o Options) (*Server, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("smppsim: listen: %w", err)
	}
	s := &Server{
		o:       o,
		ln:      ln,
		done:    make(chan struct{}),
		systems: map[string]*system{},
		conns:   map[*conn]struct{}{},
	}
	s.sched = newScheduler(o.MaxScheduled)
	s.ids.Store(o.IDStart)
	s.SetThrottleRatio(o.ThrottleRatio)
	s.SetErrorRate(o.ErrorRate, o.ErrorStatus)
	s.SetStopAnswering(o.StopAnswering)
	s.SetRespDelay(o.RespDelay, o.RespJitter)
	s.SetReceiptDelay(o.ReceiptDelay, o.ReceiptJitter)
	s.SetDropAfter(o.DropAfter)
	s.SetTPS(o.TPS, o.TPSBurst)
	s.setRules(&s.rt.destStatus, statusRules(o.DestStatus))
	s.setRules(&s.rt.destStat, statRules(o.DestStat))

	s.wg.Add(2)
	go s.acceptLoop()
	go func() { defer s.wg.Done(); s.sched.run(s.done, s.fire) }()
	if o.EnquireLinkInterval > 0 {
		s.wg.Add(1)
		go s.enquireLoop(o.EnquireLinkInterval)
	}
	return s, nil
}

// Addr returns the listen address as host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops accepting, closes every connection, fails pending InjectMO
// calls and returns once every goroutine of the server has ended.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	err := s.ln.Close()
	for _, c := range conns {
		c.close()
	}
	s.wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("smppsim: close listener: %w", err)
	}
	return nil
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			// Accept fails only when the listener is gone.
			return
		}
		c := newConn(s, nc)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(2)
		s.mu.Unlock()
		go c.readLoop()
		go c.writeLoop()
	}
}

func (s *Server) enquireLoop(every time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			s.EnquireLink()
		}
	}
}

// EnquireLink sends enquire_link to every bound ESME now and returns how
// many it was sent to. Responses are counted in Stats.
func (s *Server) EnquireLink() int {
	n := 0
	for _, c := range s.boundConns() {
		if c.writeDirect(func(b []byte) []byte {
			return pdu.AppendEmpty(b, pdu.EnquireLink, pdu.StatusOK, c.nextSeq())
		}, false) {
			s.ctr.enquireSent.Add(1)
			n++
		}
	}
	return n
}

// DropAll closes every connection now, without unbind (a network failure
// as the ESME sees it). Receipts in flight are queued for the next bind.
func (s *Server) DropAll() {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		s.ctr.drops.Add(1)
		c.close()
	}
}

// SetThrottleRatio answers share r (0..1) of submits ESME_RTHROTTLED.
func (s *Server) SetThrottleRatio(r float64) { s.rt.throttleRatio.Store(math.Float64bits(clamp01(r))) }

// SetErrorRate answers share r (0..1) of submits with status st (0 keeps
// the current status).
func (s *Server) SetErrorRate(r float64, st pdu.Status) {
	if st != 0 {
		s.rt.errorStatus.Store(uint32(st))
	}
	s.rt.errorRate.Store(math.Float64bits(clamp01(r)))
}

// SetStopAnswering makes the simulator read everything and answer nothing
// (true), or answer again (false).
func (s *Server) SetStopAnswering(stop bool) { s.rt.stopAnswering.Store(stop) }

// SetRespDelay delays submit_sm_resp by d plus a uniform [0, jitter).
func (s *Server) SetRespDelay(d, jitter time.Duration) {
	s.rt.respDelay.Store(int64(max(d, 0)))
	s.rt.respJitter.Store(int64(max(jitter, 0)))
}

// SetReceiptDelay delays receipts by d plus a uniform [0, jitter).
func (s *Server) SetReceiptDelay(d, jitter time.Duration) {
	s.rt.receiptDelay.Store(int64(max(d, 0)))
	s.rt.receiptJitter.Store(int64(max(jitter, 0)))
}

// SetDropAfter closes each connection after its n-th submit_sm_resp (0 =
// never). It applies to the submits counted from now on each connection.
func (s *Server) SetDropAfter(n int) { s.rt.dropAfter.Store(int64(max(n, 0))) }

// SetTPS sets the shared token bucket (tps 0 = unlimited; burst 0 =
// max(1, tps)).
func (s *Server) SetTPS(tps float64, burst int) { s.tps.set(tps, burst) }

// SetDestStatus forces status st for destinations starting with prefix
// (st 0 removes the rule).
func (s *Server) SetDestStatus(prefix string, st pdu.Status) {
	s.updateRule(&s.rt.destStatus, prefixRule{prefix: prefix, status: st}, st == 0)
}

// SetDestStat forces receipt stat (DELIVRD, UNDELIV, EXPIRED, REJECTD) for
// destinations starting with prefix ("" removes the rule).
func (s *Server) SetDestStat(prefix, stat string) error {
	if stat != "" && !validStat(stat) {
		return fmt.Errorf("smppsim: unknown stat %q", stat)
	}
	s.updateRule(&s.rt.destStat, prefixRule{prefix: prefix, stat: stat}, stat == "")
	return nil
}

func (s *Server) updateRule(p *atomic.Pointer[[]prefixRule], r prefixRule, remove bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next []prefixRule
	if cur := p.Load(); cur != nil {
		for _, x := range *cur {
			if x.prefix != r.prefix {
				next = append(next, x)
			}
		}
	}
	if !remove {
		next = append(next, r)
	}
	s.setRules(p, next)
}

// setRules stores rules longest prefix first, so the first match wins.
func (s *Server) setRules(p *atomic.Pointer[[]prefixRule], rules []prefixRule) {
	sort.SliceStable(rules, func(i, j int) bool { return len(rules[i].prefix) > len(rules[j].prefix) })
	p.Store(&rules)
}

func statusRules(m map[string]pdu.Status) []prefixRule {
	var r []prefixRule
	for p, st := range m {
		r = append(r, prefixRule{prefix: p, status: st})
	}
	return r
}

func statRules(m map[string]string) []prefixRule {
	var r []prefixRule
	for p, st := range m {
		r = append(r, prefixRule{prefix: p, stat: st})
	}
	return r
}

func matchRule(p *atomic.Pointer[[]prefixRule], dest []byte) (prefixRule, bool) {
	rules := p.Load()
	if rules == nil {
		return prefixRule{}, false
	}
	for _, r := range *rules {
		if len(dest) >= len(r.prefix) && string(dest[:len(r.prefix)]) == r.prefix {
			return r, true
		}
	}
	return prefixRule{}, false
}

func clamp01(r float64) float64 {
	if r != r || r < 0 {
		return 0
	}
	return min(r, 1)
}

func (s *Server) draw(kind int) float64 {
	return draw(s.o.Seed, kind, s.draws[kind].Add(1))
}

// jitter returns base plus a uniform [0, j) drawn deterministically.
func (s *Server) jitter(base, j int64, kind int) time.Duration {
	if j > 0 {
		base += int64(s.draw(kind) * float64(j))
	}
	return time.Duration(base)
}

// system returns the state of system_id id, creating it.
func (s *Server) system(id string) *system {
	s.mu.Lock()
	defer s.mu.Unlock()
	sys := s.systems[id]
	if sys == nil {
		sys = &system{id: id}
		s.systems[id] = sys
	}
	return sys
}

func (s *Server) lookupSystem(id string) *system {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.systems[id]
}

// SystemIDs returns the system_ids that have at least one bind now.
func (s *Server) SystemIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id, sys := range s.systems {
		sys.mu.Lock()
		if len(sys.binds) > 0 {
			ids = append(ids, id)
		}
		sys.mu.Unlock()
	}
	sort.Strings(ids)
	return ids
}

func (s *Server) boundConns() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*conn
	for _, sys := range s.systems {
		sys.mu.Lock()
		out = append(out, sys.binds...)
		sys.mu.Unlock()
	}
	return out
}

// addBind registers c under sys unless MaxBinds is reached.
func (sys *system) addBind(c *conn, maxBinds int) bool {
	sys.mu.Lock()
	defer sys.mu.Unlock()
	if maxBinds > 0 && len(sys.binds) >= maxBinds {
		return false
	}
	next := make([]*conn, len(sys.binds), len(sys.binds)+1)
	copy(next, sys.binds)
	sys.binds = append(next, c)
	sys.peak = max(sys.peak, len(sys.binds))
	sys.total++
	return true
}

// removeBind unregisters c; it is idempotent.
func (sys *system) removeBind(c *conn) {
	sys.mu.Lock()
	defer sys.mu.Unlock()
	next := make([]*conn, 0, len(sys.binds))
	for _, x := range sys.binds {
		if x != c {
			next = append(next, x)
		}
	}
	sys.binds = next
}

// snapshot returns the current binds (the slice is never modified in
// place) and the round-robin start, read under the same lock.
func (sys *system) snapshot() ([]*conn, int) {
	sys.mu.Lock()
	defer sys.mu.Unlock()
	sys.rr++
	return sys.binds, int(sys.rr)
}

// receiverCapable reports whether a bind mode can receive deliver_sm.
func receiverCapable(mode pdu.CommandID) bool {
	return mode == pdu.BindReceiver || mode == pdu.BindTransceiver
}

// routeOut sends a server-originated deliver_sm (receipt or MO part) to a
// receiver-capable bind of sys: origin first, unless otherBind prefers any
// other bind. fromReader is the origin's own reader goroutine, whose batch
// is used to keep the deliver_sm ordered with the responses it is writing.
// It returns false when no bind could take it.
func (s *Server) routeOut(sys *system, p *outPDU, origin *conn, otherBind, fromReader bool) bool {
	// Read before registering: once registered, p belongs to the bind's
	// reader, which may settle it at any moment.
	kind, redo := p.kind, p.attempts > 0
	tryConn := func(c *conn) bool {
		if c == nil || !receiverCapable(c.mode) || !c.register(p) {
			return false
		}
		if fromReader && c == origin {
			c.batch = append(c.batch, p.b...)
			s.countOut(kind, redo)
			return true
		}
		if c.writeBytes(p.b, false) {
			s.countOut(kind, redo)
		}
		// Once registered the PDU is owned by c: if c closes before it is
		// written, c's cleanup requeues it.
		return true
	}
	if !otherBind && tryConn(origin) {
		return true
	}
	binds, start := sys.snapshot()
	if n := len(binds); n > 0 {
		for i := range n {
			c := binds[(start+i)%n]
			if c != origin && tryConn(c) {
				return true
			}
		}
	}
	return otherBind && tryConn(origin)
}

func (s *Server) countOut(kind uint8, redelivery bool) {
	switch kind {
	case outReceipt:
		s.ctr.receiptsSent.Add(1)
		if redelivery {
			s.ctr.receiptsRedelivered.Add(1)
		}
	case outMO:
		s.ctr.moSent.Add(1)
	}
}

// deliverReceipt routes a receipt or, when no bind can take it now, queues
// it for the next bind of its system_id.
func (s *Server) deliverReceipt(p *outPDU, origin *conn, fromReader bool) {
	if s.routeOut(p.sys, p, origin, s.o.ReceiptOtherBind, fromReader) {
		return
	}
	s.enqueue(p, false)
}

// enqueue puts a receipt on its system's bounded queue (front: it was
// already in flight and keeps its place).
func (s *Server) enqueue(p *outPDU, front bool) {
	sys := p.sys
	sys.mu.Lock()
	if len(sys.queue) >= s.o.MaxQueuedReceipts {
		sys.mu.Unlock()
		s.ctr.receiptsDropped.Add(1)
		return
	}
	if front {
		sys.queue = append([]*outPDU{p}, sys.queue...)
	} else {
		sys.queue = append(sys.queue, p)
	}
	sys.qLen.Store(int64(len(sys.queue)))
	sys.mu.Unlock()
}

// flushQueue sends queued receipts while some bind takes them.
func (s *Server) flushQueue(sys *system) {
	for {
		sys.mu.Lock()
		if len(sys.queue) == 0 {
			sys.mu.Unlock()
			return
		}
		p := sys.queue[0]
		sys.queue[0] = nil
		sys.queue = sys.queue[1:]
		sys.qLen.Store(int64(len(sys.queue)))
		sys.mu.Unlock()
		if !s.routeOut(sys, p, nil, false, false) {
			s.enqueue(p, true)
			return
		}
	}
}

// ownerOf is used by tests and Stats: binds of a system_id by mode.
func modeName(m pdu.CommandID) string {
	return strings.TrimPrefix(m.String(), "bind_")
}
