package faults

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsgate/smsgate/pkg/smppsim"
	"github.com/smsgate/smsgate/smpp/pdu"
)

// hostileSMSC is a raw SMPP peer for the attack: it binds the gateway and
// then writes whatever bytes a case asks for, recording what the gateway
// answers. Nothing here trusts the gateway either: every read has a
// deadline and every connection is closed at cleanup.
type hostileSMSC struct {
	ln       net.Listener
	conns    chan *hostileConn
	refuse   atomic.Int32 // binds still to refuse with ESME_RBINDFAIL
	binds    atomic.Int64 // bind requests seen
	refused  atomic.Int64
	mu       sync.Mutex
	all      []*hostileConn
	acceptWG sync.WaitGroup
}

type hostileConn struct {
	c      net.Conn
	wmu    sync.Mutex
	closed chan struct{}
	mute   atomic.Bool // answer nothing (a stalled peer)

	mu    sync.Mutex
	resps map[uint32]pdu.Status // deliver_sm_resp by sequence number
	nacks map[uint32]pdu.Status // generic_nack by sequence number
}

func startHostileSMSC(t *testing.T) *hostileSMSC {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hostileSMSC{ln: ln, conns: make(chan *hostileConn, 16)}
	h.acceptWG.Add(1)
	go h.accept()
	t.Cleanup(func() {
		ln.Close()
		h.mu.Lock()
		for _, c := range h.all {
			c.c.Close()
		}
		h.mu.Unlock()
		h.acceptWG.Wait()
	})
	return h
}

func (h *hostileSMSC) accept() {
	defer h.acceptWG.Done()
	for {
		c, err := h.ln.Accept()
		if err != nil {
			return
		}
		hc := &hostileConn{c: c, closed: make(chan struct{}), resps: map[uint32]pdu.Status{}, nacks: map[uint32]pdu.Status{}}
		h.mu.Lock()
		h.all = append(h.all, hc)
		h.mu.Unlock()
		h.acceptWG.Add(1)
		go func() { defer h.acceptWG.Done(); h.serve(hc) }()
	}
}

func (h *hostileSMSC) serve(c *hostileConn) {
	defer close(c.closed)
	defer c.c.Close()
	br := bufio.NewReader(c.c)
	_ = c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	hd, _, _, err := pdu.ReadFrame(br, nil, 1<<16)
	if err != nil || (hd.ID != pdu.BindTransceiver && hd.ID != pdu.BindTransmitter && hd.ID != pdu.BindReceiver) {
		return
	}
	h.binds.Add(1)
	if h.refuse.Load() > 0 {
		h.refuse.Add(-1)
		h.refused.Add(1)
		c.write(pdu.Append(nil, hd.Seq, pdu.ErrBindFail, &pdu.BindResp{ID: hd.ID.Response()}))
		return
	}
	c.write(pdu.Append(nil, hd.Seq, pdu.StatusOK, &pdu.BindResp{ID: hd.ID.Response(), SystemID: "hostile"}))
	h.conns <- c
	var buf []byte
	for {
		_ = c.c.SetReadDeadline(time.Now().Add(2 * time.Minute))
		var body []byte
		hd, body, buf, err = pdu.ReadFrame(br, buf, 1<<20)
		if err != nil {
			return
		}
		if c.mute.Load() {
			continue
		}
		switch hd.ID {
		case pdu.EnquireLink:
			c.write(pdu.AppendEmpty(nil, pdu.EnquireLinkResp, pdu.StatusOK, hd.Seq))
		case pdu.SubmitSM:
			c.write(pdu.Append(nil, hd.Seq, pdu.StatusOK, &pdu.SMResp{ID: pdu.SubmitSMResp, MessageID: fmt.Sprintf("h%d", hd.Seq)}))
		case pdu.Unbind:
			c.write(pdu.AppendEmpty(nil, pdu.UnbindResp, pdu.StatusOK, hd.Seq))
			return
		case pdu.DeliverSMResp:
			c.mu.Lock()
			c.resps[hd.Seq] = hd.Status
			c.mu.Unlock()
		case pdu.GenericNack:
			c.mu.Lock()
			c.nacks[hd.Seq] = hd.Status
			c.mu.Unlock()
		}
		_ = body
	}
}

