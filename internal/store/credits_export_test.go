package store

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/internal/message"
)

// Credits are ledger entries of the billing export: one row each, part 0,
// status credit, the amount in price, in time order among the parts; an
// operator's export has none; and the summary of the export adds up to the
// ledger view plus the credits table, per account.
func TestBillingExportCredits(t *testing.T) {
	st := v2Store(t)
	ctx := context.Background()
	now := v2Now()
	gen := st.Gen(now)
	from, to := now.Add(-time.Hour), now.Add(time.Hour)
	v2Insert(t, st, now, IntentRow{M: v2Msg("a"), State: message.Sending}, IntentRow{M: v2Msg("x"), State: message.Sending})
	att := func(id string, part int16, acct string, sub time.Time) AttemptRow {
		r := v2Attempt(id, gen, part, 1, "op1", id+string(rune('0'+part)), message.Submitted, sub)
		r.Account, r.Charged, r.Price, r.Cost = acct, true, 30_000, 12_000
		return r
	}
	b := v2Batch(t, st, "outcomes")
	v2Tx(t, st, func(tx pgx.Tx) error {
		return AppendAttempts(ctx, tx, b, []AttemptRow{
			att("a", 1, "acme", now.Add(-30*time.Minute)), att("a", 2, "acme", now.Add(-30*time.Minute)),
			att("x", 1, "beta", now.Add(-20*time.Minute)),
		})
	})
	credit := func(acct string, amount billing.Amount, ref, key string) CreditResult {
		t.Helper()
		r, _, err := st.ApplyCredit(ctx, Credit{Account: acct, Amount: amount, Currency: "EUR", Reference: ref, IdempotencyKey: key, TokenName: "fin"})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	c1 := credit("acme", 10_000000, "invoice 17", "k1")
	c2 := credit("acme", -250000, "=cmd|' /C calc'!A0", "k2") // an adjustment; its reference never reaches a cell
	c3 := credit("beta", 1_000000, "top-up", "k1")
	if again := credit("acme", 10_000000, "invoice 17", "k1"); !again.Replay || again.ID != c1.ID {
		t.Fatalf("replay: %+v", again)
	}

	rows := v2Billing(t, st, ExportQuery{From: from, To: to})
	if len(rows) != 6 {
		t.Fatalf("%d rows, want 3 parts and 3 credits: %+v", len(rows), rows)
	}
	var credits []billing.BillingRow
	for i, r := range rows {
		if i > 0 && r.SubmittedAt.Before(rows[i-1].SubmittedAt) {
			t.Errorf("row %d out of time order: %+v", i, r)
		}
		if r.IsCredit() {
			credits = append(credits, r)
		}
	}
	want := []struct {
		c    CreditResult
		acct string
		amt  billing.Amount
	}{{c1, "acme", 10_000000}, {c2, "acme", -250000}, {c3, "beta", 1_000000}}
	if len(credits) != len(want) {
		t.Fatalf("credit rows %+v", credits)
	}
	for i, w := range want {
		g := credits[i]
		if g.MessageID != billing.CreditID(w.c.ID) || g.Part != 0 || g.Account != w.acct || g.Operator != "" || g.Destination != "" ||
			g.CountryPrefix != "" || g.Status != billing.CreditStatus || g.Cost != 0 || g.Price != w.amt || g.Currency != "EUR" ||
			!g.SubmittedAt.Equal(w.c.CreatedAt) {
			t.Errorf("credit row %d: %+v, want %+v", i, g, w)
		}
	}
	if got := v2Billing(t, st, ExportQuery{From: from, To: to, Account: "acme"}); len(got) != 4 {
		t.Errorf("acme's export: %d rows, want 2 parts and 2 credits: %+v", len(got), got)
	}
	for _, r := range v2Billing(t, st, ExportQuery{From: from, To: to, Operator: "op1"}) {
		if r.IsCredit() {
			t.Errorf("an operator's export has a credit: %+v", r)
		}
	}
	if got := v2Billing(t, st, ExportQuery{From: to, To: to.Add(time.Hour)}); len(got) != 0 {
		t.Errorf("credits outside the range: %+v", got)
	}

	// The summary (as export billing -summary writes it) against the
	// ledger view and the credits table.
	cur, err := st.BillingRows(ctx, ExportQuery{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := billing.WriteBillingSummaryCSV(&buf, cur); err != nil {
		t.Fatal(err)
	}
	_ = cur.Close()
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	type tot struct{ price, credits, change billing.Amount }
	got := map[string]*tot{}
	for _, r := range recs[1:] {
		if r[0] == "total" {
			continue
		}
		if got[r[0]] == nil {
			got[r[0]] = &tot{}
		}
		a := got[r[0]]
		for i, p := range []*billing.Amount{&a.price, &a.credits, &a.change} {
			v, err := billing.ParseAmount(r[[]int{5, 7, 8}[i]])
			if err != nil {
				t.Fatalf("summary %q: %v", r, err)
			}
			*p += v
		}
	}
	for _, acct := range []string{"acme", "beta"} {
		var price, credits int64
		if err := st.Pool.QueryRow(ctx, `SELECT (coalesce(sum(price), 0) * 1000000)::bigint FROM ledger WHERE account = $1 AND submitted_at >= $2 AND submitted_at < $3`,
			acct, from, to).Scan(&price); err != nil {
			t.Fatal(err)
		}
		if err := st.Pool.QueryRow(ctx, `SELECT coalesce(sum(amount), 0)::bigint FROM credits WHERE account = $1`, acct).Scan(&credits); err != nil {
			t.Fatal(err)
		}
		g := got[acct]
		if g == nil || g.price != billing.Amount(price) || g.credits != billing.Amount(credits) || g.change != billing.Amount(credits-price) {
			t.Errorf("%s: summary %+v, ledger price %d credits %d", acct, g, price, credits)
		}
	}
	// The balance the credits left equals credits minus what was spent.
	f, err := GetFunds(ctx, st.Pool, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if f.Credits != 9_750000 || c2.Balance != f.Balance() {
		t.Errorf("acme funds %+v, last credit's balance %s", f, c2.Balance)
	}
	var conflict error
	_, _, conflict = st.ApplyCredit(ctx, Credit{Account: "acme", Amount: 1, Currency: "EUR", Reference: "other", IdempotencyKey: "k1"})
	if !errors.Is(conflict, ErrIdempotencyConflict) {
		t.Errorf("a reused key with another amount: %v", conflict)
	}
}
