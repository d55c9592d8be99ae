package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// A command name with spaces and parentheses must not shift the fields.
	line := "4242 (my (odd) proc) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 50 0 0 20 0 3 0 100 123456789 2560 18446744073709551615"
	u, err := parseStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if u.cpu != 3.0 {
		t.Errorf("cpu = %v, want 3.0 (250+50 ticks)", u.cpu)
	}
	if want := int64(2560 * os.Getpagesize()); u.rss != want {
		t.Errorf("rss = %d, want %d", u.rss, want)
	}
	if _, err := parseStat("4242 (x) S 1 2"); err == nil {
		t.Error("short stat line accepted")
	}
	self, err := readUsage(os.Getpid())
	if err != nil || self.rss <= 0 {
		t.Errorf("own usage = %+v, %v", self, err)
	}
}

func TestSamplesRate(t *testing.T) {
	t0 := time.Unix(1000, 0)
	// A simulator reporting once a second: 10k/s steady, the last report
	// (at target) comes late. The interior readings give the true rate.
	var s samples
	s.add(t0, 0, 0)
	s.add(t0.Add(1*time.Second), 5000, 1.0)
	s.add(t0.Add(2*time.Second), 15000, 1.5)
	s.add(t0.Add(2500*time.Millisecond), 15000, 1.7) // unchanged: not kept
	s.add(t0.Add(3*time.Second), 25000, 2.0)
	s.add(t0.Add(4*time.Second), 30000, 2.1)
	if len(s) != 5 {
		t.Fatalf("kept %d samples, want 5", len(s))
	}
	if got := s.rate(30000); got != 10000 {
		t.Errorf("rate = %v, want 10000", got)
	}
	if got := s.cpuShare(30000); got != 0.5 {
		t.Errorf("simulator CPU = %v cores, want 0.5 (1 s of CPU over the 2 s window)", got)
	}
	// Too short for interior readings: first above zero → last.
	var short samples
	short.add(t0, 100, 0)
	short.add(t0.Add(500*time.Millisecond), 1000, 0)
	if got := short.rate(1000); got != 1800 {
		t.Errorf("short rate = %v, want 1800", got)
	}
	var none samples
	none.add(t0, 0, 0)
	if got := none.rate(10); got != 0 {
		t.Errorf("rate without traffic = %v", got)
	}
}

const kannelStatus = `Kannel bearerbox version ` + "`1.4.5'" + `.

Status: running, uptime 0d 0h 0m 2s

WDP: received 0 (0 queued), sent 0 (0 queued)

SMS: received 0 (0 queued), sent 0 (20000 queued), store size -1
SMS: inbound (0.00,0.00,0.00) msg/sec, outbound (0.00,0.00,0.00) msg/sec
`

func TestParseKannelQueued(t *testing.T) {
	q, err := parseKannelQueued(kannelStatus)
	if err != nil || q != 20000 {
		t.Errorf("queued = %d, %v; want 20000", q, err)
	}
	if _, err := parseKannelQueued("Status: running"); err == nil {
		t.Error("status without the SMS line accepted")
	}
}

func TestRenderKannelConf(t *testing.T) {
	p := kannelParams{Dir: "/tmp/x", AdminPort: 1, BoxPort: 2, SendPort: 3, SMSCPort: 4, Binds: 2, Window: 100}
	plain, err := renderKannelConf(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"instances = 2\n", "max-pending-submits = 100\n", "port = 4\n", "smsbox-port = 2\n", "log-level = 4\n"} {
		if !strings.Contains(plain, want) {
			t.Errorf("config lacks %q", want)
		}
	}
	if strings.Contains(plain, "store-type =") || strings.Contains(plain, "throughput =") {
		t.Error("raw config has a store or a throughput cap")
	}
	p.Store = true
	durable, _ := renderKannelConf(p)
	if !strings.Contains(durable, "store-type = file\n") || !strings.Contains(durable, `store-location = "/tmp/x/kannel.store"`) {
		t.Errorf("durable config without file store:\n%s", durable)
	}
}

