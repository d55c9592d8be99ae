package faults

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// toxiproxy is a Shopify toxiproxy server (v2.5.0) owned by the test,
// proxying one listen address to the simulator.
type toxiproxy struct {
	t      *testing.T
	api    string
	listen string
}

// toxiproxyBinary finds the server scripts/ensure-deps.sh installs, or
// $TOXIPROXY_SERVER, or toxiproxy-server on PATH.
func toxiproxyBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TOXIPROXY_SERVER"); p != "" {
		return p
	}
	p := filepath.Join(repoRoot(), "bin", "tools", "toxiproxy-server-v2.5.0")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	if p, err := exec.LookPath("toxiproxy-server"); err == nil {
		return p
	}
	t.Skip("toxiproxy server not found (run scripts/ensure-deps.sh, or set $TOXIPROXY_SERVER)")
	return ""
}

func newToxiproxy(t *testing.T, dir, upstream string) *toxiproxy {
	t.Helper()
	bin := toxiproxyBinary(t)
	apiPort := freePort(t)
	tp := &toxiproxy{t: t, api: fmt.Sprintf("http://127.0.0.1:%d", apiPort), listen: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	startProc(t, "toxiproxy", filepath.Join(dir, "toxiproxy.log"), nil, bin, "-host", "127.0.0.1", "-port", fmt.Sprint(apiPort))
	waitFor(t, 20*time.Second, "toxiproxy API", func() bool {
		return tp.call(http.MethodGet, "/version", "") == nil
	})
	if err := tp.call(http.MethodPost, "/proxies",
		fmt.Sprintf(`{"name":"smsc","listen":%q,"upstream":%q,"enabled":true}`, tp.listen, upstream)); err != nil {
		t.Fatalf("toxiproxy: create proxy: %v", err)
	}
	return tp
}

func (tp *toxiproxy) call(method, path, body string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, tp.api+path, bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return nil
}

// latency delays everything the SMSC sends by ms ± jitter milliseconds.
func (tp *toxiproxy) latency(ms, jitter int) {
	tp.t.Helper()
	if err := tp.call(http.MethodPost, "/proxies/smsc/toxics",
		fmt.Sprintf(`{"name":"slow","type":"latency","stream":"downstream","attributes":{"latency":%d,"jitter":%d}}`, ms, jitter)); err != nil {
		tp.t.Fatalf("toxiproxy: add latency: %v", err)
	}
}

func (tp *toxiproxy) clear() {
	tp.t.Helper()
	if err := tp.call(http.MethodDelete, "/proxies/smsc/toxics/slow", ""); err != nil {
		tp.t.Fatalf("toxiproxy: remove latency: %v", err)
	}
}