func (c *hostileConn) write(b []byte) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	_, err := c.c.Write(b)
	return err == nil
}

// answer returns how the gateway answered seq: a deliver_sm_resp status,
// a generic_nack status, or ok false for no answer yet.
func (c *hostileConn) answer(seq uint32) (st pdu.Status, nack, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, has := c.resps[seq]; has {
		return s, false, true
	}
	if s, has := c.nacks[seq]; has {
		return s, true, true
	}
	return 0, false, false
}

// raw builds a PDU header with the given length and command id.
func raw(length, id, status, seq uint32) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint32(b[0:], length)
	binary.BigEndian.PutUint32(b[4:], id)
	binary.BigEndian.PutUint32(b[8:], status)
	binary.BigEndian.PutUint32(b[12:], seq)
	return b
}

// mo is a deliver_sm carrying a mobile-originated message.
func mo(seq uint32, from, to string, coding byte, text []byte) []byte {
	return pdu.Append(nil, seq, pdu.StatusOK, &pdu.SM{ID: pdu.DeliverSM, SourceTON: 1, SourceNPI: 1, Source: from,
		DestTON: 0, DestNPI: 1, Dest: to, DataCoding: coding, ShortMessage: text})
}

// metricsOf scrapes the gateway's /metrics and sums the samples of name
// whose labels contain every given pair.
type scrape string

func (s scrape) sum(name string, labels ...string) float64 {
	var total float64
	for _, line := range strings.Split(string(s), "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for i := 0; i+1 < len(labels); i += 2 {
			if !strings.Contains(line, labels[i]+`="`+labels[i+1]+`"`) {
				ok = false
			}
		}
		if !ok {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			total += v
		}
	}
	return total
}

func scrapeMetrics(t *testing.T, addr string) scrape {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return scrape(b)
}

var vmHWM = regexp.MustCompile(`VmHWM:\s+(\d+) kB`)

// peakRSS reads the process's peak resident set (VmHWM) in MB.
func peakRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	m := vmHWM.FindSubmatch(b)
	if m == nil {
		return -1
	}
	kb, _ := strconv.ParseFloat(string(m[1]), 64)
	return kb / 1024
}

