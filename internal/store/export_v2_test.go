package store

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/internal/message"
)

func v2Billing(t *testing.T, st *Store, q ExportQuery) []billing.BillingRow {
	t.Helper()
	c, err := st.BillingRows(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out []billing.BillingRow
	for {
		var r billing.BillingRow
		err := c.Next(&r)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
}

// The billing export and the ledger view: one row per billed (message,
// part, attempt), status from receipts, charges summed (a refund cancels
// the price).
func TestV2BillingExportAndLedger(t *testing.T) {
	st := v2Store(t)
	ctx := context.Background()
	now := v2Now()
	gen := st.Gen(now)
	from, to := now.Add(-3*time.Hour), now
	at := func(min int) time.Time { return from.Add(time.Duration(min) * time.Minute) }

	var ids []IntentRow
	for _, id := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "late"} {
		ids = append(ids, IntentRow{M: v2Msg(id), State: message.Sending})
	}
	v2Insert(t, st, now, ids...)

	att := func(id string, part, a int16, op string, s message.State, sub time.Time, charged bool, price, cost billing.Amount) AttemptRow {
		r := v2Attempt(id, gen, part, a, op, id+string(rune('0'+part))+string(rune('0'+a)), s, sub)
		r.Charged, r.Price, r.Cost = charged, price, cost
		return r
	}
	rc := func(id string, part, a int16, s message.State, sub time.Time) ReceiptRow {
		return ReceiptRow{MessageID: id, Part: part, Attempt: a, Day: Day(sub), Operator: "op1", State: s, ReceivedAt: sub.Add(time.Minute)}
	}
	ch := func(id string, a, kind int16, op string, sub time.Time, price, cost billing.Amount) ChargeRow {
		return ChargeRow{MessageID: id, Part: 1, Attempt: a, Day: Day(sub), Kind: kind, Account: "acme", Operator: op,
			Destination: "995599000001", CountryPrefix: "995", Network: "28201", SubmittedAt: sub, Status: "x", Cost: cost,
			CostCurrency: "EUR", Price: price, Currency: "EUR", Month: sub.Format("2006-01")}
	}
	g := att("g", 1, 1, "op1", message.Submitted, at(60), true, 30_000, 12_000)
	g.Account = "other"
	b := v2Batch(t, st, "outcomes")
	v2Tx(t, st, func(tx pgx.Tx) error {
		if err := AppendAttempts(ctx, tx, b, []AttemptRow{
			att("a", 1, 1, "op1", message.Submitted, at(10), true, 30_000, 12_000),
			att("a", 2, 1, "op1", message.Submitted, at(10), true, 30_000, 12_000),
			att("b", 1, 1, "op1", message.Submitted, at(20), true, 30_000, 12_000),
			att("b", 1, 2, "op2", message.Submitted, at(25), true, 30_000, 15_000),
			att("c", 1, 1, "op1", message.Submitted, at(30), false, 0, 0),
			att("d", 1, 1, "op1", message.Unknown, at(40), true, 30_000, 12_000),
			att("e", 1, 1, "op1", message.Unknown, at(50), true, 30_000, 12_000),
			att("f", 1, 1, "op1", message.Submitted, at(55), false, 0, 0),
			g,
			att("h", 1, 1, "op1", message.Submitted, from.Add(-2*time.Hour), true, 30_000, 12_000),
			att("late", 1, 1, "op1", message.Submitted, to, true, 30_000, 12_000),
		}); err != nil {
			return err
		}
		if err := AppendReceipts(ctx, tx, b, []ReceiptRow{
			rc("a", 1, 1, message.Delivered, at(10)),
			rc("b", 1, 1, message.Undeliverable, at(20)),
			rc("b", 1, 2, message.Delivered, at(25)),
			rc("c", 1, 1, message.Delivered, at(30)),
			rc("d", 1, 1, message.Submitted, at(40)),
		}); err != nil {
			return err
		}
		_, err := AppendCharges(ctx, tx, b, []ChargeRow{
			ch("b", 1, ChargeRefund, "op1", at(20), 30_000, 0),
			ch("c", 1, ChargeOnReceipt, "op1", at(30), 45_000, 0),
			ch("c", 1, ChargeCostOnDeliv, "op1", at(30), 0, 12_500),
		})
		return err
	})

	row := func(id string, part int, op, status string, sub time.Time, cost, price billing.Amount) billing.BillingRow {
		return billing.BillingRow{MessageID: id, Part: part, Account: "acme", Operator: op, Destination: "995599000001",
			CountryPrefix: "995", SubmittedAt: sub, Status: status, Cost: cost, Price: price, Currency: "EUR"}
	}
	gRow := row("g", 1, "op1", "submitted", at(60), 12_000, 30_000)
	gRow.Account = "other"
	all := []billing.BillingRow{
		row("a", 1, "op1", "delivered", at(10), 12_000, 30_000),
		row("a", 2, "op1", "submitted", at(10), 12_000, 30_000),
		row("b", 1, "op1", "undeliverable", at(20), 12_000, 0),
		row("b", 1, "op2", "delivered", at(25), 15_000, 30_000),
		row("c", 1, "op1", "delivered", at(30), 12_500, 45_000),
		row("d", 1, "op1", "submitted", at(40), 12_000, 30_000),
		row("e", 1, "op1", "unknown", at(50), 12_000, 30_000),
		gRow,
	}
	cases := []struct {
		name string
		q    ExportQuery
		want []billing.BillingRow
	}{
		{"range", ExportQuery{From: from, To: to}, all},
		{"account", ExportQuery{From: from, To: to, Account: "other"}, []billing.BillingRow{gRow}},
		{"operator", ExportQuery{From: from, To: to, Operator: "op2"}, []billing.BillingRow{all[3]}},
		{"empty range", ExportQuery{From: to.Add(time.Hour), To: to.Add(2 * time.Hour)}, nil},
	}
	for _, c := range cases {
		got := v2Billing(t, st, c.q)
		if len(got) != len(c.want) {
			t.Errorf("%s: %d rows, want %d:\n%+v", c.name, len(got), len(c.want), got)
			continue
		}
		for i := range got {
			g, w := got[i], c.want[i]
			if g.MessageID != w.MessageID || g.Part != w.Part || g.Account != w.Account || g.Operator != w.Operator ||
				g.Destination != w.Destination || g.CountryPrefix != w.CountryPrefix || !g.SubmittedAt.Equal(w.SubmittedAt) ||
				g.Status != w.Status || g.Cost != w.Cost || g.Price != w.Price || g.Currency != w.Currency {
				t.Errorf("%s row %d:\n got %+v\nwant %+v", c.name, i, g, w)
			}
		}
	}

	// The ledger view says the same for the range, and has the rows
	// outside it too.
	rows, err := st.Pool.Query(ctx, `SELECT message_id, part, account, operator, destination, country_prefix, submitted_at, status,
	cost::text, price::text, currency FROM ledger WHERE submitted_at >= $1 AND submitted_at < $2
ORDER BY submitted_at, message_id, part, attempt`, from, to)
	if err != nil {
		t.Fatal(err)
	}
	var view []billing.BillingRow
	var r billing.BillingRow
	var part int16
	var cost, price string
	if _, err := pgx.ForEachRow(rows, []any{&r.MessageID, &part, &r.Account, &r.Operator, &r.Destination, &r.CountryPrefix,
		&r.SubmittedAt, &r.Status, &cost, &price, &r.Currency}, func() error {
		r.Part = int(part)
		var err error
		if r.Cost, err = billing.ParseAmount(cost); err != nil {
			return err
		}
		if r.Price, err = billing.ParseAmount(price); err != nil {
			return err
		}
		view = append(view, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(view) != len(all) {
		t.Fatalf("ledger view: %d rows in range, export %d:\n%+v", len(view), len(all), view)
	}
	for i := range view {
		g, w := view[i], all[i]
		if g.MessageID != w.MessageID || g.Part != w.Part || g.Account != w.Account || g.Operator != w.Operator ||
			!g.SubmittedAt.Equal(w.SubmittedAt) || g.Status != w.Status || g.Cost != w.Cost || g.Price != w.Price || g.Currency != w.Currency {
			t.Errorf("ledger view row %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	if n := v2Count(t, st, `SELECT count(*) FROM ledger`); n != int64(len(all))+2 {
		t.Errorf("ledger view has %d rows, want %d (range plus h and late)", n, len(all)+2)
	}
	if n := v2Count(t, st, `SELECT count(*) FROM ledger WHERE message_id = 'f'`); n != 0 {
		t.Errorf("unbilled f in the ledger view")
	}
}
