package gateway

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/web"
	"github.com/smsgate/smsgate/pkg/smppsim"
)

// The status page in a real browser (Debian chromium driven by npm
// playwright-core) during a simulated run: the numbers move, match
// /metrics, the route-quality table shows magti's delivery rate as
// /metrics does, the accounts table shows acme's rate (its balance as the
// accounts API has it, with finance only), money appears only after a
// finance token is given, no
// external request is made; a screenshot is kept in
// $SMSGATE_ARTIFACTS (default: the test's temp dir).
func TestStatusPageInBrowser(t *testing.T) {
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Fatal("chromium is not installed: run scripts/ensure-deps.sh (Debian package chromium)")
	}
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "test", "browser")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		t.Fatal("npm playwright-core is not installed in test/browser: run scripts/ensure-deps.sh")
	}
	// magti delivers 90%: the page's route-quality table shows it.
	e := newEnv(t, twoOperators(smppsim.Options{RespDelay: 2 * time.Millisecond, Seed: 1, DeliveredRatio: 0.9, UndelivRatio: 0.1}, smppsim.Options{}),
		baseRouting+"quality: {window: 1h, min_samples: 20, explore: 0.02}\n")
	e.cfg.Operators[0].TPS = 100
	e.start()
	addr := make(chan string, 1)
	const financeToken = "page-finance-token"
	srv := web.New(web.Options{Listen: "127.0.0.1:0", Tokens: []config.Token{{Name: "fin", Token: financeToken, Scopes: []string{config.ScopeStatus, config.ScopeFinance}}}, Gatherer: e.reg, Store: e.st, Ready: e.gw.Ready, Live: e.gw.Live, Trace: e.gw.Trace, Accounts: e.gw.Accounts, Addr: addr})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + <-addr

	// Steady traffic to magti while the page is open.
	stop := make(chan struct{})
	prodDone := make(chan struct{})
	go func() {
		defer close(prodDone)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			var recs []map[string]any
			for j := 0; j < 20; j++ {
				recs = append(recs, msg(fmt.Sprintf("p%04d-%02d", i, j), fmt.Sprintf("9955993%03d%02d", i%1000, j), "page test"))
			}
			e.submit(recs...)
		}
	}()
	defer func() { close(stop); <-prodDone }()

	outDir := os.Getenv("SMSGATE_ARTIFACTS")
	if outDir == "" {
		outDir = t.TempDir()
	}
	shot := filepath.Join(outDir, "status-page.png")
	cmd := exec.Command("node", filepath.Join(dir, "status_page.js"), base, shot, financeToken, "p0000-00")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("browser check failed: %v\n%s", err, out)
	}
	t.Logf("browser saw %s; screenshot %s", out, shot)
}
