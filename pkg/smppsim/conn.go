package smppsim

import (
	"bufio"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smsgate/smsgate/smpp/pdu"
)

// Kinds of server-originated request awaiting a response.
const (
	outReceipt = iota + 1
	outMO
)

// outPDU is a deliver_sm the simulator sent and tracks until its
// deliver_sm_resp. b is the whole encoded PDU; its sequence number is
// patched each time it is (re)sent, by the single owner of the moment.
type outPDU struct {
	b        []byte
	kind     uint8
	attempts int
	sys      *system
	done     chan error // outMO: receives the outcome once
}

// ErrConnClosed is the outcome of an MO part whose bind closed before the
// deliver_sm_resp.
var ErrConnClosed = errors.New("smppsim: bind closed before deliver_sm_resp")

// conn is one ESME connection. The reader goroutine owns the read side and
// the fields marked "reader"; everything the writer shares is under wmu.
type conn struct {
	s  *Server
	nc net.Conn

	// Bind state: written by the reader before the bind is published in
	// its system (under sys.mu), read by others after.
	mode     pdu.CommandID
	systemID string
	sys      *system

	seq atomic.Uint32

	// reader
	batch      []byte // responses collected while more input is buffered
	batchClose bool   // close once the batch is written (DropAfter, unbind, failed bind)
	submits    int64
	dropping   bool
	idBuf      [32]byte

	wmu        sync.Mutex
	wcond      sync.Cond // writer waits for data
	fcond      sync.Cond // reader waits for room
	out, spare []byte
	closed     bool
	closeAfter bool
	closeOnce  sync.Once

	pmu     sync.Mutex
	pending map[uint32]*outPDU
	pclosed bool
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{s: s, nc: nc, pending: map[uint32]*outPDU{}}
	c.wcond.L = &c.wmu
	c.fcond.L = &c.wmu
	return c
}

func (c *conn) nextSeq() uint32 {
	for {
		n := c.seq.Add(1)
		if n != 0 && n <= pdu.MaxSeq {
			return n
		}
		c.seq.CompareAndSwap(n, 0)
	}
}

// close shuts the connection down; the reader then cleans up.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		c.wmu.Lock()
		c.closed = true
		c.wcond.Broadcast()
		c.fcond.Broadcast()
		c.wmu.Unlock()
		c.nc.Close()
	})
}

// writeLoop drains everything appended since the last write into one
// Write: one syscall per burst instead of one per PDU.
func (c *conn) writeLoop() {
	defer c.s.wg.Done()
	for {
		c.wmu.Lock()
		for len(c.out) == 0 && !c.closed {
			c.wcond.Wait()
		}
		if c.closed {
			c.wmu.Unlock()
			return
		}
		buf := c.out
		c.out = c.spare[:0]
		closeAfter := c.closeAfter
		c.fcond.Broadcast()
		c.wmu.Unlock()

		c.nc.SetWriteDeadline(time.Now().Add(c.s.o.WriteTimeout))
		_, err := c.nc.Write(buf)
		c.spare = buf[:0]
		if err != nil || closeAfter {
			c.close()
			return
		}
	}
}

// flushBatch hands the reader's batch to the writer, waiting while the
// write buffer is over MaxWriteBuffer (backpressure on a slow ESME).
func (c *conn) flushBatch() {
	if len(c.batch) == 0 && !c.batchClose {
		return
	}
	c.wmu.Lock()
	for len(c.out) >= c.s.o.MaxWriteBuffer && !c.closed {
		c.fcond.Wait()
	}
	if !c.closed {
		c.out = append(c.out, c.batch...)
		if c.batchClose {
			c.closeAfter = true
		}
		c.wcond.Signal()
	}
	c.wmu.Unlock()
	c.batch = c.batch[:0]
	if cap(c.batch) > 1<<20 {
		c.batch = nil
	}
	c.batchClose = false
}

// writeBytes appends a whole PDU from a goroutine other than the reader. It
// never waits: those writers (timer, MO, other binds' readers) must not be
// stalled by one slow ESME; their volume is bounded by their own limits.
func (c *conn) writeBytes(b []byte, closeAfter bool) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return false
	}
	c.out = append(c.out, b...)
	if closeAfter {
		c.closeAfter = true
	}
	c.wcond.Signal()
	return true
}

