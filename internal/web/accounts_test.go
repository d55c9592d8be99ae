package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/internal/store"
)

func testAccounts() []AccountInfo {
	return []AccountInfo{
		{Name: "acme", Billing: "prepaid", Currency: "EUR", OnInsufficient: "hold", LowBalance: 5_000000, TPS: 50,
			QuotaDay: 1000, QuotaMonth: 20000, Loc: time.UTC, Rate: 12.5, Held: 3},
		{Name: "beta", Billing: "postpaid", Currency: "GEL", CreditLimit: 100_000000, OnInsufficient: "reject", Loc: time.UTC},
	}
}

// send makes a request with a JSON body (none when empty) and an
// optional bearer token, and returns the response with its body read.
func send(t *testing.T, method, url, token, body string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// A credit body is read strictly; what cannot be stored exactly as sent
// is refused.
func TestParseCredit(t *testing.T) {
	ok := `{"amount":"10.50","currency":"EUR","reference":"invoice 17","idempotency_key":"k-1"}`
	c, err := parseCredit([]byte(ok), "EUR")
	if err != nil || c.Amount != 10_500000 || c.Currency != "EUR" || c.Reference != "invoice 17" || c.IdempotencyKey != "k-1" {
		t.Fatalf("valid body: %+v %v", c, err)
	}
	if c, err := parseCredit([]byte(`{"amount":"-0.25","currency":"EUR","reference":"ადგილი — ok","idempotency_key":"`+strings.Repeat("k", 128)+`"}`), "EUR"); err != nil || c.Amount != -250000 {
		t.Errorf("negative adjustment, non-ASCII reference, 128-character key: %+v %v", c, err)
	}
	bad := map[string]string{
		"unknown field":      `{"amount":"1","currency":"EUR","reference":"r","idempotency_key":"k","note":"x"}`,
		"data after":         ok + `{}`,
		"two objects":        ok + ok,
		"array":              `[` + ok + `]`,
		"empty":              ``,
		"truncated":          `{"amount":"1"`,
		"number amount":      `{"amount":1.5,"currency":"EUR","reference":"r","idempotency_key":"k"}`,
		"exponent":           `{"amount":"1e3","currency":"EUR","reference":"r","idempotency_key":"k"}`,
		"seven decimals":     `{"amount":"0.1234567","currency":"EUR","reference":"r","idempotency_key":"k"}`,
		"zero":               `{"amount":"0.000","currency":"EUR","reference":"r","idempotency_key":"k"}`,
		"spaces":             `{"amount":" 1","currency":"EUR","reference":"r","idempotency_key":"k"}`,
		"plus":               `{"amount":"+1","currency":"EUR","reference":"r","idempotency_key":"k"}`,
		"huge":               `{"amount":"1000000001","currency":"EUR","reference":"r","idempotency_key":"k"}`,
		"comma":              `{"amount":"1,50","currency":"EUR","reference":"r","idempotency_key":"k"}`,
		"wrong currency":     `{"amount":"1","currency":"GEL","reference":"r","idempotency_key":"k"}`,
		"lower currency":     `{"amount":"1","currency":"eur","reference":"r","idempotency_key":"k"}`,
		"no amount":          `{"currency":"EUR","reference":"r","idempotency_key":"k"}`,
		"null key":           `{"amount":"1","currency":"EUR","reference":"r","idempotency_key":null}`,
		"empty reference":    `{"amount":"1","currency":"EUR","reference":"","idempotency_key":"k"}`,
		"long reference":     `{"amount":"1","currency":"EUR","reference":"` + strings.Repeat("r", 201) + `","idempotency_key":"k"}`,
		"long key":           `{"amount":"1","currency":"EUR","reference":"r","idempotency_key":"` + strings.Repeat("k", 129) + `"}`,
		"NUL escape":         `{"amount":"1","currency":"EUR","reference":"a\u0000b","idempotency_key":"k"}`,
		"newline":            `{"amount":"1","currency":"EUR","reference":"a\nb","idempotency_key":"k"}`,
		"raw tab":            "{\"amount\":\"1\",\"currency\":\"EUR\",\"reference\":\"a\tb\",\"idempotency_key\":\"k\"}",
		"C1 control":         `{"amount":"1","currency":"EUR","reference":"a\u0085b","idempotency_key":"k"}`,
		"bidi override":      `{"amount":"1","currency":"EUR","reference":"a\u202eb","idempotency_key":"k"}`,
		"line separator":     `{"amount":"1","currency":"EUR","reference":"a\u2028b","idempotency_key":"k"}`,
		"lone surrogate":     `{"amount":"1","currency":"EUR","reference":"a\ud800b","idempotency_key":"k"}`,
		"invalid UTF-8":      "{\"amount\":\"1\",\"currency\":\"EUR\",\"reference\":\"a\xffb\",\"idempotency_key\":\"k\"}",
		"escape in key":      `{"amount":"1","currency":"EUR","reference":"r","idempotency_key":"k\u001b[31m"}`,
		"DEL in key":         "{\"amount\":\"1\",\"currency\":\"EUR\",\"reference\":\"r\",\"idempotency_key\":\"k\x7f\"}",
		"currency not a str": `{"amount":"1","currency":["EUR"],"reference":"r","idempotency_key":"k"}`,
	}
	for name, body := range bad {
		if c, err := parseCredit([]byte(body), "EUR"); err == nil {
			t.Errorf("%s: accepted %+v", name, c)
		} else if strings.ContainsAny(err.Error(), "\x00\n\x1b\u202e\x7f") {
			t.Errorf("%s: the error echoes hostile bytes: %q", name, err)
		}
	}
}

// The accounts routes need the finance scope: 401 without a token, 403
// with one that lacks it; a finance token passes auth (503 here, no
// database).
func TestAccountsScopes(t *testing.T) {
	srv := newTestServer(t, Options{Tokens: scopedTokens(), Accounts: testAccounts})
	body := `{"amount":"1","currency":"EUR","reference":"r","idempotency_key":"k"}`
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/accounts"}, {"GET", "/api/v1/accounts/acme"}, {"POST", "/api/v1/accounts/acme/credit"},
	} {
		if r, _ := send(t, c.method, srv.URL+c.path, "", body); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s without a token: %d", c.method, c.path, r.StatusCode)
		}
		for _, tok := range []string{"noc-token", "ops-token", "wrong"} {
			if r, _ := send(t, c.method, srv.URL+c.path, tok, body); r.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s with %s: %d, want 403", c.method, c.path, tok, r.StatusCode)
			}
		}
		if r, _ := send(t, c.method, srv.URL+c.path, "fin-token", body); r.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s %s with fin-token and no database: %d, want 503", c.method, c.path, r.StatusCode)
		}
	}
	if r, _ := send(t, "GET", srv.URL+"/api/v1/accounts/acme/credit", "fin-token", ""); r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET on the credit route: %d", r.StatusCode)
	}
}

