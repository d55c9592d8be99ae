package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/smsgate/smsgate/internal/web"
	"github.com/smsgate/smsgate/pkg/smppsim"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: run scripts/ensure-deps.sh (Debian package prometheus)", name)
	}
	return p
}

// The alert rules pass promtool's checks and their unit tests.
func TestPrometheusRules(t *testing.T) {
	promtool := needTool(t, "promtool")
	dir := filepath.Join(repoRoot(), "deploy", "prometheus")
	for _, args := range [][]string{{"check", "rules", "rules.yml"}, {"test", "rules", "rules_test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}

// A real Prometheus scrapes a running gateway; every query of the Grafana
// dashboard must evaluate without error and return data.
func TestDashboardQueriesAgainstLiveGateway(t *testing.T) {
	prom := needTool(t, "prometheus")
	e := newEnv(t, twoOperators(smppsim.Options{Seed: 1, DeliveredRatio: 0.9, UndelivRatio: 0.1, ThrottleRatio: 0.05}, smppsim.Options{}), baseRouting)
	// An error_map makes failed receipts count as supplier errors (the
	// dashboard's panel of them must have data).
	withOperatorKeys(e, "magti", `error_map: [{err: "13", status: undeliverable, reason: barred}]`)
	e.start()
	// As in `smsgate run`: Go and process collectors beside ours.
	e.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	addr := make(chan string, 1)
	srv := web.New(web.Options{Listen: "127.0.0.1:0", Gatherer: e.reg, Store: e.st, Ready: e.gw.Ready, Live: e.gw.Live, Addr: addr})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	target := <-addr

	// Traffic with a DLQ record, receipts and a few throttles.
	var recs []map[string]any
	for i := 0; i < 200; i++ {
		recs = append(recs, msg(fmt.Sprintf("g%03d", i), fmt.Sprintf("99559%07d", i), "dashboard"))
	}
	e.submit(recs...)
	e.submit(map[string]any{"id": "bad", "account": "acme", "text": "no destination"})
	waitFor(t, 30*time.Second, "receipts flowing", func() bool { l := e.events.last("g199"); return l != nil && l["status"] != "submitted" })

	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	promAddr := ln.Addr().String()
	ln.Close()
	cfg := fmt.Sprintf("global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n  - job_name: smsgate\n    static_configs: [{targets: [%q]}]\n", target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(prom, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr, "--log.level=warn")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	query := func(q string) (int, error) {
		resp, err := http.Get("http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		var body struct {
			Status string `json:"status"`
			Error  string `json:"error"`
			Data   struct {
				Result []json.RawMessage `json:"result"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			return 0, err
		}
		if body.Status != "success" {
			return 0, fmt.Errorf("%s", body.Error)
		}
		return len(body.Data.Result), nil
	}
	waitFor(t, 30*time.Second, "three scrapes", func() bool {
		n, err := query(`count_over_time(up{job="smsgate"}[1m])`)
		if err != nil || n == 0 {
			return false
		}
		v, _ := query(`count_over_time(up{job="smsgate"}[1m]) >= 3`)
		return v > 0
	})

	b, err := os.ReadFile(filepath.Join(repoRoot(), "deploy", "grafana", "smsgate.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	exprs := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			q := strings.NewReplacer("$__rate_interval", "1m", "$operator", ".*").Replace(tg.Expr)
			exprs++
			var n int
			var err error
			for i := 0; i < 20; i++ { // rates need two samples inside the window
				if n, err = query(q); err == nil && n > 0 {
					break
				}
				time.Sleep(500 * time.Millisecond)
			}
			if err != nil {
				t.Errorf("panel %q: %s: %v", p.Title, q, err)
			} else if n == 0 {
				t.Errorf("panel %q: %s: empty result", p.Title, q)
			}
		}
	}
	if exprs < 15 {
		t.Errorf("dashboard has only %d queries", exprs)
	}
}
