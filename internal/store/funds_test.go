package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/internal/message"
)

// A credit is applied once per idempotency key: a retry returns the first
// result and changes nothing; the key with another amount is a conflict.
func TestApplyCreditIdempotent(t *testing.T) {
	st := v2Store(t)
	ctx := context.Background()
	c := Credit{Account: "acme", Amount: 1_500_000, Currency: "EUR", Reference: "invoice 7", IdempotencyKey: "k-1", TokenName: "fin"}
	first, _, err := st.ApplyCredit(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if first.Replay || first.Balance != 1_500_000 {
		t.Fatalf("first credit: %+v", first)
	}
	again, _, err := st.ApplyCredit(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Replay || again.Balance != first.Balance || again.ID != first.ID {
		t.Errorf("replay: %+v, first %+v", again, first)
	}
	c2 := c
	c2.Amount = 2_000_000
	if _, _, err := st.ApplyCredit(ctx, c2); !errors.Is(err, ErrIdempotencyConflict) {
		t.Errorf("same key, other amount: %v", err)
	}
	adj := Credit{Account: "acme", Amount: -500_000, Currency: "EUR", Reference: "correction", IdempotencyKey: "k-2"}
	r, _, err := st.ApplyCredit(ctx, adj)
	if err != nil {
		t.Fatal(err)
	}
	if r.Balance.String() != "1" {
		t.Errorf("after the adjustment: %s", r.Balance)
	}
	f, err := GetFunds(ctx, st.Pool, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if f.Credits != 1_000_000 || f.Balance() != 1_000_000 {
		t.Errorf("funds %+v", f)
	}
	rows, err := CreditsBetween(ctx, st.Pool, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Amount != 1_500_000 || rows[1].Amount != -500_000 {
		t.Errorf("credits: %+v", rows)
	}
}

// Concurrent requests with one key apply it once.
func TestApplyCreditConcurrentSameKey(t *testing.T) {
	st := v2Store(t)
	ctx := context.Background()
	c := Credit{Account: "acme", Amount: 1_000_000, Currency: "EUR", Reference: "r", IdempotencyKey: "same"}
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() { _, _, err := st.ApplyCredit(ctx, c); errs <- err }()
	}
	for i := 0; i < 8; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	f, _ := GetFunds(ctx, st.Pool, "acme")
	if f.Credits != 1_000_000 {
		t.Errorf("credits %s after 8 concurrent requests with one key", f.Credits)
	}
}

// A credit releases the held-for-funds messages it may pay for, oldest
// first; other holds stay.
func TestCreditReleasesWhatItPays(t *testing.T) {
	st := v2Store(t)
	ctx := context.Background()
	now := v2Now()
	var rows []IntentRow
	for i := 0; i < 5; i++ {
		m := v2Msg(fmt.Sprintf("h%d", i), func(m *message.Message) {
			m.CreatedAt = now.Add(time.Duration(i) * time.Second)
			m.Parts = 2
		})
		rows = append(rows, IntentRow{M: m, State: message.Held, Due: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), Reason: ReasonInsufficientFunds})
	}
	other := v2Msg("other", func(m *message.Message) { m.CreatedAt = now })
	rows = append(rows, IntentRow{M: other, State: message.Held, Due: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), Reason: "maintenance"})
	v2Insert(t, st, now, rows...)
	// 0.10 at 0.02 a part: two messages of two parts.
	_, released, err := st.ApplyCredit(ctx, Credit{Account: "acme", Amount: 100_000, Currency: "EUR", Reference: "r", IdempotencyKey: "k",
		PartPrice: 20_000})
	if err != nil {
		t.Fatal(err)
	}
	if released != 2 {
		t.Errorf("released %d, want 2", released)
	}
	var ids []string
	r, err := st.Pool.Query(ctx, `SELECT id FROM messages WHERE state = 0 ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err = pgx.CollectRows(r, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ids) != "[h0 h1]" {
		t.Errorf("released %v, want the two oldest", ids)
	}
	// Taken and held again (they cost more than the lowest price): the
	// hold says they were held for funds before; a row never held does not.
	v2Insert(t, st, now, IntentRow{M: v2Msg("fresh"), State: message.Queued, Due: now.Add(-time.Minute)})
	taken, err := TakeParked(ctx, st.Pool, "op1", "me", 10, time.Minute)
	if err != nil || len(taken) != 3 {
		t.Fatalf("took %d: %v", len(taken), err)
	}
	var held, again map[string]bool
	v2Tx(t, st, func(tx pgx.Tx) error {
		held, again, err = HoldParked(ctx, tx, 0, "me", []string{"h0", "h1", "fresh"}, []int32{taken[0].Gen, taken[0].Gen, taken[0].Gen}, ReasonInsufficientFunds, "")
		return err
	})
	if len(held) != 3 || !again["h0"] || !again["h1"] || again["fresh"] {
		t.Errorf("held %v, again %v; want all three held, h0 and h1 again", held, again)
	}
}

// The gate's row lock and counters; releases never push reserved or
// awaiting below zero.
func TestFundsMoves(t *testing.T) {
	st := v2Store(t)
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, st.Pool, func(tx pgx.Tx) error {
		fs, err := LockFunds(ctx, tx, []string{"b", "a", "b"})
		if err != nil {
			return err
		}
		if len(fs) != 2 {
			return fmt.Errorf("locked %d rows", len(fs))
		}
		fs["a"].Reserved, fs["a"].Day, fs["a"].DayParts = 300, "2026-12-07", 3
		return SaveGate(ctx, tx, []*Funds{fs["a"], fs["b"]})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := MoveFunds(ctx, st.Pool, []FundsDelta{{Account: "a", Spent: 200, Reserved: -300, Awaiting: 50}, {Account: "a", Awaiting: -80}}); err != nil {
		t.Fatal(err)
	}
	f, _ := GetFunds(ctx, st.Pool, "a")
	if f.Spent != 200 || f.Reserved != 0 || f.Awaiting != 0 || f.DayParts != 3 || f.Balance() != billing.Amount(-200) {
		t.Errorf("funds %+v", f)
	}
	if err := MoveFunds(ctx, st.Pool, []FundsDelta{{Account: "new", Spent: -10}}); err != nil {
		t.Fatal(err)
	}
	if f, _ := GetFunds(ctx, st.Pool, "new"); f.Balance() != 10 {
		t.Errorf("a refund to a new row: %+v", f)
	}
}

// Each live instance's demand counts toward an account's total; a
// stopped instance's last report does not.
func TestShareAccountDemand(t *testing.T) {
	st := v2Store(t)
	ctx := context.Background()
	for _, id := range []string{"i1", "i2", "dead"} {
		if err := Heartbeat(ctx, st.Pool, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ShareAccountDemand(ctx, st.Pool, "dead", time.Minute, map[string]int64{"a": 1000}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool.Exec(ctx, `UPDATE instances SET heartbeat = now() - interval '1 hour' WHERE id = 'dead'`); err != nil {
		t.Fatal(err)
	}
	if _, err := ShareAccountDemand(ctx, st.Pool, "i2", time.Minute, map[string]int64{"a": 30, "b": 5}); err != nil {
		t.Fatal(err)
	}
	got, err := ShareAccountDemand(ctx, st.Pool, "i1", time.Minute, map[string]int64{"a": 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["a"] != 40 {
		t.Errorf("totals %v, want a=40 (i1 10 + i2 30; the dead instance's 1000 ignored)", got)
	}
	got, _ = ShareAccountDemand(ctx, st.Pool, "i1", time.Minute, map[string]int64{"a": 0})
	if got["a"] != 30 {
		t.Errorf("after i1's demand fell to 0: %v", got)
	}
}
