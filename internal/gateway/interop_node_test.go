package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/pkg/kafkabroker"
)

// nodeSMSC runs test/interop/smsc.js (npm smpp 0.5.1, an SMPP stack
// independent of ours) and returns its port and a stats reader.
func nodeSMSC(t *testing.T, args ...string) (string, func() map[string]any) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "test", "interop")
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not installed: run scripts/ensure-deps.sh")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "smpp")); err != nil {
		t.Fatal("npm package smpp is not installed in test/interop: run scripts/ensure-deps.sh")
	}
	stats := filepath.Join(t.TempDir(), "stats.json")
	cmd := exec.Command("node", append([]string{filepath.Join(dir, "smsc.js"), "--port", "0", "--stats-file", stats}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	var port string
	select {
	case l := <-lines:
		if !strings.HasPrefix(l, "LISTENING ") {
			t.Fatalf("smsc.js said %q", l)
		}
		port = strings.TrimPrefix(l, "LISTENING ")
	case <-time.After(15 * time.Second):
		t.Fatal("smsc.js did not start within 15s")
	}
	read := func() map[string]any {
		b, err := os.ReadFile(stats)
		if err != nil {
			return map[string]any{}
		}
		var v map[string]any
		_ = json.Unmarshal(b, &v)
		return v
	}
	return port, read
}

// TestInteropNodeSMPP sends through the whole pipeline to node-smpp:
// bind, submit, receipts whose ids are hex while submit ids are decimal,
// throttling answered by retry, and a 3-part UCS-2 MO sent out of order.
func TestInteropNodeSMPP(t *testing.T) {
	port, stats := nodeSMSC(t, "--system-id", "acme", "--password", "pw", "--receipts", "--receipt-id-hex",
		"--throttle-every", "7", "--mo-ucs2-3parts", "--mo", "995599000004:4422:VOTE 5", "--mo-delay", "1500")
	e := &env{t: t, dsn: testDSN(t)}
	b, err := kafkabroker.Start(kafkabroker.Options{Topics: map[string]int{"sms.submit": 2, "sms.status": 2, "sms.mo": 1, "sms.dlq": 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	e.broker = b
	e.yaml = fmt.Sprintf(`kafka: {brokers: [%q], group: interop}
postgres: {dsn: %q}
http: {listen: "127.0.0.1:0"}
operators:
  - {name: node, host: 127.0.0.1, port: %s, system_id: acme, password: pw, window: 10, tps: 500, dlr_id: auto}
routes:
  - {prefix: "995", operator: node, cost: 0.01, currency: EUR}
accounts:
  - {name: acme, senders: ["4422", ACME], rates: [{prefix: "995", price: 0.03, currency: EUR}]}
mo: {keywords: [VOTE]}
`, b.Addrs()[0], e.dsn, port)
	e.cfg = e.parse(e.yaml)
	st, err := store.Open(context.Background(), e.dsn, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.st = st
	e.events = newEventLog(t, b.Addrs()[0])
	e.reg = prometheus.NewRegistry()
	e.start()

	var recs []map[string]any
	for i := 0; i < 30; i++ {
		text := "interop message"
		if i%5 == 0 {
			text = strings.Repeat("ქართული ტექსტი და emoji 😀 ", 4) // multipart UCS-2
		}
		recs = append(recs, msg(fmt.Sprintf("n%02d", i), fmt.Sprintf("99559910%04d", i), text))
	}
	e.submit(recs...)
	deadline := time.Now().Add(55 * time.Second)
	waitFor(t, 60*time.Second, "all delivered via node-smpp", func() bool {
		for _, r := range recs {
			if l := e.events.last(r["id"].(string)); l == nil || l["status"] != "delivered" {
				if time.Now().After(deadline) {
					t.Logf("%s: %v; db %s", r["id"], e.events.statuses(r["id"].(string)), e.dbState(r["id"].(string)))
				}
				return false
			}
		}
		return true
	})
	// smsc.js writes its stats file once a second: wait for this run's.
	var s map[string]any
	waitFor(t, 10*time.Second, "node-smpp stats", func() bool {
		s = stats()
		n, _ := s["submits_ok"].(float64)
		return n >= 30
	})
	if s["throttled"].(float64) == 0 {
		t.Errorf("the SMSC never throttled: %v", s)
	}
	if s["unique_submits"] != s["submits_ok"] {
		t.Errorf("a message reached node-smpp twice: %v", s)
	}
	waitFor(t, 30*time.Second, "two MO on sms.mo", func() bool {
		e.events.mu.Lock()
		defer e.events.mu.Unlock()
		return len(e.events.mo) >= 2
	})
	e.events.mu.Lock()
	mos := append([]map[string]any{}, e.events.mo...)
	e.events.mu.Unlock()
	var multi, vote map[string]any
	for _, m := range mos {
		if m["parts"].(float64) == 3 {
			multi = m
		}
		if m["keyword"] == "VOTE" {
			vote = m
		}
	}
	if multi == nil || multi["text"] != s["mo_ucs2_text"] {
		t.Errorf("3-part UCS-2 MO: got %v, want text %q", multi, s["mo_ucs2_text"])
	}
	if vote == nil || vote["from"] != "995599000004" || vote["to"] != "4422" || vote["text"] != "VOTE 5" {
		t.Errorf("VOTE MO: %v", vote)
	}
}
