package web

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/smsgate/smsgate/internal/config"
)

// fakeControl records calls and answers per name: "ghost" is unknown
// (404), "bad" is a bad request (400), "boom" fails inside (500).
type fakeControl struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeControl) answer(call, name string) error {
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
	switch name {
	case "ghost":
		return fmt.Errorf("operator %q: %w", name, ErrNotFound)
	case "bad":
		return fmt.Errorf("%q: %w", name, ErrBadRequest)
	case "boom":
		return fmt.Errorf("postgres: password=hunter2 refused")
	}
	return nil
}

func (f *fakeControl) OperatorAction(_ context.Context, name, action string) error {
	if action != "drain" && action != "disable" && action != "enable" {
		return fmt.Errorf("action %q: %w", action, ErrNotFound)
	}
	return f.answer("operator "+name+" "+action, name)
}

func (f *fakeControl) SetBlocked(_ context.Context, number string, blocked bool) error {
	return f.answer(fmt.Sprintf("blocklist %s %v", number, blocked), number)
}

func (f *fakeControl) Holds(context.Context) (any, error) {
	return []map[string]any{{"id": "h1", "account": "acme", "range": "99559912"}}, nil
}

func (f *fakeControl) HoldAction(_ context.Context, id, action string) error {
	return f.answer("hold "+id+" "+action, id)
}

func do(t *testing.T, method, url, token string) (int, string) {
	t.Helper()
	resp, body := request(t, method, url, token)
	return resp.StatusCode, body
}

// The operator API of interface §6: bearer token (401 without, 403 wrong),
// 204 on success, 404 for an unknown name or action, 400 for a bad value,
// 500 without the internal error's text, 503 when the gateway has none.
func TestControlRoutes(t *testing.T) {
	fc := &fakeControl{}
	srv := newTestServer(t, Options{Tokens: []config.Token{config.PlainToken("tok")}, Control: fc})
	routes := []struct{ method, path string }{
		{"POST", "/api/v1/operators/magti/drain"},
		{"POST", "/api/v1/operators/magti/disable"},
		{"POST", "/api/v1/operators/magti/enable"},
		{"PUT", "/api/v1/blocklist/995599000001"},
		{"DELETE", "/api/v1/blocklist/995599000001"},
		{"POST", "/api/v1/holds/h1/release"},
		{"POST", "/api/v1/holds/h1/drop"},
	}
	for _, r := range routes {
		if code, _ := do(t, r.method, srv.URL+r.path, ""); code != 401 {
			t.Errorf("%s %s without a token: %d, want 401", r.method, r.path, code)
		}
		if code, _ := do(t, r.method, srv.URL+r.path, "nope"); code != 403 {
			t.Errorf("%s %s with a wrong token: %d, want 403", r.method, r.path, code)
		}
	}
	if len(fc.calls) != 0 {
		t.Fatalf("unauthorised requests reached the gateway: %v", fc.calls)
	}
	for _, r := range routes {
		if code, body := do(t, r.method, srv.URL+r.path, "tok"); code != 204 {
			t.Errorf("%s %s: %d %q, want 204", r.method, r.path, code, body)
		}
	}
	want := []string{"operator magti drain", "operator magti disable", "operator magti enable",
		"blocklist 995599000001 true", "blocklist 995599000001 false", "hold h1 release", "hold h1 drop"}
	if strings.Join(fc.calls, "|") != strings.Join(want, "|") {
		t.Errorf("calls %v, want %v", fc.calls, want)
	}
	for _, c := range []struct {
		method, path string
		code         int
	}{
		{"POST", "/api/v1/operators/ghost/drain", 404},
		{"POST", "/api/v1/operators/magti/explode", 404},
		{"POST", "/api/v1/holds/ghost/release", 404},
		{"PUT", "/api/v1/blocklist/bad", 400},
		{"POST", "/api/v1/operators/boom/enable", 500},
		{"GET", "/api/v1/operators/magti/drain", 405},
	} {
		code, body := do(t, c.method, srv.URL+c.path, "tok")
		if code != c.code {
			t.Errorf("%s %s: %d %q, want %d", c.method, c.path, code, body, c.code)
		}
		if strings.Contains(body, "hunter2") {
			t.Errorf("%s %s leaks an internal error: %q", c.method, c.path, body)
		}
	}
	if code, body := do(t, "GET", srv.URL+"/api/v1/holds", "tok"); code != 200 || !strings.Contains(body, `"range":"99559912"`) {
		t.Errorf("GET holds: %d %q", code, body)
	}
	if code, _ := do(t, "GET", srv.URL+"/api/v1/holds", ""); code != 401 {
		t.Errorf("GET holds without a token: %d, want 401", code)
	}
	none := newTestServer(t, Options{Tokens: []config.Token{config.PlainToken("tok")}})
	if code, _ := do(t, "POST", none.URL+"/api/v1/operators/magti/drain", "tok"); code != 503 {
		t.Errorf("no controller: %d, want 503", code)
	}
}