// writeDirect is writeBytes for a PDU encoded in place.
func (c *conn) writeDirect(enc func([]byte) []byte, closeAfter bool) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return false
	}
	c.out = enc(c.out)
	if closeAfter {
		c.closeAfter = true
	}
	c.wcond.Signal()
	return true
}

// register assigns p a sequence number on c and tracks it until its
// response. It fails when c is closing or its receipt window is full.
func (c *conn) register(p *outPDU) bool {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	if c.pclosed || (p.kind == outReceipt && len(c.pending) >= c.s.o.ReceiptWindow) {
		return false
	}
	seq := c.nextSeq()
	p.b[12], p.b[13], p.b[14], p.b[15] = byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq)
	c.pending[seq] = p
	return true
}

func (c *conn) takePending(seq uint32) *outPDU {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	p := c.pending[seq]
	if p != nil {
		delete(c.pending, seq)
	}
	return p
}

func (c *conn) readLoop() {
	defer c.s.wg.Done()
	defer c.cleanup()
	br := bufio.NewReaderSize(c.nc, 64<<10)
	var buf []byte
	idle := c.s.o.IdleTimeout
	var deadlineSet time.Time
	for {
		// Refreshing the deadline costs a timer update; once a second is
		// plenty for a minutes-long idle timeout.
		if now := time.Now(); now.Sub(deadlineSet) > time.Second {
			c.nc.SetReadDeadline(now.Add(idle))
			deadlineSet = now
		}
		h, body, nb, err := pdu.ReadFrame(br, buf, c.s.o.MaxPDULen)
		buf = nb
		if err != nil {
			var fe *pdu.FrameError
			if errors.As(err, &fe) {
				c.answer(pdu.GenericNack, pdu.ErrInvCmdLen, h.Seq)
				c.s.ctr.genericNackSent.Add(1)
			} else {
				c.flushBatch()
				return
			}
		} else {
			c.handle(h, body)
		}
		// Batch responses while the peer has more PDUs already buffered.
		if br.Buffered() < pdu.HeaderLen || len(c.batch) >= 32<<10 || c.batchClose {
			c.flushBatch()
		}
	}
}

