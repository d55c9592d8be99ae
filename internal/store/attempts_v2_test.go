package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/internal/message"
)

// MatchParts: by (operator, key), the latest attempt, earlier keys first.
func TestV2MatchParts(t *testing.T) {
	st := v2Store(t)
	ctx := context.Background()
	now := v2Now()
	gen := st.Gen(now)
	b := v2Batch(t, st, "outcomes")
	rows := []AttemptRow{
		v2Attempt("x", gen, 1, 1, "op1", "k1", message.Submitted, now.Add(-time.Minute)),
		v2Attempt("x", gen, 2, 1, "op1", "k2", message.Submitted, now.Add(-time.Minute)),
		v2Attempt("x", gen, 1, 2, "op1", "k1", message.Unknown, now),
		v2Attempt("y", gen, 1, 1, "op2", "k1", message.Submitted, now),
	}
	v2Tx(t, st, func(tx pgx.Tx) error { return AppendAttempts(ctx, tx, b, rows) })
	cases := []struct {
		name string
		l    ReceiptLookup
		want *PartMatch
	}{
		{"latest attempt of a key", ReceiptLookup{"op1", []string{"k1"}}, &PartMatch{MessageID: "x", Part: 1, Attempt: 2, State: message.Unknown, SubmittedAt: now}},
		{"second key when the first is unknown", ReceiptLookup{"op1", []string{"zz", "k2"}}, &PartMatch{MessageID: "x", Part: 2, Attempt: 1, State: message.Submitted, SubmittedAt: now.Add(-time.Minute)}},
		{"earlier key preferred over a later attempt", ReceiptLookup{"op1", []string{"k2", "k1"}}, &PartMatch{MessageID: "x", Part: 2, Attempt: 1, State: message.Submitted, SubmittedAt: now.Add(-time.Minute)}},
		{"operator scopes the key", ReceiptLookup{"op2", []string{"k1"}}, &PartMatch{MessageID: "y", Part: 1, Attempt: 1, State: message.Submitted, SubmittedAt: now}},
		{"no match", ReceiptLookup{"op3", []string{"k1"}}, nil},
		{"no keys", ReceiptLookup{"op1", nil}, nil},
	}
	ls := make([]ReceiptLookup, len(cases))
	for i, c := range cases {
		ls[i] = c.l
	}
	got, err := MatchParts(ctx, st.Pool, ls)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		g, ok := got[i]
		if c.want == nil {
			if ok {
				t.Errorf("%s: matched %+v", c.name, g)
			}
			continue
		}
		w := *c.want
		w.Gen, w.Day, w.Batch = gen, Day(w.SubmittedAt), b
		if !ok || g.MessageID != w.MessageID || g.Part != w.Part || g.Attempt != w.Attempt || g.State != w.State ||
			!g.SubmittedAt.Equal(w.SubmittedAt) || g.Gen != w.Gen || g.Day != w.Day || g.Batch != w.Batch {
			t.Errorf("%s: got %+v (found %v), want %+v", c.name, g, ok, w)
		}
	}
}

