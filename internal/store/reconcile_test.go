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
	if err := st.EnsurePartitions(ctx, time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	_, err := st.Pool.Exec(ctx, `
INSERT INTO attempts (message_id, gen, day, part, attempt, parts, operator, smsc_id, smsc_key, state, submitted_at,
	account, destination, country_prefix, charged, cost, cost_currency, price, currency, month, batch)
SELECT id, 0, floor(extract(epoch FROM at) / 86400)::int, 1, 1, 1, op, convert_to(sid, 'UTF8'), lower(sid), 2, at,
	'acme', dest, '995', true, cost, 'EUR', 30000, 'EUR', '2026-11', 1
FROM (VALUES
 ('a', 'magti', '5F3A01', '2026-11-05T10:00:00Z'::timestamptz, '995599000001', 12000),
 ('b', 'magti', '5F3A02', '2026-11-05T10:00:01Z'::timestamptz, '995599000002', 12000),
 ('c', 'magti', '5F3A03', '2026-11-05T10:00:02Z'::timestamptz, '995599000003', 12000),
 ('d', 'silknet', '77', '2026-11-05T10:00:03Z'::timestamptz, '995599000004', 15000)) AS v(id, op, sid, at, dest, cost);`)
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
