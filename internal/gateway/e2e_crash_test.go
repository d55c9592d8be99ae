package gateway

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smsgate/smsgate/pkg/smppsim"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// smsgateBinary builds cmd/smsgate once per test run.
func smsgateBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		dir, err := os.MkdirTemp("", "smsgate-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "smsgate")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/smsgate")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// writeConfig writes a config for the binary into the test's directory.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "smsgate.yml")
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// runBinary starts `bin run -config cfg -log-level warn args...` (a later
// flag wins) with its log on the test's stderr. It is killed however the
// test ends: a failed wait must not leave it running against a dropped
// database.
func runBinary(t *testing.T, bin, cfg string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"run", "-config", cfg, "-log-level", "warn"}, args...)...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// A crash (kill -9) in the middle of a stream, twice: every id ends with a
// status; no destination receives a message twice unless its status says
// it may have (unknown); no part is billed twice (invariants 1, 4, 5).
func TestCrashKill9(t *testing.T) {
	bin := smsgateBinary(t)
	e := newEnv(t, twoOperators(smppsim.Options{RespDelay: time.Millisecond}, smppsim.Options{RespDelay: time.Millisecond}),
		baseRouting+"dlr: {timeout: 72h}\n")
	cfg := writeConfig(t, e.yaml)
	const n = 4000
	var recs []map[string]any
	for i := 0; i < n; i++ {
		to := fmt.Sprintf("99559%07d", i)
		if i%2 == 1 {
			to = fmt.Sprintf("99532%07d", i)
		}
		recs = append(recs, msg(fmt.Sprintf("k%04d", i), to, "crash test"))
	}
	e.submit(recs...)
	sent := func() uint64 { return e.sims["magti"].Stats().Submits + e.sims["silknet"].Stats().Submits }
	for round := 1; round <= 2; round++ {
		cmd := runBinary(t, bin, cfg)
		target := uint64(round * n / 3)
		waitFor(t, 60*time.Second, fmt.Sprintf("%d submits before crash %d", target, round), func() bool { return sent() >= target })
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		var journaled, withOutcome, parked int
		_ = e.st.Pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE state = 1),
	count(*) FILTER (WHERE state = 1 AND EXISTS (SELECT 1 FROM attempts a WHERE a.message_id = m.id)),
	count(*) FILTER (WHERE due IS NOT NULL) FROM messages m`).Scan(&journaled, &withOutcome, &parked)
		t.Logf("crash %d after %d submits: %d journaled (%d with an outcome), %d parked", round, sent(), journaled, withOutcome, parked)
	}
	cmd := runBinary(t, bin, cfg)
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); stopOrDump(t, "smsgate", cmd, 30*time.Second) })
	deadline := time.Now().Add(120 * time.Second)
	for {
		missing := map[string]int{}
		for _, r := range recs {
			l := e.events.last(r["id"].(string))
			if l == nil {
				missing["none"]++
			} else if l["status"] != "delivered" && l["status"] != "unknown" {
				missing[fmt.Sprint(l["status"])]++
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			rows, _ := e.st.Pool.Query(context.Background(), `SELECT state, count(*) FROM messages GROUP BY 1`)
			var states []string
			for rows.Next() {
				var s, c int
				_ = rows.Scan(&s, &c)
				states = append(states, fmt.Sprintf("%d:%d", s, c))
			}
			rows.Close()
			for name, sim := range e.sims {
				st := sim.Stats()
				t.Logf("%s: submits %d receipts sent %d acked %d nacked %d unacked %d dropped %d scheduled %d binds %d",
					name, st.Submits, st.ReceiptsSent, st.ReceiptsAcked, st.ReceiptsNacked, st.ReceiptsUnacked, st.ReceiptsDropped, st.Scheduled, st.BindsCurrent)
			}
			t.Fatalf("ids without a final or unknown status: %v; db row states %v", missing, states)
		}
		time.Sleep(200 * time.Millisecond)
	}
	got := submitsTo(e.sims["magti"])
	for d, c := range submitsTo(e.sims["silknet"]) {
		got[d] += c
	}
	unknown := 0
	for _, r := range recs {
		id := r["id"].(string)
		st := strings.Join(e.events.statuses(id), ",")
		mayRepeat := strings.Contains(st, "unknown")
		if mayRepeat {
			unknown++
		}
		if c := got[r["to"].(string)]; c > 1 && !mayRepeat {
			t.Errorf("%s reached the SMSC %d times with statuses %s", id, c, st)
		}
		if got[r["to"].(string)] == 0 && !mayRepeat {
			t.Errorf("%s never reached the SMSC but says %s", id, st)
		}
	}
	var dup int
	if err := e.st.Pool.QueryRow(context.Background(), `SELECT count(*) - count(DISTINCT (message_id, part)) FROM ledger`).Scan(&dup); err != nil {
		t.Fatal(err)
	}
	if dup != 0 {
		t.Errorf("%d parts billed twice", dup)
	}
	t.Logf("after two kill -9: %d messages, %d unknown (claimed at a crash, never resent)", n, unknown)
}

// SIGTERM under load: the ordered shutdown finishes in-flight work, so after
// a restart every id is delivered, none reached the SMSC twice, and nothing
// was left claimed (no unknown).
func TestSIGTERMUnderLoad(t *testing.T) {
	bin := smsgateBinary(t)
	e := newEnv(t, twoOperators(smppsim.Options{RespDelay: time.Millisecond}, smppsim.Options{RespDelay: time.Millisecond}), baseRouting)
	cfg := writeConfig(t, e.yaml)
	const n = 3000
	var recs []map[string]any
	for i := 0; i < n; i++ {
		recs = append(recs, msg(fmt.Sprintf("s%04d", i), fmt.Sprintf("99559%07d", i), "sigterm test"))
	}
	e.submit(recs...)
	cmd := runBinary(t, bin, cfg)
	sent := func() uint64 { return e.sims["magti"].Stats().Submits }
	waitFor(t, 60*time.Second, "load running", func() bool { return sent() > 500 })
	_ = cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("smsgate did not exit cleanly on SIGTERM: %v", err)
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("smsgate did not stop within 60s of SIGTERM")
	}
	again := runBinary(t, bin, cfg, "-log-level", "error")
	t.Cleanup(func() { _ = again.Process.Signal(syscall.SIGTERM); stopOrDump(t, "smsgate", again, 30*time.Second) })
	waitFor(t, 120*time.Second, "every id delivered", func() bool {
		for _, r := range recs {
			if l := e.events.last(r["id"].(string)); l == nil || l["status"] != "delivered" {
				return false
			}
		}
		return true
	})
	for d, c := range submitsTo(e.sims["magti"]) {
		if c != 1 {
			t.Errorf("%s reached the SMSC %d times", d, c)
		}
	}
	for _, r := range recs {
		if st := strings.Join(e.events.statuses(r["id"].(string)), ","); strings.Contains(st, "unknown") {
			t.Errorf("%s: %s (a graceful stop must leave nothing unknown)", r["id"], st)
		}
	}
}