// Issue #16: the real binary against a hostile SMSC on one operator while
// the other operator carries load. Every attack is counted, the process
// lives, the healthy operator keeps its binds and its traffic, RSS stays
// bounded, and every deliver_sm the gateway acknowledged reaches sms.mo.
func TestFaultHostileSMSCAttacks(t *testing.T) {
	h := startHostileSMSC(t)
	h.refuse.Store(1) // case: a bind_resp error first
	hHost, hPort := splitHostPort(t, h.ln.Addr().String())
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	// The attacks take 2–3 minutes (three of them wait out a 10 s
	// enquire_link timeout): the load runs until they are over.
	r := newRig(t, rigOpts{sim: smppsim.Options{RespDelay: 2 * time.Millisecond}, loadFor: 8 * time.Minute, httpListen: httpAddr,
		operators: fmt.Sprintf("  - {name: hostile, host: %s, port: %d, system_id: acme, password: pw, binds: 1, window: 10, tps: 100, enquire_link: 1s, resp_timeout: 3s}\n", hHost, hPort)})

	type row struct{ attack, expected, seen string }
	var rows []row
	note := func(attack, expected, seen string) { rows = append(rows, row{attack, expected, seen}) }

	var healthyBinds uint64
	var attackStart, attackEnd time.Time
	var submitsBefore, submitsAfter uint64
	res, _ := scenario(t, r, "hostile SMSC on a second operator (issue 16 attacks)", 0, func(ends *faultEnds) {
		healthyBinds = r.sim.Stats().BindsTotal
		attackStart, submitsBefore = time.Now(), r.sim.Stats().Submits
		var c *hostileConn
		next := func(what string) *hostileConn {
			select {
			case c = <-h.conns:
				return c
			case <-time.After(60 * time.Second):
				t.Fatalf("no bind from the gateway after %s", what)
				return nil
			}
		}
		next("the refused bind")
		m0 := scrapeMetrics(t, httpAddr)
		if h.refused.Load() != 1 {
			t.Errorf("bind_resp error: %d refused binds", h.refused.Load())
		}
		note("bind_resp ESME_RBINDFAIL on the first bind", "retried with back-off, bound next time", fmt.Sprintf("%d bind requests, 1 refused, then bound", h.binds.Load()))

		// In-session attacks: the bind survives them.
		seq := uint32(1000)
		send := func(b []byte) { c.write(b) }
		const either = 2 // a deliver_sm_resp with an error or a generic_nack
		wantAnswer := func(what string, s uint32, wantNack int) pdu.Status {
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) {
				if st, nack, ok := c.answer(s); ok {
					if wantNack == either {
						if st == pdu.StatusOK {
							t.Errorf("%s: accepted", what)
						}
					} else if nack != (wantNack == 1) {
						t.Errorf("%s: answered with nack=%v status %v", what, nack, st)
					}
					return st
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Errorf("%s: no answer", what)
			return 0
		}
		seq++
		send(raw(16, 0x00000077, 0, seq))
		st := wantAnswer("unknown command id", seq, 1)
		note("unknown command_id 0x00000077", "generic_nack ESME_RINVCMDID, bind kept", "generic_nack "+st.String())

		send(append(raw(16+4, uint32(pdu.SubmitSMResp), 0, 999999), 'x', 'y', 'z', 0))
		send(raw(16, uint32(pdu.QuerySMResp), 0, 999998))
		send(raw(16, 0x80000077, 0, 999997))

		// A deliver_sm whose TLV claims 200 bytes and carries 3.
		seq++
		body := (&pdu.SM{ID: pdu.DeliverSM, Source: "995599000001", Dest: "4422", ShortMessage: []byte("tlv")}).AppendBody(nil)
		body = append(body, 0x04, 0x24, 0x00, 0xC8, 'a', 'b', 'c')
		pk := append(raw(uint32(16+len(body)), uint32(pdu.DeliverSM), 0, seq), body...)
		send(pk)
		st = wantAnswer("truncated TLV", seq, either)
		note("deliver_sm with a truncated TLV (length 200, 3 bytes)", "refused with a permanent error, bind kept", "answered "+st.String())

		// 10 MB PDU: read past and discarded, the stream stays in step.
		seq++
		big := make([]byte, 10<<20)
		send(append(raw(uint32(16+len(big)), uint32(pdu.DeliverSM), 0, seq), big...))
		st = wantAnswer("10 MB PDU", seq, 1)
		note("deliver_sm of 10 MB", "discarded, generic_nack ESME_RINVCMDLEN, bind kept", "generic_nack "+st.String())

		// Invalid UTF-16 in UCS-2 and bad bytes in every string field:
		// accepted (the SMSC must not resend them forever) and published
		// with U+FFFD, or refused with a permanent error.
		badMO := []struct {
			name     string
			from, to string
			coding   byte
			text     []byte
			wantFrom string
		}{
			{"UCS-2 lone high surrogate", "995599100001", "4422", 8, []byte{0xD8, 0x00, 0x00, 'A'}, "995599100001"},
			{"UCS-2 odd length", "995599100002", "4422", 8, []byte{0x00, 'A', 0x00}, "995599100002"},
			{"UCS-2 lone low surrogate", "995599100003", "4422", 8, []byte{0xDC, 0x00, 0x00, 'B'}, "995599100003"},
			{"non-UTF-8 in source, dest and text (Latin-1 coding)", "\xff\xfe99559910", "44\xc3(", 3, []byte("caf\xe9 \xff"), ""},
			{"non-UTF-8 in service_type and text (GSM 7-bit)", "995599100005", "4422", 0, []byte{0xff, 0x80, 0x1b, 0x1b}, "995599100005"},
		}
		for _, b := range badMO {
			seq++
			send(mo(seq, b.from, b.to, b.coding, b.text))
			st := wantAnswer(b.name, seq, 0)
			seen := "deliver_sm_resp " + st.String()
			if st == pdu.StatusOK && b.wantFrom != "" {
				waitFor(t, 30*time.Second, b.name+" on sms.mo", func() bool { return r.events.moFrom(b.wantFrom) })
				seen += ", on sms.mo"
			}
			note("MO: "+b.name, "acknowledged and published (bad units become U+FFFD) or refused permanently", seen)
		}
		// Receipts with bad bytes in their text and TLVs: matched to nothing.
		seq++
		rc := pdu.Append(nil, seq, pdu.StatusOK, &pdu.SM{ID: pdu.DeliverSM, Source: "995599000001", Dest: "ACME", ESMClass: pdu.ESMSMSCReceipt,
			ShortMessage: []byte("id:\xff\xfe\x00x sub:001 dlvrd:001 submit date:2612071200 done date:2612071201 stat:DELIVRD err:000 text:\xc3("),
			TLVs:         pdu.TLVs{{Tag: pdu.TagReceiptedMessageID, Value: []byte("\xff\xfe\x00")}, {Tag: pdu.TagMessageState, Value: []byte{2}}}})
		send(rc)
		st = wantAnswer("receipt with bad bytes", seq, 0)
		note("receipt with NUL and non-UTF-8 in its id, text and receipted_message_id", "acknowledged, matched to no message, process and stage unharmed", "deliver_sm_resp "+st.String())

		// 10,000 deliver_sm in one burst, each a distinct MO.
		const burst = 10000
		burstFirst := seq + 1
		var bb []byte
		for i := 0; i < burst; i++ {
			seq++
			bb = append(bb, mo(seq, fmt.Sprintf("9955992%05d", i), "4422", 0, []byte(fmt.Sprintf("burst %d", i)))...)
		}
		burstStart := time.Now()
		send(bb)
		waitFor(t, 120*time.Second, "answers to the deliver_sm burst", func() bool {
			for s := burstFirst; s <= seq; s++ {
				if _, _, ok := c.answer(s); !ok {
					return false
				}
			}
			return true
		})
		acked, other := 0, 0
		for s := burstFirst; s <= seq; s++ {
			if st, nack, _ := c.answer(s); !nack && st == pdu.StatusOK {
				acked++
			} else {
				other++
			}
		}
		note("10,000 deliver_sm (MO) in one burst", "all answered; every one acknowledged reaches sms.mo",
			fmt.Sprintf("all answered in %s: %d acknowledged, %d refused for now (to be resent); every acknowledged one on sms.mo", time.Since(burstStart).Round(10*time.Millisecond), acked, other))
		waitFor(t, 120*time.Second, "acknowledged burst MOs on sms.mo", func() bool {
			for s := burstFirst; s <= seq; s++ {
				i := int(s - burstFirst)
				if st, nack, _ := c.answer(s); !nack && st == pdu.StatusOK && !r.events.moHas(fmt.Sprintf("9955992%05d", i), fmt.Sprintf("burst %d", i)) {
					return false
				}
			}
			return true
		})
		m1 := scrapeMetrics(t, httpAddr)

		// Session-ending attacks: each is counted and the gateway binds again.
		ending := []struct {
			name, kind string
			bytes      []byte
			stall      bool
		}{
			{"command_length 0", "bad_length", raw(0, uint32(pdu.DeliverSM), 0, 1), false},
			{"command_length 15", "bad_length", raw(15, uint32(pdu.DeliverSM), 0, 2), false},
			{"command_length 2^31", "bad_length", raw(1<<31, uint32(pdu.DeliverSM), 0, 3), false},
			{"command_length shorter than the body", "", append(raw(16+3, uint32(pdu.DeliverSM), 0, 4), mo(5, "995599000001", "4422", 0, []byte("rest"))[3:]...), false},
			{"stall in the middle of a header", "truncated", raw(16, uint32(pdu.EnquireLink), 0, 6)[:9], true},
			{"stall in the middle of a body", "truncated", append(raw(60, uint32(pdu.DeliverSM), 0, 7), make([]byte, 20)...), true},
		}
		for _, e := range ending {
			before := scrapeMetrics(t, httpAddr)
			start := time.Now()
			c.mute.Store(e.stall) // a stalled peer answers no enquire_link either
			send(e.bytes)
			if !e.stall && e.kind == "" {
				// Out of step after this one: end it ourselves if the
				// gateway has not, as any real peer eventually would.
				time.Sleep(3 * time.Second)
			}
			select {
			case <-c.closed:
			case <-time.After(60 * time.Second):
				if e.kind != "" {
					t.Errorf("%s: the gateway kept the session", e.name)
				}
				c.c.Close()
			}
			took := time.Since(start).Round(100 * time.Millisecond)
			next(e.name)
			after := scrapeMetrics(t, httpAddr)
			seen := fmt.Sprintf("session ended after %s, bound again", took)
			if e.kind != "" {
				d := after.sum("smsgate_smpp_pdu_errors_total", "operator", "hostile", "kind", e.kind) - before.sum("smsgate_smpp_pdu_errors_total", "operator", "hostile", "kind", e.kind)
				if d < 1 {
					t.Errorf("%s: pdu_errors_total{kind=%s} did not grow", e.name, e.kind)
				}
				seen += fmt.Sprintf("; pdu_errors_total{kind=%s} +%.0f", e.kind, d)
			} else {
				d := after.sum("smsgate_smpp_pdu_errors_total", "operator", "hostile") - before.sum("smsgate_smpp_pdu_errors_total", "operator", "hostile")
				seen += fmt.Sprintf("; pdu_errors_total +%.0f", d)
			}
			note(e.name, "session ended (the stream is out of step), counted, bound again", seen)
		}
		ends.mark()
		attackEnd, submitsAfter = time.Now(), r.sim.Stats().Submits

		// Every in-session attack is counted.
		for _, k := range []struct{ name, kind string }{{"unknown command", "unknown_command"}, {"truncated TLV", "malformed"}, {"10 MB PDU", "too_large"}, {"unknown response id", "unexpected_response"}} {
			if d := m1.sum("smsgate_smpp_pdu_errors_total", "operator", "hostile", "kind", k.kind) - m0.sum("smsgate_smpp_pdu_errors_total", "operator", "hostile", "kind", k.kind); d < 1 {
				t.Errorf("%s: pdu_errors_total{kind=%s} did not grow", k.name, k.kind)
			}
		}
		late := m1.sum("smsgate_smpp_late_responses_total", "operator", "hostile") - m0.sum("smsgate_smpp_late_responses_total", "operator", "hostile")
		if late < 1 {
			t.Errorf("stray submit_sm_resp not counted in late_responses_total")
		}
		unexpected := m1.sum("smsgate_smpp_pdu_errors_total", "operator", "hostile", "kind", "unexpected_response") - m0.sum("smsgate_smpp_pdu_errors_total", "operator", "hostile", "kind", "unexpected_response")
		note("stray responses (submit_sm_resp, query_sm_resp, unknown response id)", "ignored, counted, never nacked",
			fmt.Sprintf("late_responses_total +%.0f, pdu_errors_total{kind=unexpected_response} +%.0f, bind kept", late, unexpected))
		if d := m1.sum("smsgate_smpp_pdu_errors_total", "operator", "magti"); d != 0 {
			t.Errorf("the healthy operator counted %v PDU errors", d)
		}
	})
	gw := r.gateway()
	if gw.exited() {
		t.Fatalf("smsgate died: %v\n%s", gw.err, gw.tail(40))
	}
	if b := r.sim.Stats().BindsTotal; b != healthyBinds {
		t.Errorf("the healthy operator rebound during the attack: binds %d → %d", healthyBinds, b)
	}
	dur := attackEnd.Sub(attackStart).Seconds()
	rate := float64(submitsAfter-submitsBefore) / dur
	if rate < 0.5*float64(prof.rate) {
		t.Errorf("the healthy operator carried %.0f msg/s during the attack, offered %d", rate, prof.rate)
	}
	rss := peakRSS(gw.cmd.Process.Pid)
	if rss > 400 {
		t.Errorf("peak RSS %.0f MB", rss)
	}
	res.notes = append(res.notes, fmt.Sprintf("healthy operator: %.0f msg/s during %.0f s of attacks (offered %d), binds unchanged; peak RSS %.0f MB; %d MO on sms.mo",
		rate, dur, prof.rate, rss, r.events.moCount()))
	report(t, res)
	if p := os.Getenv("HOSTILE_RESULTS"); p != "" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err == nil {
			for _, x := range rows {
				fmt.Fprintf(f, "| %s | %s | %s |\n", x.attack, x.expected, x.seen)
			}
			f.Close()
		}
	}
	for _, x := range rows {
		t.Logf("| %s | %s | %s |", x.attack, x.expected, x.seen)
	}
}
