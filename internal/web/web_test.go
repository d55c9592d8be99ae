package web

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/smsgate/smsgate/internal/config"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newTestServer(t *testing.T, o Options) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(New(o).Handler())
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url, token string) (*http.Response, string) {
	t.Helper()
	return request(t, "GET", url, token)
}

// request sends an empty-bodied request with an optional bearer token and
// returns the response with its body read.
func request(t *testing.T, method, url, token string) (*http.Response, string) {
	t.Helper()
	return send(t, method, url, token, "")
}

func TestAuth(t *testing.T) {
	srv := newTestServer(t, Options{Tokens: []config.Token{config.PlainToken("s3cret-token")}})
	for _, path := range []string{"/api/v1/exports/billing?from=2026-11-01&to=2026-12-01", "/api/v1/exports/mo?from=2026-11-01&to=2026-12-01", "/api/v1/billing/summary"} {
		if r, _ := get(t, srv.URL+path, ""); r.StatusCode != 401 {
			t.Errorf("%s without token: %d, want 401", path, r.StatusCode)
		}
		if r, body := get(t, srv.URL+path, "wrong"); r.StatusCode != 403 || strings.Contains(body, "s3cret") {
			t.Errorf("%s with a wrong token: %d %q, want 403 without the secret", path, r.StatusCode, body)
		}
		// The right token passes auth; without a store the export is 503.
		if r, _ := get(t, srv.URL+path, "s3cret-token"); r.StatusCode != 503 {
			t.Errorf("%s with the token: %d, want 503 (no store)", path, r.StatusCode)
		}
	}
	// The token never appears on the page or in the status JSON.
	for _, p := range []string{"/", "/api/v1/status", "/metrics", "/static/app.js"} {
		if _, body := get(t, srv.URL+p, ""); strings.Contains(body, "s3cret-token") {
			t.Errorf("%s shows the API token", p)
		}
	}
	noTokens := newTestServer(t, Options{})
	if r, _ := get(t, noTokens.URL+"/api/v1/billing/summary", "anything"); r.StatusCode != 403 {
		t.Errorf("no configured tokens must accept none: %d", r.StatusCode)
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_dispatch_parts_total", Help: "x"}, []string{"operator", "result"})
	reg.MustRegister(c)
	c.WithLabelValues("magti", "ok").Add(42)
	ready := errors.New("kafka: connection refused")
	srv := newTestServer(t, Options{Gatherer: reg, Ready: func(context.Context) error { return ready }})
	if r, _ := get(t, srv.URL+"/healthz", ""); r.StatusCode != 200 {
		t.Errorf("healthz %d", r.StatusCode)
	}
	if r, body := get(t, srv.URL+"/readyz", ""); r.StatusCode != 503 || !strings.Contains(body, "kafka") {
		t.Errorf("readyz %d %q", r.StatusCode, body)
	}
	ready = nil
	if r, _ := get(t, srv.URL+"/readyz", ""); r.StatusCode != 200 {
		t.Errorf("readyz when ready: %d", r.StatusCode)
	}
	if _, body := get(t, srv.URL+"/metrics", ""); !strings.Contains(body, `smsgate_dispatch_parts_total{operator="magti",result="ok"} 42`) {
		t.Errorf("metrics: %s", body)
	}
	if _, body := get(t, srv.URL+"/api/v1/status", ""); !strings.Contains(body, `"sent_total":42`) {
		t.Errorf("status JSON must carry the registry's numbers: %s", body)
	}
}

func TestPageHasNoExternalAssets(t *testing.T) {
	srv := newTestServer(t, Options{})
	ext := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//`)
	for _, p := range []string{"/", "/static/app.js", "/static/style.css"} {
		r, body := get(t, srv.URL+p, "")
		if r.StatusCode != 200 || body == "" {
			t.Fatalf("%s: %d", p, r.StatusCode)
		}
		if ext.MatchString(body) {
			t.Errorf("%s references an external asset", p)
		}
	}
	if r, _ := get(t, srv.URL+"/static/", ""); r.StatusCode == 200 {
		t.Errorf("directory listing must not exist")
	}
	if r, _ := get(t, srv.URL+"/static/..%2f..%2fserver.go", ""); r.StatusCode == 200 {
		t.Errorf("path traversal served a file")
	}
}

func TestParseRange(t *testing.T) {
	f, to, err := ParseRange("2026-11-01", "2026-12-01T00:00:00+04:00")
	if err != nil || !f.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) || !to.Equal(time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC)) {
		t.Errorf("got %v %v %v", f, to, err)
	}
	for _, c := range [][2]string{{"", "2026-12-01"}, {"2026-11-01", ""}, {"2026-13-01", "2026-12-01"}, {"2026-12-01", "2026-11-01"}, {"yesterday", "2026-12-01"}} {
		if _, _, err := ParseRange(c[0], c[1]); err == nil {
			t.Errorf("ParseRange(%q, %q): want error", c[0], c[1])
		}
	}
	srv := newTestServer(t, Options{Tokens: []config.Token{config.PlainToken("t")}})
	if r, body := get(t, srv.URL+"/api/v1/exports/billing?from=bad&to=2026-12-01", "t"); r.StatusCode != 400 && r.StatusCode != 503 {
		t.Errorf("bad range: %d %s", r.StatusCode, body)
	}
}

// No directory listing and no path tricks: only the page's own files are
// served.
func TestNoListingAndBodyLimit(t *testing.T) {
	srv := newTestServer(t, Options{Tokens: []config.Token{config.PlainToken("tok")}})
	for _, p := range []string{"/static/", "/static", "/static/..%2fpage.go", "/static/%2e%2e/web_test.go", "/static/index.html", "/.git/config", "/static/nope.js"} {
		r, body := get(t, srv.URL+p, "")
		if r.StatusCode != 404 && r.StatusCode != 405 && r.StatusCode != 301 {
			t.Errorf("%s: %d, want 404", p, r.StatusCode)
		}
		if strings.Contains(body, "<a href") || strings.Contains(body, "package web") {
			t.Errorf("%s lists or leaks files: %.80q", p, body)
		}
	}
	if r, _ := get(t, srv.URL+"/static/app.js", ""); r.StatusCode != 200 {
		t.Errorf("app.js: %d", r.StatusCode)
	}
}
