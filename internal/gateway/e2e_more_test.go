package gateway

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/pkg/smppsim"
)

// Higher priority goes first within an operator's queue: with a low TPS
// cap and a backlog, priority-9 messages overtake the priority-0 ones.
func TestPriority(t *testing.T) {
	e := newEnv(t, twoOperators(smppsim.Options{}, smppsim.Options{}), baseRouting)
	e.cfg.Operators[0].TPS = 20
	var recs []map[string]any
	for i := 0; i < 150; i++ {
		recs = append(recs, msg(fmt.Sprintf("low%03d", i), fmt.Sprintf("9955990%05d", i), "bulk"))
	}
	for i := 0; i < 5; i++ {
		recs = append(recs, msg(fmt.Sprintf("otp%d", i), fmt.Sprintf("9955991%05d", i), "code 1234", "priority", 9))
	}
	e.submit(recs...)
	time.Sleep(time.Second) // the whole backlog is queued before dispatch starts
	e.start()
	waitFor(t, 30*time.Second, "every OTP delivered", func() bool {
		for i := 0; i < 5; i++ {
			if l := e.events.last(fmt.Sprintf("otp%d", i)); l == nil || l["status"] != "delivered" {
				return false
			}
		}
		return true
	})
	order := e.sims["magti"].Submits()
	lastOTP := -1
	for i, s := range order {
		if strings.HasPrefix(s.Dest, "9955991") {
			lastOTP = i
		}
	}
	if lastOTP < 0 || lastOTP > 60 {
		t.Errorf("the last OTP was submit #%d of %d: priority 9 must overtake the priority-0 backlog", lastOTP+1, len(order))
	}
}

// Hot reload: a table naming an unknown operator is refused and the old one
// stays; a valid one changes the cost of the next message.
func TestHotReload(t *testing.T) {
	e := newEnv(t, twoOperators(smppsim.Options{}, smppsim.Options{}), baseRouting)
	e.start()
	bad := e.parse(e.yaml)
	bad.Routes[0].Operator = "nosuch"
	if err := e.gw.Reload(bad); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Fatalf("reload with an unknown operator: %v", err)
	}
	e.submit(msg("h1", "995599000301", "before"))
	waitFor(t, 20*time.Second, "h1 delivered", func() bool { l := e.events.last("h1"); return l != nil && l["status"] == "delivered" })
	if c := e.events.last("h1")["cost"]; c != 0.012 {
		t.Errorf("cost before reload %v", c)
	}
	good := e.parse(strings.Replace(e.yaml, `{prefix: "99559", operator: magti, cost: 0.012`, `{prefix: "99559", operator: magti, cost: 0.009`, 1))
	if err := e.gw.Reload(good); err != nil {
		t.Fatal(err)
	}
	e.submit(msg("h2", "995599000302", "after"))
	waitFor(t, 20*time.Second, "h2 delivered", func() bool { l := e.events.last("h2"); return l != nil && l["status"] == "delivered" })
	if c := e.events.last("h2")["cost"]; c != 0.009 {
		t.Errorf("cost after reload %v, want 0.009", c)
	}
	var cost string
	if err := e.st.Pool.QueryRow(context.Background(), `SELECT cost::text FROM ledger WHERE message_id = 'h2'`).Scan(&cost); err != nil || cost != "0.009000" {
		t.Errorf("ledger cost %q %v", cost, err)
	}
}

// A record produced by an independent client (librdkafka's kcat) flows
// through the pipeline.
func TestKcatProducedRecord(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatal("kcat is not installed: run scripts/ensure-deps.sh (Debian package kcat)")
	}
	e := newEnv(t, twoOperators(smppsim.Options{}, smppsim.Options{}), baseRouting)
	e.start()
	line := `kc1:{"id":"kc1","account":"acme","from":"ACME","to":"+995599000401","text":"via kcat 📨"}` + "\n"
	cmd := exec.Command(kcat, "-b", e.broker.Addrs()[0], "-P", "-t", "sms.submit", "-K:")
	cmd.Stdin = bytes.NewBufferString(line)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat: %v\n%s", err, out)
	}
	waitFor(t, 30*time.Second, "kc1 delivered", func() bool { l := e.events.last("kc1"); return l != nil && l["status"] == "delivered" })
}
