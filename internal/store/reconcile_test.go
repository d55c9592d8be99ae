package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/billing"
)

func testStore(t *testing.T) *Store {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	dsn := "postgres://postgres@127.0.0.1:5432/smsgate_test_store_" + hex.EncodeToString(b[:]) + "?sslmode=disable"
	ctx := context.Background()
	if err := EnsureDatabase(ctx, dsn); err != nil {
		t.Fatalf("postgres is needed (scripts/ensure-deps.sh): %v", err)
	}
	t.Cleanup(func() { _ = DropDatabase(context.Background(), dsn) })
	st, err := Open(ctx, dsn, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// Migrating twice is a no-op.
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// Reconciliation of our ledger against an operator CDR: matched (ids in
// other case / leading zeros; a matched pair whose amounts differ counts as
// a mismatch, not a match),
// other case / leading zeros), ours-only, theirs-only, amount mismatch.
func TestReconcileAgainstCDR(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	_, err := st.Pool.Exec(ctx, `
INSERT INTO ledger (message_id, part, attempt, account, operator, destination, country_prefix, submitted_at, status, cost, cost_currency, price, currency, month) VALUES
 ('a', 1, 1, 'acme', 'magti', '995599000001', '995', '2026-11-05T10:00:00Z', 'submitted', 0.012, 'EUR', 0.03, 'EUR', '2026-11'),
 ('b', 1, 1, 'acme', 'magti', '995599000002', '995', '2026-11-05T10:00:01Z', 'submitted', 0.012, 'EUR', 0.03, 'EUR', '2026-11'),
 ('c', 1, 1, 'acme', 'magti', '995599000003', '995', '2026-11-05T10:00:02Z', 'submitted', 0.012, 'EUR', 0.03, 'EUR', '2026-11'),
 ('d', 1, 1, 'acme', 'silknet', '995599000004', '995', '2026-11-05T10:00:03Z', 'submitted', 0.015, 'EUR', 0.03, 'EUR', '2026-11');
INSERT INTO parts (message_id, part, attempt, operator, smsc_id, smsc_key, state, submitted_at) VALUES
 ('a', 1, 1, 'magti', '5F3A01', '5f3a01', 2, now()), ('b', 1, 1, 'magti', '5F3A02', '5f3a02', 2, now()),
 ('c', 1, 1, 'magti', '5F3A03', '5f3a03', 2, now()), ('d', 1, 1, 'silknet', '77', '77', 2, now());`)
	if err != nil {
		t.Fatal(err)
	}
	cdr := "msgid,amount\n005f3a01,0.012\n5f3a02,0.020\nFFFF,0.012\n"
	theirs, err := billing.NewCDRReader(strings.NewReader(cdr), billing.CDRMapping{SMSCID: "msgid", Amount: "amount"})
	if err != nil {
		t.Fatal(err)
	}
	ours, err := st.OurParts(ctx, ExportQuery{From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Operator: "magti"})
	if err != nil {
		t.Fatal(err)
	}
	defer ours.Close()
	rep, err := billing.Reconcile(ours, theirs, true)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Matched != 1 || rep.OursOnly != 1 || rep.TheirsOnly != 1 || rep.AmountMismatch != 1 {
		t.Fatalf("report %+v", rep)
	}
}