func TestDLRCounter(t *testing.T) {
	c, err := startDLRCounter()
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	get := func(typ int, to string) {
		u := strings.NewReplacer("%d", strconv.Itoa(typ), "%p", to).Replace(c.url())
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	get(8, "995590000001")
	get(1, "995590000001")
	get(1, "995590000001") // a repeated report counts once
	get(1, "995590000002")
	get(2, "995590000003")
	resp, err := http.Get("http://" + c.ln.Addr().String() + "/dlr?type=x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	d, byType, bad, last := c.counts()
	if d != 2 || byType[1] != 3 || byType[8] != 1 || byType[2] != 1 || bad != 1 || last.IsZero() {
		t.Errorf("delivered %d, by type %v, bad %d, last %v", d, byType, bad, last)
	}
}

func TestParseStatusEvent(t *testing.T) {
	e, err := parseStatusEvent([]byte(`{"id":"c7","account":"acme","status":"delivered","parts":1,"meta":null}`))
	if err != nil || e.ID != "c7" || e.Status != "delivered" {
		t.Errorf("%+v, %v", e, err)
	}
	for _, bad := range []string{`{"status":"delivered"}`, `{"id":"c1"}`, `[1]`, `{`} {
		if _, err := parseStatusEvent([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestParseSimStats(t *testing.T) {
	s, err := parseSimStats([]byte(`{"binds":1,"submits":12,"receipts_sent":10,"receipts_acked":9,"mo_ucs2_text":null}`))
	if err != nil || s != (simStats{Submits: 12, ReceiptsSent: 10, ReceiptsAcked: 9}) {
		t.Errorf("%+v, %v", s, err)
	}
	if _, err := parseSimStats([]byte(`{"submits":-1}`)); err == nil {
		t.Error("negative counter accepted")
	}
}

func TestDestinationRoundTrip(t *testing.T) {
	for _, i := range []int{0, 7, 199999, 9999999} {
		d := destination(i)
		if len(d) != 12 || idFromDest(d) != "c"+strconv.Itoa(i) {
			t.Errorf("%d → %q → %q", i, d, idFromDest(d))
		}
	}
	if idFromDest("99559abc") != "" {
		t.Error("non-numeric destination mapped to an id")
	}
}

// TestProcStopKillsGroup: stopping a process also stops what it started,
// and a process that ignores SIGTERM is killed after the grace period.
func TestProcStopKillsGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	p, err := startProc(context.Background(), filepath.Join(dir, "log"), "sh", "-c",
		`trap "" TERM; sleep 30 & echo $! > `+pidFile+`; wait`)
	if err != nil {
		t.Fatal(err)
	}
	var child int
	for deadline := time.Now().Add(5 * time.Second); child == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b, _ := os.ReadFile(pidFile)
		child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	if child == 0 {
		t.Fatal("child did not start")
	}
	start := time.Now()
	p.stop(300 * time.Millisecond)
	if !p.exited() {
		t.Fatal("not exited after stop")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stop took %s", d)
	}
	// The grandchild was in the same group: it is gone (or a zombie
	// about to be reaped by init).
	time.Sleep(100 * time.Millisecond)
	if err := syscall.Kill(child, 0); err == nil {
		if b, _ := os.ReadFile("/proc/" + strconv.Itoa(child) + "/stat"); !strings.Contains(string(b), ") Z") {
			t.Errorf("grandchild %d still running", child)
		}
	}
}

func TestProcContextKills(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p, err := startProc(ctx, filepath.Join(t.TempDir(), "log"), "sleep", "30")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := p.wait(5 * time.Second); err == nil {
		t.Error("killed process reported success")
	}
	if !p.exited() {
		t.Error("still running after its context ended")
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add("1 (a) S 1 1 1 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 1 1 10 0")
	f.Add("1 (a b)) R")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := parseStat(s)
		if err == nil && (u.cpu != u.cpu) {
			t.Fatalf("NaN cpu from %q", s)
		}
	})
}

func FuzzParseDLRQuery(f *testing.F) {
	f.Add("type=1&to=995590000001")
	f.Add("type=%zz")
	f.Fuzz(func(t *testing.T, q string) {
		r, err := parseDLRQuery(q)
		if err == nil && r.to == "" {
			t.Fatalf("accepted %q without a receiver", q)
		}
	})
}

func FuzzParseStatusEvent(f *testing.F) {
	f.Add([]byte(`{"id":"a","status":"delivered"}`))
	f.Add([]byte(`{"id":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := parseStatusEvent(b)
		if err == nil && (e.ID == "" || e.Status == "") {
			t.Fatalf("accepted %q with an empty field", b)
		}
	})
}

func FuzzParseKannelQueued(f *testing.F) {
	f.Add(kannelStatus)
	f.Add("SMS: received 1 (2 queued), sent 3 (99999999999999999999 queued)")
	f.Fuzz(func(t *testing.T, s string) {
		if q, err := parseKannelQueued(s); err == nil && q < 0 {
			t.Fatalf("negative queue %d from %q", q, s)
		}
	})
}

func FuzzParseSimStats(f *testing.F) {
	f.Add([]byte(`{"submits":1,"receipts_acked":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseSimStats(b) // must not panic
	})
}