// Credits through the API against Postgres: 201 with the balance, the same
// key again 200 with the same body and nothing changed, another credit
// under the key 409, unknown account 404, bad bodies 400 with nothing
// stored, audit lines with the token's name, held messages released and
// the unparker kicked; GET shows the account.
func TestAccountsAPI(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	core, logs := observer.New(zapcore.InfoLevel)
	var kicks atomic.Int32
	srv := newTestServer(t, Options{Tokens: scopedTokens(), Store: st, Accounts: testAccounts, Logger: zap.New(core),
		KickUnpark: func() { kicks.Add(1) }})
	credits := func() int64 {
		var n int64
		if err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM credits`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Two of acme's messages held for insufficient funds, one of beta's.
	gen := st.Gen(time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC))
	if _, err := st.Pool.Exec(ctx, `INSERT INTO messages (id, gen, batch, state, account, sender, dest, body, encoding, dlr, marketing,
	priority, parts, operator, src_partition, src_offset, created_at, due, reason, detail, held_at)
SELECT id, $1, 1, 8, acct, 'ACME', '995599000001', 'hi', 0, true, false, 0, 1, 'magti', 0, 0, now(), 'infinity', 'insufficient_funds', 'short', now()
FROM (VALUES ('h1', 'acme'), ('h2', 'acme'), ('h3', 'beta')) v(id, acct)`, gen); err != nil {
		t.Fatal(err)
	}
	url := srv.URL + "/api/v1/accounts/acme/credit"
	first := `{"amount":"10.50","currency":"EUR","reference":"invoice 17","idempotency_key":"k-1"}`
	r, body := send(t, "POST", url, "fin-token", first)
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("credit: %d %s", r.StatusCode, body)
	}
	var ans struct {
		ID        int64  `json:"id"`
		Balance   string `json:"balance"`
		Currency  string `json:"currency"`
		CreatedAt string `json:"created_at"`
	}
	if err := json.Unmarshal([]byte(body), &ans); err != nil || ans.Balance != "10.5" || ans.Currency != "EUR" || ans.ID == 0 {
		t.Fatalf("credit answer %s (%v)", body, err)
	}
	if kicks.Load() != 1 {
		t.Errorf("unparker kicked %d times after a credit released holds", kicks.Load())
	}
	var stillHeld int64
	_ = st.Pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE state = 8 AND reason = 'insufficient_funds'`).Scan(&stillHeld)
	if stillHeld != 1 {
		t.Errorf("%d messages still held, want beta's only", stillHeld)
	}
	r2, body2 := send(t, "POST", url, "fin-token", first)
	if r2.StatusCode != http.StatusOK || body2 != body {
		t.Errorf("replay: %d %s, want 200 %s", r2.StatusCode, body2, body)
	}
	if r, body := send(t, "POST", url, "fin-token", `{"amount":"-0.25","currency":"EUR","reference":"fee","idempotency_key":"k-2"}`); r.StatusCode != http.StatusCreated ||
		!strings.Contains(body, `"balance":"10.25"`) {
		t.Errorf("adjustment: %d %s", r.StatusCode, body)
	}
	for _, conflicting := range []string{
		`{"amount":"11","currency":"EUR","reference":"invoice 17","idempotency_key":"k-1"}`,
		`{"amount":"10.50","currency":"EUR","reference":"invoice 18","idempotency_key":"k-1"}`,
	} {
		if r, body := send(t, "POST", url, "fin-token", conflicting); r.StatusCode != http.StatusConflict || !strings.Contains(body, "idempotency_key") {
			t.Errorf("reused key: %d %s, want 409", r.StatusCode, body)
		}
	}
	if r, _ := send(t, "POST", srv.URL+"/api/v1/accounts/nobody/credit", "fin-token", first); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown account: %d", r.StatusCode)
	}
	before := credits()
	for _, bad := range []string{
		`{"amount":"1","currency":"GEL","reference":"r","idempotency_key":"k-9"}`,
		`{"amount":"1","currency":"EUR","reference":"a\u0000b","idempotency_key":"k-9"}`,
		"{\"amount\":\"1\",\"currency\":\"EUR\",\"reference\":\"\xc3\x28\",\"idempotency_key\":\"k-9\"}",
		`{"amount":"1","currency":"EUR","reference":"r","idempotency_key":"k-9","extra":1}`,
		`{"amount":"1","currency":"EUR","reference":"r","idempotency_key":"` + strings.Repeat("x", 5000) + `"}`,
	} {
		if r, body := send(t, "POST", url, "fin-token", bad); r.StatusCode != http.StatusBadRequest {
			t.Errorf("bad body %.60q: %d %s", bad, r.StatusCode, body)
		}
	}
	if n := credits(); n != before || n != 2 {
		t.Errorf("credits stored: %d (before the bad bodies %d), want 2", n, before)
	}

	// GET one account and the list.
	r, body = send(t, "GET", srv.URL+"/api/v1/accounts/acme", "fin-token", "")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("get acme: %d %s", r.StatusCode, body)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"name": "acme", "billing": "prepaid", "balance": "10.25", "currency": "EUR", "credit_limit": "0",
		"reserved": "0", "awaiting": "0", "available": "10.25", "low_balance": "5", "on_insufficient": "hold", "held": 0.0,
		"tps": 50.0, "rate": 12.5}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("acme %s = %#v, want %#v", k, got[k], v)
		}
	}
	if q, _ := got["quota"].(map[string]any); q == nil || q["day"] != 1000.0 || q["month"] != 20000.0 || q["day_used"] != 0.0 || q["month_used"] != 0.0 {
		t.Errorf("acme quota %v", got["quota"])
	}
	if r, _ := send(t, "GET", srv.URL+"/api/v1/accounts/nobody", "fin-token", ""); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown account: %d", r.StatusCode)
	}
	r, body = send(t, "GET", srv.URL+"/api/v1/accounts", "fin-token", "")
	var list []map[string]any
	if err := json.Unmarshal([]byte(body), &list); err != nil || r.StatusCode != 200 || len(list) != 2 {
		t.Fatalf("list: %d %s", r.StatusCode, body)
	}
	if list[1]["name"] != "beta" || list[1]["balance"] != "0" || list[1]["held"] != 1.0 || list[1]["credit_limit"] != "100" {
		t.Errorf("beta in the list: %v", list[1])
	}

	// Every credit request is audited with the token's name, and the
	// applied ones log what they did.
	var audited, applied int
	for _, e := range logs.All() {
		f := e.ContextMap()
		if e.Message == "audit" && f["action"] == "credit" {
			audited++
			if f["token"] != "fin" {
				t.Errorf("audit line without the token's name: %v", f)
			}
		}
		if e.Message == "credit" && f["token"] == "fin" && f["account"] == "acme" {
			applied++
		}
	}
	if audited != 11 || applied != 3 {
		t.Errorf("%d audit lines for credits, %d applied lines; want 11 (every request) and 3 (first, replay, adjustment)", audited, applied)
	}
}

