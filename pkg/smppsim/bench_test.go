package smppsim

import (
	"bufio"
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/smsgate/smsgate/smpp/pdu"
)

// BenchmarkSimulator measures submit_sm answered per second on loopback by
// a minimal pipelining ESME: window 256, submits written in batches of up
// to 64 per Write, receipts acknowledged in batches. Each b.N is one
// submit_sm on one transceiver bind.
func BenchmarkSimulator(b *testing.B) {
	for _, bc := range []struct {
		name     string
		binds    int
		receipts bool
	}{
		{"no_receipts/1bind", 1, false},
		{"receipts/1bind", 1, true},
		{"no_receipts/4binds", 4, false},
		{"receipts/4binds", 4, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := Start(Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			clients := make([]*benchESME, bc.binds)
			for i := range clients {
				clients[i] = newBenchESME(b, s.Addr(), bc.receipts)
			}
			per := (b.N + bc.binds - 1) / bc.binds
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for _, c := range clients {
				wg.Add(1)
				go func() { defer wg.Done(); c.run(b, per) }()
			}
			wg.Wait()
			el := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(per*bc.binds)/el.Seconds(), "submit_sm/s")
			for _, c := range clients {
				c.nc.Close()
			}
			if st := s.Stats(); bc.receipts && st.ReceiptsAcked != uint64(per*bc.binds) {
				b.Errorf("acked %d of %d receipts", st.ReceiptsAcked, per*bc.binds)
			}
		})
	}
}

type benchESME struct {
	nc       net.Conn
	br       *bufio.Reader
	receipts bool
	wmu      sync.Mutex
	tmpl     []byte
}

const benchWindow = 256

func newBenchESME(b *testing.B, addr string, receipts bool) *benchESME {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	e := &benchESME{nc: nc, br: bufio.NewReaderSize(nc, 256<<10), receipts: receipts}
	nc.Write(pdu.Append(nil, 1, 0, &pdu.Bind{ID: pdu.BindTransceiver, SystemID: "bench", InterfaceVersion: 0x34}))
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if h, _, _, err := pdu.ReadFrame(e.br, nil, 4096); err != nil || h.Status != 0 {
		b.Fatalf("bind: %v %v", err, h.Status)
	}
	var rd byte
	if receipts {
		rd = 1
	}
	e.tmpl = pdu.Append(nil, 0, 0, &pdu.SM{ID: pdu.SubmitSM, SourceTON: 5, Source: "BENCH", DestTON: 1, DestNPI: 1,
		Dest: "995599123456", RegisteredDelivery: rd, ShortMessage: []byte("benchmark message text")})
	return e
}

func (e *benchESME) write(buf []byte) error {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	e.nc.SetWriteDeadline(time.Now().Add(30 * time.Second))
	_, err := e.nc.Write(buf)
	return err
}

// run sends n submits and returns once all were answered (and, with
// receipts, all receipts were received and acknowledged).
func (e *benchESME) run(b *testing.B, n int) {
	tokens := make(chan struct{}, benchWindow)
	for range benchWindow {
		tokens <- struct{}{}
	}
	werr := make(chan error, 1)
	go func() {
		buf := make([]byte, 0, 64*len(e.tmpl))
		for seq := 2; seq < n+2; {
			<-tokens
			buf = buf[:0]
			for k := 0; ; k++ {
				buf = append(buf, e.tmpl...)
				binary.BigEndian.PutUint32(buf[len(buf)-len(e.tmpl)+12:], uint32(seq))
				seq++
				if seq >= n+2 || k == 63 {
					break
				}
				select {
				case <-tokens:
					continue
				default:
				}
				break
			}
			if err := e.write(buf); err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}()
	var rbuf, acks []byte
	resps, rcpts := 0, 0
	for resps < n || (e.receipts && rcpts < n) {
		e.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
		h, _, nb, err := pdu.ReadFrame(e.br, rbuf, 4096)
		rbuf = nb
		if err != nil {
			b.Errorf("read after %d resps %d receipts: %v", resps, rcpts, err)
			return
		}
		switch h.ID {
		case pdu.SubmitSMResp:
			if h.Status != 0 {
				b.Errorf("status %v", h.Status)
			}
			resps++
			tokens <- struct{}{}
		case pdu.DeliverSM:
			rcpts++
			var start int
			acks, start = pdu.AppendHeader(acks, pdu.DeliverSMResp, 0, h.Seq)
			acks = pdu.Finish(append(acks, 0), start) // message_id: empty C-string
		}
		// Acknowledge in one write per burst of input.
		if len(acks) > 0 && e.br.Buffered() < pdu.HeaderLen {
			if err := e.write(acks); err != nil {
				b.Error(err)
				return
			}
			acks = acks[:0]
		}
	}
	if err := <-werr; err != nil {
		b.Error(err)
	}
}
