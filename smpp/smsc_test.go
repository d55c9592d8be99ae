package smpp

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/smsgate/smsgate/smpp/pdu"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// frame is one PDU the fake SMSC received.
type frame struct {
	h    pdu.Header
	body []byte
}

// fakeSMSC is a scriptable SMSC on 127.0.0.1. By default it accepts every
// bind, answers submit_sm with ESME_ROK and message_id = decimal sequence
// number, answers enquire_link and unbind. Its writes are batched: it
// answers everything it has read before writing once, so it is cheap
// enough to benchmark against.
type fakeSMSC struct {
	t  testing.TB
	ln net.Listener

	// Script; set before the first Dial.
	bindStatus func(n int, b *pdu.Bind) pdu.Status // n counts binds from 1
	// onPDU sees every PDU after the bind; it returns true when it took
	// care of it (the default handling is then skipped).
	onPDU    func(c *smscConn, f frame) bool
	record   bool // copy every PDU to smscConn.rec
	bindNack bool // refuse binds with generic_nack (status from bindStatus)

	binds atomic.Int32
	conns chan *smscConn // every bound connection

	mu  sync.Mutex
	all []*smscConn
	wg  sync.WaitGroup
}

type smscConn struct {
	f    *fakeSMSC
	c    net.Conn
	bind pdu.Bind
	rec  chan frame
	seq  atomic.Uint32 // for SMSC-originated requests
	wmu  sync.Mutex
}

func newFakeSMSC(t testing.TB) *fakeSMSC {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return newFakeSMSCOn(t, ln)
}

func newFakeSMSCOn(t testing.TB, ln net.Listener) *fakeSMSC {
	f := &fakeSMSC{t: t, ln: ln, conns: make(chan *smscConn, 64), record: true}
	f.wg.Add(1)
	go f.accept()
	t.Cleanup(f.Close)
	return f
}

func (f *fakeSMSC) Addr() string { return f.ln.Addr().String() }

// Close stops accepting, drops every connection and waits for the
// fake's goroutines.
func (f *fakeSMSC) Close() {
	f.ln.Close()
	f.mu.Lock()
	for _, c := range f.all {
		c.c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// DropAll closes every current connection (the SMSC "crashes").
func (f *fakeSMSC) DropAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.all {
		c.c.Close()
	}
}

func (f *fakeSMSC) accept() {
	defer f.wg.Done()
	for {
		nc, err := f.ln.Accept()
		if err != nil {
			return
		}
		c := &smscConn{f: f, c: nc, rec: make(chan frame, 4096)}
		f.mu.Lock()
		f.all = append(f.all, c)
		f.mu.Unlock()
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer nc.Close()
			c.serve()
		}()
	}
}

// nextConn waits for the next bound connection.
func (f *fakeSMSC) nextConn(t testing.TB) *smscConn {
	t.Helper()
	select {
	case c := <-f.conns:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("fake SMSC: no bind within 5s")
		return nil
	}
}

func (c *smscConn) serve() {
	br := bufio.NewReaderSize(c.c, 64<<10)
	buf := make([]byte, 0, 1024)
	h, body, buf, err := pdu.ReadFrame(br, buf, 1<<20)
	if err != nil {
		return
	}
	if err := c.bind.DecodeBody(body); err != nil {
		return
	}
	c.bind.ID = h.ID
	n := int(c.f.binds.Add(1))
	st := pdu.StatusOK
	if c.f.bindStatus != nil {
		st = c.f.bindStatus(n, &c.bind)
	}
	if c.f.bindNack {
		c.send(pdu.AppendEmpty(nil, pdu.GenericNack, st, h.Seq))
		return
	}
	c.send(pdu.Append(nil, h.Seq, st, &pdu.BindResp{ID: h.ID.Response(), SystemID: "fake"}))
	if st != pdu.StatusOK {
		return
	}
	select {
	case c.f.conns <- c:
	default: // nobody is looking
	}
	out := make([]byte, 0, 64<<10)
	for {
		h, body, buf, err = pdu.ReadFrame(br, buf, 1<<20)
		if err != nil {
			return
		}
		fr := frame{h: h, body: body}
		if c.f.record || c.f.onPDU != nil {
			fr.body = append([]byte(nil), body...)
		}
		if c.f.record {
			select {
			case c.rec <- fr:
			default:
				c.f.t.Errorf("fake SMSC: record buffer full")
			}
		}
		if c.f.onPDU == nil || !c.f.onPDU(c, fr) {
			switch h.ID {
			case pdu.SubmitSM:
				var start int
				out, start = pdu.AppendHeader(out, pdu.SubmitSMResp, 0, h.Seq)
				out = strconv.AppendUint(out, uint64(h.Seq), 10)
				out = append(out, 0)
				out = pdu.Finish(out, start)
			case pdu.EnquireLink:
				out = pdu.AppendEmpty(out, pdu.EnquireLinkResp, 0, h.Seq)
			case pdu.Unbind:
				out = pdu.AppendEmpty(out, pdu.UnbindResp, 0, h.Seq)
				c.send(out)
				return
			}
		}
		if len(out) > 0 && (br.Buffered() == 0 || len(out) > 32<<10) {
			if !c.send(out) {
				return
			}
			out = out[:0]
		}
	}
}