// The status JSON lists the accounts: rate, quota and holds for anyone,
// money only with the finance scope.
func TestStatusAccounts(t *testing.T) {
	st := testStore(t)
	if _, _, err := st.ApplyCredit(context.Background(), storeCredit("acme", 7_000000)); err != nil {
		t.Fatal(err)
	}
	srv := newTestServer(t, Options{Tokens: scopedTokens(), Store: st, Accounts: testAccounts})
	type acct struct {
		Name    string  `json:"name"`
		Rate    float64 `json:"rate"`
		Held    int64   `json:"held"`
		TPS     int     `json:"tps"`
		Balance *string `json:"balance"`
		Low     *string `json:"low_balance"`
		Quota   struct {
			Day int64 `json:"day"`
		} `json:"quota"`
	}
	status := func(tok string) []acct {
		_, body := get(t, srv.URL+"/api/v1/status", tok)
		var doc struct {
			Accounts []acct `json:"accounts"`
		}
		if err := json.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatal(err)
		}
		return doc.Accounts
	}
	for _, tok := range []string{"", "noc-token"} {
		a := status(tok)
		if len(a) != 2 || a[0].Name != "acme" || a[0].Rate != 12.5 || a[0].Held != 3 || a[0].TPS != 50 || a[0].Quota.Day != 1000 {
			t.Errorf("accounts with %q: %+v", tok, a)
		}
		for _, x := range a {
			if x.Balance != nil || x.Low != nil {
				t.Errorf("money without finance (%q): %+v", tok, x)
			}
		}
	}
	a := status("fin-token")
	if len(a) != 2 || a[0].Balance == nil || *a[0].Balance != "7" || a[0].Low == nil || *a[0].Low != "5" || a[1].Balance == nil || a[1].Low != nil {
		t.Errorf("accounts with finance: %+v", a)
	}
}

