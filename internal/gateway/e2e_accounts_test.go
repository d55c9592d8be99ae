package gateway

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/pkg/smppsim"
)

// Four accounts, each with one money or quota rule, through one gateway:
// a prepaid account stops at its balance, a postpaid one at its credit
// limit, a hold account waits for a credit and then sends, a quota counts
// parts. Every account's balance equals the sum of its ledger entries and
// nothing stays reserved once the traffic is done.
func TestAccountBalancesAndQuotas(t *testing.T) {
	e := newEnv(t, []simSpec{{name: "magti"}}, `routes:
  - {prefix: "995", operator: magti, cost: 0.010, currency: EUR}
accounts:
  - {name: pre, billing: prepaid, rates: [{prefix: "995", price: 0.030, currency: EUR}]}
  - {name: post, credit_limit: 0.09, rates: [{prefix: "995", price: 0.030, currency: EUR}]}
  - {name: wait, billing: prepaid, on_insufficient: hold, rates: [{prefix: "995", price: 0.030, currency: EUR}]}
  - {name: capped, quota: {day: 5}, rates: [{prefix: "995", price: 0.030, currency: EUR}]}
  - {name: mixed, billing: prepaid, on_insufficient: hold, rates: [{prefix: "9955", price: 0.010, currency: EUR}, {prefix: "99559", price: 0.050, currency: EUR}]}
`)
	ctx := context.Background()
	credit := func(account, amount, key string) store.CreditResult {
		t.Helper()
		a, err := billing.ParseAmount(amount)
		if err != nil {
			t.Fatal(err)
		}
		r, _, err := e.st.ApplyCredit(ctx, store.Credit{Account: account, Amount: a, Currency: "EUR", Reference: "test " + key, IdempotencyKey: key})
		if err != nil {
			t.Fatalf("credit %s: %v", account, err)
		}
		return r
	}
	credit("pre", "0.30", "k1")  // 10 messages
	credit("wait", "0.06", "k2") // 2 messages now, 3 after the next credit
	credit("pre", "0.30", "k1")  // replayed: changes nothing
	e.start()
	e.waitBound("magti")
	var recs []map[string]any
	next := map[string]int{}
	add := func(account string, n int, text string) {
		for k := 0; k < n; k++ {
			i := next[account]
			next[account]++
			recs = append(recs, msg(fmt.Sprintf("%s-%02d", account, i), fmt.Sprintf("99559%s%04d", map[string]string{"pre": "1", "post": "2", "wait": "3", "capped": "4", "mixed": "5"}[account], i), text, "account", account))
		}
	}
	add("pre", 15, "prepaid")
	add("post", 5, "postpaid")
	add("wait", 5, "held until funds")
	add("capped", 2, strings.Repeat("long message in three parts ", 12)) // 3 parts each: the second passes the quota of 5
	add("capped", 3, "one part")
	add("mixed", 4, "0.05 each")
	e.submit(recs...)
	count := func(prefix, status, reason string) int {
		n := 0
		for _, r := range recs {
			id := r["id"].(string)
			if !strings.HasPrefix(id, prefix+"-") {
				continue
			}
			l := e.events.last(id)
			if l != nil && l["status"] == status && (reason == "" || errReason(l) == reason) {
				n++
			}
		}
		return n
	}
	waitFor(t, 30*time.Second, "every message decided", func() bool {
		return count("pre", "delivered", "")+count("pre", "rejected", "insufficient_funds") == 15 &&
			count("post", "delivered", "")+count("post", "rejected", "insufficient_funds") == 5 &&
			count("wait", "delivered", "")+count("wait", "held", "insufficient_funds") == 5 &&
			count("capped", "delivered", "")+count("capped", "rejected", "quota_exceeded") == 5 &&
			count("mixed", "held", "insufficient_funds") == 4
	})
	if got := count("pre", "delivered", ""); got != 10 {
		t.Errorf("prepaid with 0.30 at 0.03: %d delivered, want 10", got)
	}
	if got := count("post", "delivered", ""); got != 3 {
		t.Errorf("postpaid with credit_limit 0.09 at 0.03: %d delivered, want 3", got)
	}
	if got := count("wait", "delivered", ""); got != 2 {
		t.Errorf("hold with 0.06 at 0.03: %d delivered, want 2", got)
	}
	// Quota 5 parts a day: which messages fit depends on arrival order, the
	// parts sent never pass 5 and a refused one would have.
	var capParts int
	for _, r := range recs {
		id := r["id"].(string)
		if strings.HasPrefix(id, "capped-") && e.events.last(id)["status"] == "delivered" {
			capParts += int(e.events.last(id)["parts"].(float64))
		}
	}
	if capParts > 5 || capParts < 3 {
		t.Errorf("capped sent %d parts under a daily quota of 5", capParts)
	}
	if got := e.metric("smsgate_dispatch_refused_total", map[string]string{"account": "pre", "status": "rejected", "reason": "insufficient_funds"}); got != 5 {
		t.Errorf("refused counter for pre: %v, want 5", got)
	}
	if got := e.metric("smsgate_dispatch_refused_total", map[string]string{"account": "wait", "status": "held", "reason": "insufficient_funds"}); got != 3 {
		t.Errorf("held counter for wait: %v, want 3", got)
	}
	// A credit releases the held messages; they go out.
	r := credit("wait", "0.09", "k3")
	if r.Balance.String() != "0.09" {
		t.Errorf("balance after the second credit %s", r.Balance)
	}
	waitFor(t, 30*time.Second, "held messages sent after the credit", func() bool { return count("wait", "delivered", "") == 5 })
	for _, r := range recs {
		id := r["id"].(string)
		if strings.HasPrefix(id, "wait-") {
			if st := strings.Join(e.events.statuses(id), ","); st != "submitted,delivered" && st != "held,submitted,delivered" {
				t.Errorf("%s: %s", id, st)
			}
		}
	}
	// A credit estimated at the account's lowest price (0.01) releases all
	// four held messages; at 0.05 it pays for two, and the other two are
	// held again without a second "held".
	credit("mixed", "0.10", "k4")
	waitFor(t, 30*time.Second, "two of mixed sent", func() bool { return count("mixed", "delivered", "") == 2 })
	waitFor(t, 10*time.Second, "the other two held again", func() bool {
		var again int
		_ = e.st.Pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE account = 'mixed' AND state = 8 AND held_at > now() - interval '1 minute'`).Scan(&again)
		return again == 2
	})
	for i := 0; i < 4; i++ {
		id := fmt.Sprintf("mixed-%02d", i)
		if st := strings.Join(e.events.statuses(id), ","); st != "held,submitted,delivered" && st != "held" {
			t.Errorf("%s: %s", id, st)
		}
	}
	waitFor(t, 10*time.Second, "reservations released", func() bool {
		for _, a := range []string{"pre", "post", "wait", "capped", "mixed"} {
			f, _ := store.GetFunds(ctx, e.st.Pool, a)
			if f.Reserved != 0 || f.Awaiting != 0 {
				return false
			}
		}
		return true
	})
	want := map[string]string{"pre": "0", "post": "-0.09", "wait": "0", "capped": ""}
	for a, w := range want {
		f := checkLedgerBalance(t, e, a)
		if w != "" && f.Balance().String() != w {
			t.Errorf("%s balance %s, want %s", a, f.Balance(), w)
		}
	}
	f, _ := store.GetFunds(ctx, e.st.Pool, "capped")
	if f.DayParts != int64(capParts) {
		t.Errorf("capped day_parts %d, sent %d", f.DayParts, capParts)
	}
}

func errReason(ev map[string]any) string {
	if er, ok := ev["error"].(map[string]any); ok {
		s, _ := er["reason"].(string)
		return s
	}
	return ""
}

// checkLedgerBalance asserts that an account's balance is its credits
// minus its billed parts, as the ledger lists them, and returns its row.
func checkLedgerBalance(t *testing.T, e *env, account string) store.Funds {
	t.Helper()
	ctx := context.Background()
	f, err := store.GetFunds(ctx, e.st.Pool, account)
	if err != nil {
		t.Fatal(err)
	}
	var billed, credits billing.Amount
	var s string
	if err := e.st.Pool.QueryRow(ctx, `SELECT coalesce(sum(price), 0)::text FROM ledger WHERE account = $1`, account).Scan(&s); err != nil {
		t.Fatal(err)
	}
	if billed, err = billing.ParseAmount(s); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Pool.QueryRow(ctx, `SELECT coalesce(sum(amount), 0) FROM credits WHERE account = $1`, account).Scan(&credits); err != nil {
		t.Fatal(err)
	}
	if f.Credits != credits || f.Spent != billed {
		t.Errorf("%s: account_funds credits %s spent %s, ledger credits %s billed %s", account, f.Credits, f.Spent, credits, billed)
	}
	return f
}

// The intent lane reserves a gated account's message before it goes out;
// that is what the outcome releases. With charge_on delivered the accepted
// parts stay committed until their receipt, so a prepaid account never
// spends what a pending receipt may still charge.
func TestAccountChargeOnDeliveredKeepsPartsCommitted(t *testing.T) {
	e := newEnv(t, []simSpec{{name: "magti", opts: smppsim.Options{ReceiptDelay: 3 * time.Second,
		DestStat: map[string]string{"9955992": smppsim.StatUndeliv}}}}, `routes:
  - {prefix: "995", operator: magti, cost: 0.010, currency: EUR}
accounts:
  - {name: acme, billing: prepaid, rates: [{prefix: "995", price: 0.030, currency: EUR}]}
`)
	e.cfg.Operators[0].ChargeOn = "delivered"
	if _, _, err := e.st.ApplyCredit(context.Background(), store.Credit{Account: "acme", Amount: 150000, Currency: "EUR", Reference: "r", IdempotencyKey: "k"}); err != nil {
		t.Fatal(err)
	}
	e.start()
	// Four accepted, their receipts 3 s away: they stay committed, so of
	// the next sixteen only one more fits the balance of five.
	var recs []map[string]any
	for i := 0; i < 20; i++ {
		to := fmt.Sprintf("9955991%04d", i)
		if i >= 4 && i%2 == 1 {
			to = fmt.Sprintf("9955992%04d", i) // undeliverable: not charged, its commitment freed
		}
		recs = append(recs, msg(fmt.Sprintf("d%02d", i), to, "pay on delivery"))
	}
	e.submit(recs[:4]...)
	waitFor(t, 10*time.Second, "the first four accepted", func() bool {
		for _, r := range recs[:4] {
			if l := e.events.last(r["id"].(string)); l == nil || l["status"] != "submitted" {
				return false
			}
		}
		return true
	})
	e.submit(recs[4:]...)
	waitFor(t, 30*time.Second, "all decided", func() bool {
		for _, r := range recs {
			l := e.events.last(r["id"].(string))
			if l == nil || (l["status"] != "delivered" && l["status"] != "undeliverable" && l["status"] != "rejected") {
				return false
			}
		}
		return true
	})
	if n := len(submitsTo(e.sims["magti"])); n != 5 {
		t.Errorf("%d messages sent with 0.15 at 0.03 and four awaiting their receipts, want 5", n)
	}
	delivered := 0
	for _, r := range recs {
		if e.events.last(r["id"].(string))["status"] == "delivered" {
			delivered++
		}
	}
	if delivered > 5 {
		t.Errorf("%d delivered at 0.03 with a balance of 0.15", delivered)
	}
	waitFor(t, 10*time.Second, "nothing committed", func() bool {
		f, _ := store.GetFunds(context.Background(), e.st.Pool, "acme")
		return f.Reserved == 0 && f.Awaiting == 0
	})
	f := checkLedgerBalance(t, e, "acme")
	if f.Balance() < 0 {
		t.Errorf("prepaid balance %s below zero", f.Balance())
	}
}
