package gateway

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/internal/web"
	"github.com/smsgate/smsgate/pkg/smppsim"
)

// Drain under load: in-flight work resolves, nothing new is claimed, the
// queue stays; disable also unbinds and keeps the queue (it is not
// rerouted although another route exists); enable sends the rest. Every
// message is delivered exactly once.
func TestDrainDisableEnableUnderLoad(t *testing.T) {
	e := newEnv(t, twoOperators(smppsim.Options{RespDelay: 20 * time.Millisecond}, smppsim.Options{}), baseRouting)
	e.start()
	ctx := context.Background()
	const n = 3000
	var recs []map[string]any
	for i := 0; i < n; i++ {
		recs = append(recs, msg(fmt.Sprintf("d%04d", i), fmt.Sprintf("99559%07d", i), "drain"))
	}
	e.submit(recs...)
	magti := e.sims["magti"]
	waitFor(t, 30*time.Second, "traffic flowing to magti", func() bool { return magti.Stats().Submits >= 300 })
	if err := e.gw.OperatorAction(ctx, "magti", "drain"); err != nil {
		t.Fatal(err)
	}
	if err := e.gw.OperatorAction(ctx, "nope", "drain"); !errors.Is(err, web.ErrNotFound) {
		t.Errorf("unknown operator: %v, want ErrNotFound", err)
	}
	// In-flight work finishes; then nothing more goes out.
	var settled uint64
	waitFor(t, 20*time.Second, "drained: submits stop", func() bool {
		s := magti.Stats().Submits
		time.Sleep(time.Second)
		settled = magti.Stats().Submits
		return s == settled
	})
	if settled >= n {
		t.Fatalf("everything was sent before the drain took effect (%d)", settled)
	}
	if st := magti.Stats(); st.BindsCurrent == 0 {
		t.Error("drain closed the binds; only disable should")
	}
	live := e.gw.Live().([]OperatorLive)
	for _, o := range live {
		if o.Name == "magti" && o.State != "drained" {
			t.Errorf("status page state %q, want drained", o.State)
		}
	}
	// Disable: binds close, the queue stays with magti past the reroute delay.
	if err := e.gw.OperatorAction(ctx, "magti", "disable"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "disabled: magti unbound", func() bool { return magti.Stats().BindsCurrent == 0 })
	time.Sleep(12 * time.Second) // longer than the reroute of a down operator's queue
	var queued int
	if err := e.st.Pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE operator = 'magti' AND state = 0 AND due IS NOT NULL`).Scan(&queued); err != nil {
		t.Fatal(err)
	}
	if queued != n-int(settled) {
		t.Errorf("%d messages queued for magti, want the %d not sent before the drain", queued, n-int(settled))
	}
	if s := e.sims["silknet"].Stats().Submits; s != 0 {
		t.Errorf("a disabled operator's queue was rerouted: %d messages at silknet", s)
	}
	if err := e.gw.OperatorAction(ctx, "magti", "enable"); err != nil {
		t.Fatal(err)
	}
	waitAllFinal(t, e, recs, 2*time.Minute, "delivered")
	checkExactlyOnce(t, e, recs, magti, e.sims["silknet"])
	if s := magti.Stats().Submits; s != n {
		t.Errorf("magti received %d submits, want %d", s, n)
	}
}

// A blocklist imported with the CLI reaches a running gateway within
// seconds; the import is all-or-nothing on a bad line.
func TestBlocklistImportReachesRunningGateway(t *testing.T) {
	bin := smsgateBinary(t)
	e := newEnv(t, twoOperators(smppsim.Options{}, smppsim.Options{}), baseRouting+"protection: {blocklist: true}\n")
	e.start()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("number\n")
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&b, "+99559%07d\n", i)
	}
	good := filepath.Join(dir, "block.csv")
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(good, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("number\n+995598000001\n99x1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(file string) (string, error) {
		cmd := exec.Command(bin, "import", "blocklist", file)
		cmd.Env = append(os.Environ(), "SMSGATE_POSTGRES_DSN="+e.dsn)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run(bad); err == nil || !strings.Contains(out, "line 3") {
		t.Errorf("bad file: %v %q, want an error naming line 3", err, out)
	}
	if out, err := run(good); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	waitFor(t, 10*time.Second, "imported numbers applied", func() bool {
		return e.gw.protect.guard.Blocklist().Len() == 20000
	})
	e.submit(msg("in", "995590012345", "x"), msg("out", "995598000001", "x"))
	waitFor(t, 30*time.Second, "verdicts", func() bool {
		a, b := e.events.last("in"), e.events.last("out")
		return a != nil && b != nil && b["status"] == "delivered"
	})
	if l := e.events.last("in"); l["status"] != "rejected" {
		t.Errorf("blocklisted number: %v", l)
	}
}