// send writes b at once; safe from any goroutine.
func (c *smscConn) send(b []byte) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := c.c.Write(b)
	return err == nil
}

func (c *smscConn) sendPDU(seq uint32, st pdu.Status, b pdu.Body) bool {
	return c.send(pdu.Append(nil, seq, st, b))
}

func (c *smscConn) nextSeq() uint32 { return c.seq.Add(1) + 1000 }

// expect returns the next recorded PDU, failing after 5s.
func (c *smscConn) expect(t testing.TB) frame {
	t.Helper()
	select {
	case fr := <-c.rec:
		return fr
	case <-time.After(5 * time.Second):
		t.Fatal("fake SMSC: nothing received within 5s")
		return frame{}
	}
}

// expectID skips PDUs until one with id arrives.
func (c *smscConn) expectID(t testing.TB, id pdu.CommandID) frame {
	t.Helper()
	for range 1000 {
		if fr := c.expect(t); fr.h.ID == id {
			return fr
		}
	}
	t.Fatalf("fake SMSC: no %v", id)
	return frame{}
}

// respond answers a submit_sm.
func (c *smscConn) respond(seq uint32, st pdu.Status, id string) bool {
	return c.sendPDU(seq, st, &pdu.SMResp{ID: pdu.SubmitSMResp, MessageID: id})
}

// waitDone waits for a session to end.
func waitDone(t testing.TB, s *Session, d time.Duration) {
	t.Helper()
	select {
	case <-s.Done():
	case <-time.After(d):
		t.Fatalf("session still up after %v", d)
	}
}

// results collects done callbacks.
type results chan Result

func (r results) done(res Result) { r <- res }

func (r results) next(t testing.TB) Result {
	t.Helper()
	select {
	case res := <-r:
		return res
	case <-time.After(5 * time.Second):
		t.Fatal("no result within 5s")
		return Result{}
	}
}

func (r results) none(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case res := <-r:
		t.Fatalf("unexpected result %+v", res)
	case <-time.After(d):
	}
}

// delivery is one deliver_sm handed to the test handler.
type delivery struct {
	b   *BindInfo
	d   *pdu.SM
	ack func(pdu.Status)
}

type deliveries chan delivery

func (ds deliveries) HandleDeliver(b *BindInfo, d *pdu.SM, ack func(pdu.Status)) {
	ds <- delivery{b, d, ack}
}

func (ds deliveries) next(t testing.TB) delivery {
	t.Helper()
	select {
	case d := <-ds:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no deliver_sm handed to the handler within 5s")
		return delivery{}
	}
}

func testOptions(f *fakeSMSC) SessionOptions {
	return SessionOptions{
		Addr:        f.Addr(),
		SystemID:    "acme",
		Password:    "secret",
		Mode:        Transmitter,
		Window:      10,
		EnquireLink: time.Minute,
		RespTimeout: time.Minute,
		Operator:    "test",
	}
}

// dial binds a session to f and returns it with the SMSC's side.
func dial(t testing.TB, f *fakeSMSC, o SessionOptions) (*Session, *smscConn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := Dial(ctx, o)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() {
		// Short: tests that hold responses or acks end with them pending.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		s.Close(ctx)
	})
	return s, f.nextConn(t)
}

var testSM = pdu.SM{SourceTON: 5, Source: "ACME", DestTON: 1, DestNPI: 1, Dest: "995599123456",
	RegisteredDelivery: 1, ShortMessage: []byte("hello")}

func submit(t testing.TB, s *Session, r results) {
	t.Helper()
	sm := testSM
	if err := s.Submit(context.Background(), &sm, r.done); err != nil {
		t.Fatalf("Submit: %v", err)
	}
}

// submitAsync runs Submit in a goroutine; the returned channel yields its
// error.
func submitAsync(ctx context.Context, s interface {
	Submit(context.Context, *pdu.SM, func(Result)) error
}, r results) chan error {
	errc := make(chan error, 1)
	go func() {
		sm := testSM
		errc <- s.Submit(ctx, &sm, r.done)
	}()
	return errc
}

func isClosedErr(err error) bool { return errors.Is(err, ErrClosed) }
