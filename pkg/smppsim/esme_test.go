package smppsim

import (
	"bufio"
	"errors"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/smsgate/smsgate/smpp/pdu"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// esme is a minimal synchronous ESME for tests, written directly with the
// pdu codec so that it shares no code with the simulator.
type esme struct {
	t   testing.TB
	nc  net.Conn
	br  *bufio.Reader
	seq uint32
	buf []byte
}

func dial(t testing.TB, s *Server) *esme {
	t.Helper()
	nc, err := net.DialTimeout("tcp", s.Addr(), 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	e := &esme{t: t, nc: nc, br: bufio.NewReaderSize(nc, 64<<10)}
	t.Cleanup(func() { nc.Close() })
	return e
}

func startT(t testing.TB, o Options) *Server {
	t.Helper()
	s, err := Start(o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func (e *esme) send(b pdu.Body) uint32 {
	e.t.Helper()
	e.seq++
	e.sendSeq(e.seq, pdu.StatusOK, b)
	return e.seq
}

func (e *esme) sendSeq(seq uint32, st pdu.Status, b pdu.Body) {
	e.t.Helper()
	e.raw(pdu.Append(nil, seq, st, b))
}

func (e *esme) raw(b []byte) {
	e.t.Helper()
	e.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := e.nc.Write(b); err != nil {
		e.t.Fatalf("write: %v", err)
	}
}

// next reads one PDU within d, returning its header and decoded body.
func (e *esme) nextWithin(d time.Duration) (pdu.Header, pdu.Body, error) {
	e.nc.SetReadDeadline(time.Now().Add(d))
	h, body, nb, err := pdu.ReadFrame(e.br, e.buf, 1<<20)
	e.buf = nb
	if err != nil {
		return h, nil, err
	}
	b, err := pdu.Decode(h, body)
	if errors.Is(err, pdu.ErrUnknownCmd) {
		return h, nil, nil // a valid frame the codec does not decode
	}
	return h, b, err
}

func (e *esme) next() (pdu.Header, pdu.Body) {
	e.t.Helper()
	h, b, err := e.nextWithin(5 * time.Second)
	if err != nil {
		e.t.Fatalf("read: %v (header %+v)", err, h)
	}
	return h, b
}

// expect reads the next PDU and fails unless it has command id id.
func (e *esme) expect(id pdu.CommandID) (pdu.Header, pdu.Body) {
	e.t.Helper()
	h, b := e.next()
	if h.ID != id {
		e.t.Fatalf("got %s status %v seq %d, want %s", h.ID, h.Status, h.Seq, id)
	}
	return h, b
}

// silent fails if a PDU arrives within d.
func (e *esme) silent(d time.Duration) {
	e.t.Helper()
	h, _, err := e.nextWithin(d)
	var ne net.Error
	if err == nil {
		e.t.Fatalf("got %s (status %v) while expecting silence", h.ID, h.Status)
	}
	if !errors.As(err, &ne) || !ne.Timeout() {
		e.t.Fatalf("expected a read timeout, got %v", err)
	}
}

// eof fails unless the simulator closes the connection within 5s.
func (e *esme) eof() {
	e.t.Helper()
	for {
		h, _, err := e.nextWithin(5 * time.Second)
		if err == nil {
			e.t.Fatalf("got %s while expecting the connection to close", h.ID)
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			e.t.Fatalf("connection still open")
		}
		return
	}
}

func (e *esme) bind(mode pdu.CommandID, sysID, pw string) pdu.Status {
	e.t.Helper()
	seq := e.send(&pdu.Bind{ID: mode, SystemID: sysID, Password: pw, InterfaceVersion: 0x34})
	h, _ := e.expect(mode.Response())
	if h.Seq != seq {
		e.t.Fatalf("bind resp seq %d, want %d", h.Seq, seq)
	}
	return h.Status
}

func bound(t testing.TB, s *Server, mode pdu.CommandID, sysID string) *esme {
	t.Helper()
	e := dial(t, s)
	if st := e.bind(mode, sysID, "pw"); st != pdu.StatusOK {
		t.Fatalf("bind: %v", st)
	}
	return e
}

func submitSM(dest, text string, regDel byte) *pdu.SM {
	return &pdu.SM{ID: pdu.SubmitSM, SourceTON: 5, Source: "ACME", DestTON: 1, DestNPI: 1, Dest: dest,
		RegisteredDelivery: regDel, ShortMessage: []byte(text)}
}

// submit sends a submit_sm and returns its resp (the next PDU must be it).
func (e *esme) submit(sm *pdu.SM) (pdu.Status, string) {
	e.t.Helper()
	seq := e.send(sm)
	h, b := e.expect(pdu.SubmitSMResp)
	if h.Seq != seq {
		e.t.Fatalf("submit_sm_resp seq %d, want %d", h.Seq, seq)
	}
	return h.Status, b.(*pdu.SMResp).MessageID
}

// receipt reads a deliver_sm receipt, acknowledges it with st, and returns it.
func (e *esme) receipt(st pdu.Status) *pdu.SM {
	e.t.Helper()
	h, b := e.expect(pdu.DeliverSM)
	sm := b.(*pdu.SM)
	if !sm.IsReceipt() {
		e.t.Fatalf("deliver_sm esm_class 0x%02X is not a receipt", sm.ESMClass)
	}
	e.sendSeq(h.Seq, st, &pdu.SMResp{ID: pdu.DeliverSMResp})
	return sm
}

// waitFor polls cond for up to 5s; the simulator updates counters
// asynchronously from the ESME's point of view.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func deadline() time.Time { return time.Now().Add(5 * time.Second) }