func storeCredit(acct string, amount billing.Amount) store.Credit {
	return store.Credit{Account: acct, Amount: amount, Currency: "EUR", Reference: "test", IdempotencyKey: "t-" + amount.String(), TokenName: "test"}
}

// The month summary has each account's credits of the month (in its time
// zone), what it was billed and the balance change.
func TestSummaryAccounts(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	tbilisi, err := time.LoadLocation("Asia/Tbilisi")
	if err != nil {
		t.Fatal(err)
	}
	accounts := func() []AccountInfo {
		return []AccountInfo{{Name: "acme", Currency: "EUR", Loc: tbilisi}, {Name: "beta", Currency: "EUR", Loc: time.UTC}}
	}
	if _, err := st.Pool.Exec(ctx, `
INSERT INTO billing_month (account, month, operator, currency, parts, cost, revenue) VALUES
 ('acme', '2026-11', 'magti', 'EUR', 3, 0.036, 0.09), ('acme', '2026-11', 'silknet', 'EUR', 1, 0.01, 0.02),
 ('beta', '2026-11', 'magti', 'EUR', 1, 0.012, 0.03);
INSERT INTO credits (account, amount, currency, reference, idempotency_key, balance_after, created_at) VALUES
 ('acme', 10000000, 'EUR', 'r', 'k1', 10000000, '2026-10-31T21:00:00Z'), -- 1 Nov 01:00 in Tbilisi
 ('acme', -500000, 'EUR', 'r', 'k2', 9500000, '2026-11-30T19:59:59Z'),
 ('acme', 1000000, 'EUR', 'r', 'k3', 10500000, '2026-11-30T20:00:00Z'), -- 1 Dec in Tbilisi
 ('beta', 2000000, 'EUR', 'r', 'k1', 2000000, '2026-10-31T21:00:00Z'), -- still October in UTC
 ('gone', 3000000, 'GEL', 'r', 'k1', 3000000, '2026-11-15T00:00:00Z');`); err != nil {
		t.Fatal(err)
	}
	srv := newTestServer(t, Options{Tokens: scopedTokens(), Store: st, Accounts: accounts})
	r, body := get(t, srv.URL+"/api/v1/billing/summary?month=2026-11", "fin-token")
	var doc struct {
		Accounts []map[string]any `json:"accounts"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || r.StatusCode != 200 {
		t.Fatalf("summary: %d %s", r.StatusCode, body)
	}
	want := []map[string]any{
		{"account": "acme", "currency": "EUR", "credit_count": 2.0, "credits": "9.5", "billed": "0.11", "balance_change": "9.39"},
		{"account": "beta", "currency": "EUR", "credit_count": 0.0, "credits": "0", "billed": "0.03", "balance_change": "-0.03"},
		{"account": "gone", "currency": "GEL", "credit_count": 1.0, "credits": "3", "billed": "0", "balance_change": "3"},
	}
	if len(doc.Accounts) != len(want) {
		t.Fatalf("accounts %v", doc.Accounts)
	}
	for i, w := range want {
		for k, v := range w {
			if doc.Accounts[i][k] != v {
				t.Errorf("%s %s = %v, want %v", w["account"], k, doc.Accounts[i][k], v)
			}
		}
	}
}
