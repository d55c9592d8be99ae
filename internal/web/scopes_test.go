package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/smsgate/smsgate/internal/config"
)

func scopedTokens() []config.Token {
	return []config.Token{
		{Name: "noc", Token: "noc-token", Scopes: []string{config.ScopeStatus}},
		{Name: "fin", Token: "fin-token", Scopes: []string{config.ScopeStatus, config.ScopeFinance}},
		{Name: "ops", Token: "ops-token", Scopes: []string{config.ScopeStatus, config.ScopeControl}},
	}
}

// Each route needs its scope: 401 without a token, 403 with a token that
// lacks the scope, through with one that has it.
func TestScopes(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	srv := newTestServer(t, Options{Tokens: scopedTokens(), Control: &fakeControl{}, Logger: zap.New(core)})
	cases := []struct {
		method, path string
		allowed      map[string]bool // token → passes auth
	}{
		{"GET", "/api/v1/exports/billing?from=2026-11-01&to=2026-12-01", map[string]bool{"fin-token": true}},
		{"GET", "/api/v1/exports/mo?from=2026-11-01&to=2026-12-01", map[string]bool{"fin-token": true}},
		{"GET", "/api/v1/billing/summary", map[string]bool{"fin-token": true}},
		{"POST", "/api/v1/operators/magti/drain", map[string]bool{"ops-token": true}},
		{"PUT", "/api/v1/blocklist/995599000001", map[string]bool{"ops-token": true}},
		{"POST", "/api/v1/holds/h1/release", map[string]bool{"ops-token": true}},
		{"GET", "/api/v1/holds", map[string]bool{"noc-token": true, "fin-token": true, "ops-token": true}},
	}
	for _, c := range cases {
		if code, _ := do(t, c.method, srv.URL+c.path, ""); code != http.StatusUnauthorized {
			t.Errorf("%s %s without a token: %d, want 401", c.method, c.path, code)
		}
		for _, tok := range []string{"noc-token", "fin-token", "ops-token"} {
			code, body := do(t, c.method, srv.URL+c.path, tok)
			denied := code == http.StatusForbidden
			if denied == c.allowed[tok] {
				t.Errorf("%s %s with %s: %d %q; allowed %t", c.method, c.path, tok, code, body, c.allowed[tok])
			}
		}
	}
	// Control actions are audited with the token's name and the result.
	audits := logs.FilterMessage("audit").All()
	var sawDrain bool
	for _, e := range audits {
		f := e.ContextMap()
		if f["action"] == "operator" && f["token"] == "ops" && f["target"] == "/api/v1/operators/magti/drain" && f["status"] == int64(204) {
			sawDrain = true
		}
		if f["token"] == "" || f["token"] == nil {
			t.Errorf("audit line without a token name: %v", f)
		}
		for _, v := range f {
			if s, ok := v.(string); ok && strings.Contains(s, "-token") {
				t.Errorf("audit line shows a secret: %v", f)
			}
		}
	}
	if !sawDrain {
		t.Errorf("no audit line for the drain: %v", audits)
	}
	if n := len(audits); n < 5 { // drain, block, hold release, 2 exports reached 503
		t.Errorf("%d audit lines: %v", n, audits)
	}
}

// RFC 7235: "bearer", "BEARER" and extra spaces are the same scheme.
func TestBearerCaseInsensitive(t *testing.T) {
	srv := newTestServer(t, Options{Tokens: scopedTokens(), Control: &fakeControl{}})
	drain := func(h string) int {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/operators/magti/drain", nil)
		req.Header.Set("Authorization", h)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, h := range []string{"bearer ops-token", "BEARER ops-token", "Bearer  ops-token", "bEaReR ops-token "} {
		if code := drain(h); code != http.StatusNoContent {
			t.Errorf("Authorization %q: %d, want 204", h, code)
		}
	}
	for _, h := range []string{"Basic b3BzLXRva2Vu", "ops-token", "Bearer"} {
		if code := drain(h); code != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d, want 401", h, code)
		}
	}
}

// The status JSON shows money only to a finance token and subscriber
// numbers only to a token; a wrong token is refused, not downgraded.
func TestStatusMoneyNeedsFinance(t *testing.T) {
	st := testStore(t)
	srv := newTestServer(t, Options{Tokens: scopedTokens(), Store: st})
	view := func(tok string) map[string]json.RawMessage {
		code, body := do(t, "GET", srv.URL+"/api/v1/status", tok)
		if code != http.StatusOK {
			t.Fatalf("status with %q: %d %s", tok, code, body)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	anon, noc, fin := view(""), view("noc-token"), view("fin-token")
	if _, has := anon["billing"]; has {
		t.Errorf("anonymous status shows billing: %s", anon["billing"])
	}
	if _, has := noc["billing"]; has {
		t.Errorf("a status-only token sees billing: %s", noc["billing"])
	}
	if _, has := fin["billing"]; !has {
		t.Error("a finance token does not see billing")
	}
	if string(anon["recent_mo"]) != "[]" {
		t.Errorf("anonymous status shows MO: %s", anon["recent_mo"])
	}
	if string(anon["scopes"]) != "[]" || !strings.Contains(string(fin["scopes"]), "finance") {
		t.Errorf("scopes: anonymous %s, finance %s", anon["scopes"], fin["scopes"])
	}
	if code, _ := do(t, "GET", srv.URL+"/api/v1/status", "no-such-token"); code != http.StatusForbidden {
		t.Errorf("status with a wrong token: %d, want 403", code)
	}
}

// operators[].binds_up and live[].binds_up come from one source.
func TestStatusBindsOneSource(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "smsgate_smpp_binds_up", Help: "x"}, []string{"operator"})
	reg.MustRegister(g)
	g.WithLabelValues("silknet").Set(3) // e.g. sampled before a bind dropped
	live := []struct {
		Name    string `json:"name"`
		BindsUp int    `json:"binds_up"`
	}{{"silknet", 2}}
	srv := newTestServer(t, Options{Gatherer: reg, Live: func() any { return live }})
	code, body := do(t, "GET", srv.URL+"/api/v1/status", "")
	if code != 200 {
		t.Fatal(code, body)
	}
	var doc struct {
		Operators []struct {
			Name    string  `json:"name"`
			BindsUp float64 `json:"binds_up"`
		} `json:"operators"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Operators) != 1 || doc.Operators[0].BindsUp != 2 {
		t.Errorf("operators %+v, want silknet with the live count 2", doc.Operators)
	}
}
