package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/web"
)

// The accounts through the running gateway: messages held for funds, a
// credit through the API that releases them (the unparker kicked, they go
// out), the account's rate on this instance and its quota used in the
// API, and the account gauges (balance, low_balance threshold, quota,
// held, parts) agreeing with it.
func TestAccountsAPIAndGauges(t *testing.T) {
	e := newEnv(t, []simSpec{{name: "magti"}}, `routes:
  - {prefix: "995", operator: magti, cost: 0.010, currency: EUR}
accounts:
  - {name: wait, billing: prepaid, on_insufficient: hold, low_balance: 0.05, tps: 100, quota: {day: 1000, month: 5000},
     rates: [{prefix: "995", price: 0.030, currency: EUR}]}
  - {name: open, rates: [{prefix: "995", price: 0.020, currency: GEL}]}
`)
	e.start()
	e.waitBound("magti")
	srv := httptest.NewServer(web.New(web.Options{Store: e.st, Accounts: e.gw.Accounts, KickUnpark: e.gw.KickUnpark,
		Tokens: []config.Token{{Name: "fin", Token: "fin-token", Scopes: []string{config.ScopeFinance}}}}).Handler())
	t.Cleanup(srv.Close)
	call := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer fin-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return resp.StatusCode, out
	}

	var recs []map[string]any
	for i := 0; i < 4; i++ {
		recs = append(recs, msg(fmt.Sprintf("w%d", i), fmt.Sprintf("9955993%05d", i), "held until funds", "account", "wait"))
	}
	for i := 0; i < 6; i++ {
		recs = append(recs, msg(fmt.Sprintf("o%d", i), fmt.Sprintf("9955994%05d", i), "no limits", "account", "open"))
	}
	e.submit(recs...)
	waitFor(t, 30*time.Second, "wait's messages held, open's delivered", func() bool {
		for _, r := range recs {
			id := r["id"].(string)
			want := "delivered"
			if id[0] == 'w' {
				want = "held"
			}
			if l := e.events.last(id); l == nil || l["status"] != want {
				return false
			}
		}
		return true
	})
	waitFor(t, 10*time.Second, "held gauge", func() bool { return e.metric("smsgate_account_held", map[string]string{"account": "wait"}) == 4 })
	if v := e.metric("smsgate_account_low_balance", map[string]string{"account": "wait", "currency": "EUR"}); v != 0.05 {
		t.Errorf("low_balance gauge %v", v)
	}
	if n := e.metric("smsgate_account_low_balance", map[string]string{"account": "open"}); n != 0 {
		t.Errorf("a threshold for an account without low_balance: %v", n)
	}

	code, acct := call("GET", "/api/v1/accounts/wait", "")
	if code != 200 || acct["held"] != 4.0 || acct["balance"] != "0" || acct["billing"] != "prepaid" || acct["on_insufficient"] != "hold" ||
		acct["low_balance"] != "0.05" || acct["tps"] != 100.0 {
		t.Errorf("wait before the credit: %d %v", code, acct)
	}
	// 0.12 pays for all four; they are released and sent at once.
	start := time.Now()
	code, ans := call("POST", "/api/v1/accounts/wait/credit", `{"amount":"0.12","currency":"EUR","reference":"top-up","idempotency_key":"t1"}`)
	if code != http.StatusCreated || ans["balance"] != "0.12" {
		t.Fatalf("credit: %d %v", code, ans)
	}
	waitFor(t, 30*time.Second, "released messages delivered", func() bool {
		for i := 0; i < 4; i++ {
			if l := e.events.last(fmt.Sprintf("w%d", i)); l == nil || l["status"] != "delivered" {
				return false
			}
		}
		return true
	})
	// The kick takes them at once, not at the unparker's next round.
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("released messages took %v", d)
	}
	code, acct = call("GET", "/api/v1/accounts/wait", "")
	q, _ := acct["quota"].(map[string]any)
	if code != 200 || acct["held"] != 0.0 || acct["balance"] != "0" || q["day_used"] != 4.0 || q["month_used"] != 4.0 ||
		q["day"] != 1000.0 || q["month"] != 5000.0 || acct["rate"].(float64) <= 0 {
		t.Errorf("wait after sending: %v", acct)
	}
	if r := acct["rate"].(float64); r != 4.0/60 {
		t.Errorf("wait's rate %v, want 4 parts over the last minute", r)
	}
	// open has no rule: its balance goes below zero with what it sent.
	if code, o := call("GET", "/api/v1/accounts/open", ""); code != 200 || o["balance"] != "-0.12" || o["currency"] != "GEL" || o["billing"] != "postpaid" {
		t.Errorf("open: %d %v", code, o)
	}

	if n := e.metric("smsgate_account_parts_total", map[string]string{"account": "open"}); n != 6 {
		t.Errorf("parts counter of open %v, want 6", n)
	}
	waitFor(t, 10*time.Second, "account gauges after the traffic", func() bool {
		return e.metric("smsgate_account_held", map[string]string{"account": "wait"}) == 0 &&
			e.metric("smsgate_account_quota_used", map[string]string{"account": "wait", "period": "day"}) == 4 &&
			e.metric("smsgate_account_quota_used", map[string]string{"account": "wait", "period": "month"}) == 4
	})
	// The balance gauge: wait spent what it was credited, open is below
	// zero by its six messages (postpaid, no limit).
	if v := e.metric("smsgate_account_balance", map[string]string{"account": "wait", "currency": "EUR"}); v != 0 {
		t.Errorf("wait's balance gauge %v", v)
	}
	waitFor(t, 10*time.Second, "open's balance gauge", func() bool {
		return e.metric("smsgate_account_balance", map[string]string{"account": "open", "currency": "GEL"}) == -0.12
	})
}

// An account's rate is its parts over the last 60 seconds, whatever
// second they came in; older seconds stop counting.
func TestAccountRateWindow(t *testing.T) {
	r := newAccountRates(nil)
	now := time.Unix(1_800_000_000, 0)
	r.now = func() time.Time { return now }
	r.sent("a", 30)
	now = now.Add(30 * time.Second)
	r.sent("a", 60)
	r.sent("b", 6)
	r.sent("b", 0)
	if got := r.rate("a"); got != 1.5 {
		t.Errorf("rate %v, want 90 parts / 60 s", got)
	}
	now = now.Add(31 * time.Second) // the first 30 parts are older than a minute
	if got := r.rate("a"); got != 1 {
		t.Errorf("rate %v, want 60 parts / 60 s", got)
	}
	now = now.Add(2 * time.Minute)
	r.sent("a", 3) // reuses a slot of an old second
	if got := r.rate("a"); got != 0.05 {
		t.Errorf("rate %v, want 3 parts / 60 s", got)
	}
	if got := r.rate("nobody"); got != 0 {
		t.Errorf("unknown account's rate %v", got)
	}
	if got := r.rate("b"); got != 0 {
		t.Errorf("b's rate %v after two minutes", got)
	}
}