// LoadViews derives each part's state from the latest attempt and its
// receipts, and sums the latest attempt's charges.
func TestV2LoadViews(t *testing.T) {
	st := v2Store(t)
	ctx := context.Background()
	now := v2Now()
	gen := st.Gen(now)
	ids := []string{"two", "proven", "silent", "retried", "racing", "folded", "charged", "journaled"}
	var rows []IntentRow
	for _, id := range ids {
		rows = append(rows, IntentRow{M: v2Msg(id), State: message.Sending})
	}
	v2Insert(t, st, now, rows...)
	at := now.Add(-time.Hour)
	att := func(id string, part, a int16, s message.State) AttemptRow {
		r := v2Attempt(id, gen, part, a, "op1", fmt.Sprintf("%s-%d-%d", id, part, a), s, at.Add(time.Duration(a)*time.Minute))
		r.Parts = 2
		return r
	}
	rc := func(id string, part, a int16, s message.State, stat string, after time.Duration) ReceiptRow {
		return ReceiptRow{MessageID: id, Part: part, Attempt: a, Day: Day(at), Operator: "op1", State: s, Stat: stat, ReceivedAt: at.Add(after)}
	}
	b := v2Batch(t, st, "outcomes")
	v2Tx(t, st, func(tx pgx.Tx) error {
		if err := AppendAttempts(ctx, tx, b, []AttemptRow{
			att("two", 1, 1, message.Submitted), att("two", 2, 1, message.Submitted),
			att("proven", 1, 1, message.Unknown),
			att("silent", 1, 1, message.Unknown),
			att("retried", 1, 1, message.Submitted), att("retried", 2, 1, message.Submitted), att("retried", 1, 2, message.Submitted),
			att("racing", 1, 1, message.Submitted),
			att("folded", 1, 1, message.Submitted),
			att("charged", 1, 1, message.Submitted), att("charged", 1, 2, message.Submitted),
		}); err != nil {
			return err
		}
		return AppendReceipts(ctx, tx, b, []ReceiptRow{
			rc("two", 1, 1, message.Delivered, "DELIVRD", time.Minute),
			rc("two", 2, 1, message.Submitted, "ENROUTE", time.Minute),
			rc("proven", 1, 1, message.Submitted, "ACCEPTD", time.Minute),
			rc("retried", 1, 1, message.Undeliverable, "UNDELIV", time.Minute),
			rc("racing", 1, 1, message.Submitted, "ENROUTE", time.Minute),
			rc("racing", 1, 1, message.Undeliverable, "UNDELIV", 2*time.Minute),
			rc("racing", 1, 1, message.Delivered, "DELIVRD", 3*time.Minute),
		})
	})
	if _, err := st.Pool.Exec(ctx, `UPDATE attempts SET final_state = 6 WHERE message_id = 'folded'`); err != nil {
		t.Fatal(err)
	}
	charge := func(id string, a, kind int16, price, cost billing.Amount) ChargeRow {
		return ChargeRow{MessageID: id, Part: 1, Attempt: a, Day: Day(at), Kind: kind, Account: "acme", Operator: "op1",
			Destination: "995599000001", CountryPrefix: "995", SubmittedAt: at, Status: "delivered", Cost: cost, CostCurrency: "EUR",
			Price: price, Currency: "EUR", Month: at.Format("2006-01")}
	}
	v2Tx(t, st, func(tx pgx.Tx) error {
		_, err := AppendCharges(ctx, tx, b, []ChargeRow{
			charge("charged", 1, ChargeOnReceipt, 99_000, 9_000), // an earlier attempt: not summed
			charge("charged", 2, ChargeOnReceipt, 30_000, 0),
			charge("charged", 2, ChargeCostOnDeliv, 0, 12_000),
			charge("charged", 2, ChargeRefund, 30_000, 0),
			charge("charged", 2, ChargeCostOnly, 0, 5_000),
		})
		return err
	})

	type part struct {
		part, attempt int16
		state         message.State
		final         bool
		stat          string
	}
	cases := []struct {
		id    string
		parts []part
		price billing.Amount
		cost  billing.Amount
	}{
		{"two", []part{{1, 1, message.Delivered, true, "DELIVRD"}, {2, 1, message.Submitted, false, "ENROUTE"}}, 0, 0},
		{"proven", []part{{1, 1, message.Submitted, false, "ACCEPTD"}}, 0, 0},
		{"silent", []part{{1, 1, message.Unknown, false, ""}}, 0, 0},
		{"retried", []part{{1, 2, message.Submitted, false, ""}}, 0, 0},
		{"racing", []part{{1, 1, message.Undeliverable, true, "UNDELIV"}}, 0, 0},
		{"folded", []part{{1, 1, message.Expired, true, ""}}, 0, 0},
		{"charged", []part{{1, 2, message.Submitted, false, ""}}, 0, 17_000},
		{"journaled", nil, 0, 0},
	}
	vs, err := LoadViews(ctx, st.Pool, append(slices.Clone(ids), "absent"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := vs["absent"]; ok || len(vs) != len(ids) {
		t.Fatalf("views for %d ids (absent present: %v)", len(vs), ok)
	}
	for _, c := range cases {
		v := vs[c.id]
		if v == nil {
			t.Errorf("%s: no view", c.id)
			continue
		}
		if v.RowState != message.Sending || v.Gen != gen || v.Account != "acme" || v.Operator != "op1" {
			t.Errorf("%s: view %+v", c.id, v)
		}
		if len(v.Latest) != len(c.parts) {
			t.Errorf("%s: %d latest parts %+v, want %d", c.id, len(v.Latest), v.Latest, len(c.parts))
			continue
		}
		for i, w := range c.parts {
			p := v.Latest[i]
			if p.Part != w.part || p.Attempt != w.attempt || p.State != w.state || p.Final != w.final || p.Stat != w.stat {
				t.Errorf("%s part %d: %+v, want %+v", c.id, i+1, p, w)
			}
		}
		if v.ChargedPrice != c.price || v.ChargedCost != c.cost {
			t.Errorf("%s: charged price %v cost %v, want %v %v", c.id, v.ChargedPrice, v.ChargedCost, c.price, c.cost)
		}
	}
}

// AppendCharges writes each (message, part, attempt, kind) once.
func TestV2AppendChargesOnce(t *testing.T) {
	st := v2Store(t)
	ctx := context.Background()
	now := v2Now()
	c := func(id string, part, att, kind int16) ChargeRow {
		return ChargeRow{MessageID: id, Part: part, Attempt: att, Day: Day(now), Kind: kind, Account: "acme", Operator: "op1",
			Destination: "995599000001", CountryPrefix: "995", SubmittedAt: now, Status: "delivered", Cost: 10, CostCurrency: "EUR",
			Price: 20, Currency: "EUR", Month: now.Format("2006-01")}
	}
	steps := []struct {
		name string
		rows []ChargeRow
		want []bool
	}{
		{"new", []ChargeRow{c("a", 1, 1, ChargeOnReceipt), c("a", 2, 1, ChargeOnReceipt), c("a", 1, 1, ChargeCostOnDeliv)}, []bool{true, true, true}},
		{"again", []ChargeRow{c("a", 1, 1, ChargeOnReceipt), c("a", 1, 2, ChargeOnReceipt), c("a", 1, 1, ChargeRefund)}, []bool{false, true, true}},
		{"all seen", []ChargeRow{c("a", 2, 1, ChargeOnReceipt), c("a", 1, 1, ChargeCostOnDeliv)}, []bool{false, false}},
		{"twice in one call", []ChargeRow{c("b", 1, 1, ChargeOnReceipt), c("b", 1, 1, ChargeOnReceipt)}, []bool{true, false}},
	}
	for _, s := range steps {
		var got []bool
		b := v2Batch(t, st, "receipts")
		v2Tx(t, st, func(tx pgx.Tx) error {
			var err error
			got, err = AppendCharges(ctx, tx, b, s.rows)
			return err
		})
		if !slices.Equal(got, s.want) {
			t.Errorf("%s: new %v, want %v", s.name, got, s.want)
		}
	}
	if n := v2Count(t, st, `SELECT count(*) FROM charges`); n != 6 {
		t.Errorf("%d charges rows, want 6", n)
	}
}

// MonthCounts and AddMonth: the tier counter, the per-operator
// aggregates, and no deadlock between transactions taking the same
// accounts in different orders.
func TestV2MonthCounters(t *testing.T) {
	st := v2Store(t)
	ctx := context.Background()
	const month = "2026-11"
	counts := func(t *testing.T, keys ...AccountMonth) map[AccountMonth]int64 {
		t.Helper()
		var out map[AccountMonth]int64
		v2Tx(t, st, func(tx pgx.Tx) error {
			var err error
			out, err = MonthCounts(ctx, tx, keys)
			return err
		})
		return out
	}
	a1, a2 := AccountMonth{"acc1", month}, AccountMonth{"acc2", month}
	if got := counts(t, a1, a2); len(got) != 2 || got[a1] != 0 || got[a2] != 0 {
		t.Fatalf("first counts %v, want zeros for both", got)
	}
	steps := []struct {
		ds   []MonthDelta
		want map[AccountMonth]int64
	}{
		{[]MonthDelta{{Account: "acc1", Month: month, Operator: "op1", Currency: "EUR", Parts: 3, Cost: 36_000, Revenue: 90_000}}, map[AccountMonth]int64{a1: 3, a2: 0}},
		{[]MonthDelta{
			{Account: "acc2", Month: month, Operator: "op1", Currency: "EUR", Parts: 2, Cost: 1, Revenue: 2},
			{Account: "acc1", Month: month, Operator: "op2", Currency: "EUR", Parts: 1, Cost: 12_000, Revenue: 30_000},
			{Account: "acc1", Month: month, Operator: "op1", Currency: "USD", Parts: 1, Cost: 0, Revenue: 40_000},
		}, map[AccountMonth]int64{a1: 5, a2: 2}},
		{[]MonthDelta{{Account: "acc1", Month: month, Operator: "op1", Currency: "EUR", Parts: -1, Cost: 0, Revenue: -30_000}}, map[AccountMonth]int64{a1: 4, a2: 2}},
	}
	for i, s := range steps {
		v2Tx(t, st, func(tx pgx.Tx) error {
			if _, err := MonthCounts(ctx, tx, []AccountMonth{a2, a1}); err != nil {
				return err
			}
			return AddMonth(ctx, tx, s.ds)
		})
		if got := counts(t, a1, a2); got[a1] != s.want[a1] || got[a2] != s.want[a2] {
			t.Errorf("step %d: counts %v, want %v", i, got, s.want)
		}
	}
	sum, err := st.BillingSummary(ctx, month)
	if err != nil {
		t.Fatal(err)
	}
	wantSum := []SummaryRow{
		{Account: "acc1", Operator: "op1", Currency: "EUR", Parts: 2, Cost: 36_000, Revenue: 60_000, Margin: 24_000},
		{Account: "acc1", Operator: "op1", Currency: "USD", Parts: 1, Cost: 0, Revenue: 40_000, Margin: 40_000},
		{Account: "acc1", Operator: "op2", Currency: "EUR", Parts: 1, Cost: 12_000, Revenue: 30_000, Margin: 18_000},
		{Account: "acc2", Operator: "op1", Currency: "EUR", Parts: 2, Cost: 1, Revenue: 2, Margin: 1},
	}
	if !slices.Equal(sum, wantSum) {
		t.Errorf("summary %+v\nwant %+v", sum, wantSum)
	}

	// Deterministic: a third transaction holds the middle key's first
	// insert; writer 1 waits on it holding "fa", writer 2 (keys reversed)
	// then starts. Were inserts in caller order, writer 2 would hold "fc"
	// and the two writers would deadlock once the middle is released.
	t.Run("first inserts in key order", func(t *testing.T) {
		fa, fb, fc := AccountMonth{"fa", month}, AccountMonth{"fb", month}, AccountMonth{"fc", month}
		waiting := func(n int64) {
			t.Helper()
			for i := 0; ; i++ {
				if v2Count(t, st, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`) >= n {
					return
				}
				if i > 200 {
					t.Fatalf("fewer than %d transactions waiting on a lock", n)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		blocker, err := st.Pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer blocker.Rollback(ctx)
		if _, err := MonthCounts(ctx, blocker, []AccountMonth{fb}); err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, 2)
		writer := func(keys []AccountMonth) {
			cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			errs <- pgx.BeginFunc(cctx, st.Pool, func(tx pgx.Tx) error {
				if _, err := MonthCounts(cctx, tx, keys); err != nil {
					return err
				}
				ds := make([]MonthDelta, len(keys))
				for i, k := range keys {
					ds[i] = MonthDelta{Account: k.Account, Month: month, Operator: "op1", Currency: "EUR", Parts: 1, Cost: 1, Revenue: 2}
				}
				return AddMonth(cctx, tx, ds)
			})
		}
		go writer([]AccountMonth{fa, fb, fc})
		waiting(1)
		go writer([]AccountMonth{fc, fb, fa})
		waiting(2)
		if err := blocker.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		if got := counts(t, fa, fb, fc); got[fa] != 2 || got[fb] != 2 || got[fc] != 2 {
			t.Errorf("counts %v, want 2 each", got)
		}
	})

	// Two writers on the same accounts, keys in opposite orders, started
	// together each round: many new accounts (first-of-month inserts),
	// with the existing two every other round.
	const rounds, fresh = 20, 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*rounds)
	ready := make(chan struct{}, 2)
	start := make([]chan struct{}, rounds)
	for r := range start {
		start[r] = make(chan struct{})
	}
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			op := fmt.Sprintf("gop%d", g)
			for r := range rounds {
				// Odd rounds: only new accounts, so the first locks taken
				// are the inserts'.
				var keys []AccountMonth
				if r%2 == 0 {
					keys = append(keys, AccountMonth{"acc1", month}, AccountMonth{"acc2", month})
				}
				for i := range fresh {
					keys = append(keys, AccountMonth{fmt.Sprintf("new%02d-%03d", r, i), month})
				}
				if g == 1 {
					slices.Reverse(keys)
				}
				ds := make([]MonthDelta, 0, 2*len(keys))
				for _, k := range keys {
					ds = append(ds, MonthDelta{Account: k.Account, Month: month, Operator: op, Currency: "EUR", Parts: 1, Cost: 1, Revenue: 2})
					ds = append(ds, MonthDelta{Account: k.Account, Month: month, Operator: "shared", Currency: "EUR", Parts: 1, Cost: 1, Revenue: 2})
				}
				cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				err := pgx.BeginFunc(cctx, st.Pool, func(tx pgx.Tx) error {
					ready <- struct{}{} // both transactions open, then go
					<-start[r]
					if _, err := MonthCounts(cctx, tx, keys); err != nil {
						return err
					}
					return AddMonth(cctx, tx, ds)
				})
				cancel()
				if err != nil {
					errs <- fmt.Errorf("writer %d round %d: %w", g, r, err)
				}
			}
		}()
	}
	for r := range rounds {
		<-ready
		<-ready
		close(start[r])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	first, last := AccountMonth{"new00-000", month}, AccountMonth{fmt.Sprintf("new%02d-%03d", rounds-1, fresh-1), month}
	got := counts(t, a1, a2, first, last)
	even := int64((rounds + 1) / 2) // rounds with acc1 and acc2
	for k, want := range map[AccountMonth]int64{a1: 4 + 4*even, a2: 2 + 4*even, first: 4, last: 4} {
		if got[k] != want {
			t.Errorf("after concurrent writers %v = %d, want %d", k, got[k], want)
		}
	}
	var shared int64
	if err := st.Pool.QueryRow(ctx, `SELECT coalesce(sum(parts), 0) FROM billing_month WHERE operator = 'shared'`).Scan(&shared); err != nil {
		t.Fatal(err)
	}
	if want := 2*rounds*fresh + 4*even; shared != want {
		t.Errorf("shared operator parts %d, want %d", shared, want)
	}
}