// cleanup runs once the reader has ended: unpublish the bind, hand its
// receipts in flight to the next bind, fail its MO parts.
func (c *conn) cleanup() {
	c.close()
	s := c.s
	if c.sys != nil {
		c.sys.removeBind(c)
	}
	c.pmu.Lock()
	c.pclosed = true
	pend := c.pending
	c.pending = nil
	c.pmu.Unlock()
	for _, p := range pend {
		switch p.kind {
		case outReceipt:
			s.enqueue(p, true)
		case outMO:
			p.done <- ErrConnClosed
		}
	}
	if c.sys != nil && len(pend) > 0 {
		s.flushQueue(c.sys)
	}
	s.ctr.disconnects.Add(1)
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// answer appends a body-less response to the batch.
func (c *conn) answer(id pdu.CommandID, st pdu.Status, seq uint32) {
	c.batch = pdu.AppendEmpty(c.batch, id, st, seq)
	if id.IsResponse() && id != pdu.GenericNack {
		c.s.ctr.countResp(st)
	}
}

func (c *conn) handle(h pdu.Header, body []byte) {
	s := c.s
	switch h.ID {
	case pdu.SubmitSM:
		c.onSubmit(h, body)
	case pdu.DeliverSMResp:
		c.onDeliverResp(h)
	case pdu.EnquireLink:
		s.ctr.enquireRecv.Add(1)
		if !s.rt.stopAnswering.Load() {
			c.answer(pdu.EnquireLinkResp, pdu.StatusOK, h.Seq)
		}
	case pdu.EnquireLinkResp:
		s.ctr.enquireRespRecv.Add(1)
	case pdu.BindTransmitter, pdu.BindReceiver, pdu.BindTransceiver:
		c.onBind(h, body)
	case pdu.Unbind:
		s.ctr.unbinds.Add(1)
		if s.rt.stopAnswering.Load() {
			return
		}
		if c.sys != nil {
			c.sys.removeBind(c)
		}
		c.answer(pdu.UnbindResp, pdu.StatusOK, h.Seq)
		c.batchClose = true
	case pdu.GenericNack:
		s.ctr.genericNackRecv.Add(1)
		if p := c.takePending(h.Seq); p != nil {
			c.onOutcome(p, h.Status)
		}
	case pdu.UnbindResp:
		// Nothing to do: the simulator never unbinds first.
	default:
		if s.rt.stopAnswering.Load() {
			return
		}
		switch {
		case h.ID.IsResponse():
			// A response to nothing we track: ignore, as SMSCs do.
		case h.ID.Known():
			// query_sm, replace_sm, cancel_sm, submit_multi, data_sm ...:
			// recognised but not simulated.
			c.answer(h.ID.Response(), pdu.ErrInvCmdID, h.Seq)
		default:
			c.answer(pdu.GenericNack, pdu.ErrInvCmdID, h.Seq)
			s.ctr.genericNackSent.Add(1)
		}
	}
}

func (c *conn) onBind(h pdu.Header, body []byte) {
	s := c.s
	if s.rt.stopAnswering.Load() {
		return
	}
	resp := h.ID.Response()
	fail := func(st pdu.Status, closeConn bool) {
		s.ctr.bindFailures.Add(1)
		c.answer(resp, st, h.Seq)
		c.batchClose = c.batchClose || closeConn
	}
	if c.sys != nil {
		fail(pdu.ErrAlyBnd, false)
		return
	}
	var b pdu.Bind
	b.ID = h.ID
	if err := b.DecodeBody(body); err != nil {
		fail(pdu.ErrInvCmdLen, true)
		return
	}
	if s.o.Credentials != nil {
		pw, ok := s.o.Credentials[b.SystemID]
		if !ok {
			fail(pdu.ErrInvSysID, true)
			return
		}
		if pw != b.Password {
			fail(pdu.ErrInvPaswd, true)
			return
		}
	}
	sys := s.system(b.SystemID)
	c.mode = h.ID
	c.systemID = b.SystemID
	if !sys.addBind(c, s.o.MaxBinds) {
		c.mode = 0
		fail(pdu.ErrAlyBnd, true)
		return
	}
	c.sys = sys
	s.ctr.bindsTotal.Add(1)
	c.batch = pdu.Append(c.batch, h.Seq, pdu.StatusOK, &pdu.BindResp{
		ID: resp, SystemID: s.o.SystemID,
		TLVs: pdu.TLVs{{Tag: pdu.TagSCInterfaceVersion, Value: []byte{0x34}}},
	})
	s.ctr.countResp(pdu.StatusOK)
	if receiverCapable(c.mode) && sys.qLen.Load() > 0 {
		// The bind_resp must precede the queued receipts on the wire.
		c.flushBatch()
		s.flushQueue(sys)
	}
}

func (c *conn) onDeliverResp(h pdu.Header) {
	s := c.s
	p := c.takePending(h.Seq)
	if p == nil {
		s.ctr.unknownResps.Add(1)
		return
	}
	c.onOutcome(p, h.Status)
	if c.sys != nil && c.sys.qLen.Load() > 0 {
		// A window slot is free again.
		s.flushQueue(c.sys)
	}
}

// onOutcome settles a tracked deliver_sm with the peer's status.
func (c *conn) onOutcome(p *outPDU, st pdu.Status) {
	s := c.s
	switch p.kind {
	case outReceipt:
		if st == pdu.StatusOK {
			s.ctr.receiptsAcked.Add(1)
			return
		}
		s.ctr.receiptsNacked.Add(1)
		p.attempts++
		if p.attempts > s.o.MaxRedeliveries {
			s.ctr.receiptsDropped.Add(1)
			return
		}
		if !s.sched.add(event{at: time.Now().Add(s.o.RedeliverDelay).UnixNano(), kind: evRedeliver, p: p}) {
			s.ctr.schedDropped.Add(1)
		}
	case outMO:
		if st == pdu.StatusOK {
			s.ctr.moAcked.Add(1)
			p.done <- nil
		} else {
			s.ctr.moNacked.Add(1)
			p.done <- st
		}
	}
}
