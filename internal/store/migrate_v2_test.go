package store

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smsgate/smsgate/internal/message"
)

// v2SchemaV4 is a database at schema v4 (the v1 queue), as a deployment
// that never ran 005 has it.
func v2SchemaV4(t *testing.T) *Store {
	t.Helper()
	ctx := context.Background()
	st, err := Open(ctx, v2DSN(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	for _, name := range []string{"001_init.sql", "002_bind_slots.sql", "003_protection.sql", "004_network.sql"} {
		sql, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Pool.Exec(ctx, string(sql)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := st.Pool.Exec(ctx, `CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
INSERT INTO schema_migrations (version) VALUES (1), (2), (3), (4)`); err != nil {
		t.Fatal(err)
	}
	return st
}

// Migration 005/006 converts a v1 queue with data in it.
func TestV2MigrateFromV1(t *testing.T) {
	st := v2SchemaV4(t)
	ctx := context.Background()
	pg := st.Pool
	now := v2Now()
	base := now.Add(-20 * 24 * time.Hour) // older than any partition Migrate makes itself
	sendAt := now.Add(2 * time.Hour)
	heldAt := base.Add(time.Hour)
	done := base.Add(5 * time.Minute)
	if _, err := pg.Exec(ctx, `
INSERT INTO messages (id, account, sender, dest, body, encoding, dlr, kind, priority, send_at, meta, parts, state, operator,
	tried, attempts, src_partition, src_offset, error_reason, error_code, error_detail, created_at, final_at, hold_range, held_at,
	network, rerouted, dup_pending) VALUES
 ('q',   'acme', 'ACME', '995599000001', 'queued',    0, true, 1, 7, $1, '{"c":"nov"}', 1, 0, 'op1', '{}', 0, 0, 1, NULL, NULL, NULL, $1, NULL, NULL, NULL, '28201', 0, 2),
 ('s',   'acme', 'ACME', '995599000002', 'sending',   0, true, 0, 5, $1, NULL, 1, 1, 'op1', '{}', 1, 0, 2, NULL, NULL, NULL, $1, NULL, NULL, NULL, NULL, 0, 0),
 ('sr',  'acme', 'ACME', '995599000003', 'rerouted',  0, true, 0, 5, $1, NULL, 1, 1, 'op2', '{op1}', 2, 0, 3, NULL, NULL, NULL, $1, NULL, NULL, NULL, NULL, 1, 0),
 ('sf',  'acme', 'ACME', '995599000010', 'failover',  0, true, 0, 5, $1, NULL, 1, 1, 'op2', '{op1}', 2, 0, 10, NULL, NULL, NULL, $1, NULL, NULL, NULL, NULL, 0, 0),
 ('sub', 'acme', 'ACME', '995599000004', 'submitted', 0, true, 0, 5, $1, NULL, 2, 2, 'op1', '{}', 1, 0, 4, NULL, NULL, NULL, $1, NULL, NULL, NULL, NULL, 0, 0),
 ('del', 'acme', 'ACME', '995599000005', 'delivered', 0, true, 0, 5, $1, NULL, 1, 4, 'op1', '{}', 1, 0, 5, NULL, NULL, NULL, $1, $4, NULL, NULL, NULL, 0, 0),
 ('und', 'acme', 'ACME', '995599000006', 'failed',    0, true, 0, 5, $1, NULL, 1, 5, 'op1', '{}', 1, 0, 6, 'absent_subscriber', 'E12', NULL, $1, $4, NULL, NULL, NULL, 0, 0),
 ('h',   'acme', 'ACME', '995599000007', 'held',      0, true, 0, 5, $1, NULL, 1, 8, 'op1', '{}', 0, 0, 7, 'fraud_hold', NULL, 'pumping', $1, NULL, '99559', $3, NULL, 0, 0),
 ('sch', 'acme', 'ACME', '995599000008', 'scheduled', 0, true, 0, 5, $2, NULL, 1, 9, 'op1', '{}', 0, 0, 8, NULL, NULL, NULL, $1, NULL, NULL, NULL, NULL, 0, 0),
 ('rej', 'acme', 'ACME', '995599000009', 'rejected',  0, true, 0, 5, $1, NULL, 1, 7, NULL,  '{}', 0, 0, 9, 'invalid', NULL, 'bad destination', $1, $1, NULL, NULL, NULL, 0, 0);
`, base, sendAt, heldAt, done); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{`
INSERT INTO parts (message_id, part, attempt, operator, smsc_id, smsc_key, state, submitted_at, done_at, err) VALUES
 ('sr',  1, 1, 'op1', 'R1',   'r1',   5, $1, $2, '001'),
 ('sub', 1, 1, 'op1', 'AB01', 'ab01', 2, $1, NULL, NULL),
 ('sub', 2, 1, 'op1', 'AB02', 'ab02', 2, $1, NULL, NULL),
 ('del', 1, 1, 'op1', 'CD01', 'cd01', 4, $1, $2, '000'),
 ('und', 1, 1, 'op1', 'EF01', 'ef01', 5, $1, $2, '012')`, `
INSERT INTO ledger (message_id, part, attempt, account, operator, destination, country_prefix, network, submitted_at, status,
	cost, cost_currency, price, currency, month, billed_at) VALUES
 ('sr',  1, 1, 'acme', 'op1', '995599000003', '995', '', $1, 'undeliverable', 0.012, 'EUR', 0, 'EUR', '2026-10', $2),
 ('sub', 1, 1, 'acme', 'op1', '995599000004', '995', '', $1, 'submitted', 0.012, 'EUR', 0.03, 'EUR', '2026-10', $2),
 ('sub', 2, 1, 'acme', 'op1', '995599000004', '995', '', $1, 'submitted', 0.012, 'EUR', 0.03, 'EUR', '2026-10', $2),
 ('del', 1, 1, 'acme', 'op1', '995599000005', '995', '', $1, 'delivered', 0.0125, 'EUR', 0.045, 'EUR', '2026-10', $2)`, `
INSERT INTO mo (id, operator, src, dst, body, parts, keyword, incomplete, parts_missing, received_at)
SELECT 'mo1', 'op1', '995599000001', '1234', 'STOP', 2, 'STOP', true, '{2}', $1 WHERE $2::timestamptz IS NOT NULL`, `
INSERT INTO outbox (topic, key, payload) SELECT 1, 'del', '\x7b7d' WHERE $1::timestamptz IS NOT NULL AND $2::timestamptz IS NOT NULL`,
	} {
		if _, err := pg.Exec(ctx, sql, base, done); err != nil {
			t.Fatal(err)
		}
	}

	// sr and sf were sending their second attempt (v1: a reroute or a
	// failover appends the failed operator to tried; the claim sends
	// attempt len(tried)+1, outcome.go of v1): sr has the parts of its
	// first attempt, sf none.
	before := time.Now()
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate v4 → v6: %v", err)
	}
	after := time.Now()
	gen := st.Gen(base)

	t.Run("v1 tables", func(t *testing.T) {
		for _, tb := range []string{"messages_v1", "parts_v1", "ledger_v1", "mo_v1", "parts"} {
			if v2Exists(t, st, tb) {
				t.Errorf("%s not dropped", tb)
			}
		}
		if n := v2Count(t, st, `SELECT count(*) FROM outbox WHERE key = 'del'`); n != 1 {
			t.Errorf("outbox rows %d, want 1", n)
		}
		if n := v2Count(t, st, `SELECT count(*) FROM schema_migrations WHERE version IN (5, 6)`); n != 2 {
			t.Errorf("migrations 5, 6 recorded %d times", n)
		}
	})

	type msg struct {
		id      string
		state   message.State
		due     string // "", "now", "send_at", "infinity"
		attempt int16
		tried   []string
		reason  string
		detail  string
	}
	msgs := []msg{
		{"q", message.Queued, "now", 1, nil, "", ""},
		{"s", message.Sending, "", 1, nil, "", ""},
		{"sr", message.Sending, "", 2, []string{"op1"}, "", ""},
		{"sf", message.Sending, "", 2, []string{"op1"}, "", ""},
		{"sub", message.Sending, "", 1, nil, "", ""},
		{"del", message.Sending, "", 1, nil, "", ""},
		{"und", message.Sending, "", 1, nil, "", ""},
		{"h", message.Held, "infinity", 1, nil, "fraud_hold", "pumping"},
		{"sch", message.Scheduled, "send_at", 1, nil, "", ""},
		{"rej", message.Rejected, "", 1, nil, "invalid", "bad destination"},
	}
	for _, c := range msgs {
		t.Run("message "+c.id, func(t *testing.T) {
			r := v2One(t, st, c.id)
			if r.Gen != gen || r.State != c.state || r.Attempt != c.attempt || !slices.Equal(r.Tried, c.tried) && len(r.Tried)+len(c.tried) > 0 {
				t.Errorf("gen %d state %v attempt %d tried %v, want %d %v %d %v", r.Gen, r.State, r.Attempt, r.Tried, gen, c.state, c.attempt, c.tried)
			}
			switch c.due {
			case "":
				if r.Due != nil || r.DueInfinity {
					t.Errorf("due %v (infinity %v), want NULL", r.Due, r.DueInfinity)
				}
			case "now":
				if r.Due == nil || r.Due.Before(before.Add(-2*time.Second)) || r.Due.After(after.Add(2*time.Second)) {
					t.Errorf("due %v, want the migration's time", r.Due)
				}
			case "send_at":
				if !v2SameTime(r.Due, sendAt) {
					t.Errorf("due %v, want %v", r.Due, sendAt)
				}
			case "infinity":
				if !r.DueInfinity {
					t.Errorf("due %v, want infinity", r.Due)
				}
			}
			if v2Str(r.Reason) != orNil(c.reason) || v2Str(r.Detail) != orNil(c.detail) {
				t.Errorf("reason %s detail %s, want %q %q", v2Str(r.Reason), v2Str(r.Detail), c.reason, c.detail)
			}
			if r.Owner != nil || r.SrcPartition != 0 || !r.CreatedAt.Equal(base) {
				t.Errorf("owner %s src %d created %v", v2Str(r.Owner), r.SrcPartition, r.CreatedAt)
			}
		})
	}
	q := v2One(t, st, "q")
	var meta map[string]any
	if !q.Marketing || q.Priority != 7 || q.Netwk != "28201" || q.Meta == nil || json.Unmarshal([]byte(*q.Meta), &meta) != nil || meta["c"] != "nov" || q.Body != "queued" {
		t.Errorf("q converted as %s", v2Describe(q))
	}
	if sr := v2One(t, st, "sr"); !sr.Rerouted || v2Str(sr.Operator) != "op2" {
		t.Errorf("sr converted as %s", v2Describe(sr))
	}
	if n := v2Count(t, st, `SELECT dup_pending FROM messages WHERE id = 'q'`); n != 2 {
		t.Errorf("dup_pending %d, want 2", n)
	}
	h := v2One(t, st, "h")
	if v2Str(h.HoldRange) != "99559" || !v2SameTime(h.HeldAt, heldAt) {
		t.Errorf("h converted as %s", v2Describe(h))
	}
	if hs, err := Holds(ctx, pg, 10); err != nil || len(hs) != 1 || hs[0].ID != "h" || hs[0].Reason != "fraud_hold" || hs[0].Range != "99559" {
		t.Errorf("holds %+v %v", hs, err)
	}

	t.Run("attempts", func(t *testing.T) {
		type att struct {
			id                  string
			part, attempt       int16
			state               message.State
			smsc                string
			charged             bool
			price, cost         int64
			cur, month          string
			operator            string
			day                 int32
			gen                 int32
			parts               int16
			destination, prefix string
		}
		want := []att{
			{"del", 1, 1, message.Submitted, "CD01", true, 45_000, 12_500, "EUR", "2026-10", "op1", Day(base), gen, 1, "995599000005", "995"},
			{"sr", 1, 1, message.Submitted, "R1", true, 0, 12_000, "EUR", "2026-10", "op1", Day(base), gen, 1, "995599000003", "995"},
			{"sub", 1, 1, message.Submitted, "AB01", true, 30_000, 12_000, "EUR", "2026-10", "op1", Day(base), gen, 2, "995599000004", "995"},
			{"sub", 2, 1, message.Submitted, "AB02", true, 30_000, 12_000, "EUR", "2026-10", "op1", Day(base), gen, 2, "995599000004", "995"},
			{"und", 1, 1, message.Submitted, "EF01", false, 0, 0, "", base.Format("2006-01"), "op1", Day(base), gen, 1, "995599000006", ""},
		}
		rows, err := pg.Query(ctx, `SELECT message_id, part, attempt, state, convert_from(smsc_id, 'UTF8'), charged, price, cost, currency, month,
	operator, day, gen, parts, destination, country_prefix FROM attempts ORDER BY message_id, part, attempt`)
		if err != nil {
			t.Fatal(err)
		}
		var got []att
		var a att
		if _, err := pgx.ForEachRow(rows, []any{&a.id, &a.part, &a.attempt, &a.state, &a.smsc, &a.charged, &a.price, &a.cost, &a.cur, &a.month,
			&a.operator, &a.day, &a.gen, &a.parts, &a.destination, &a.prefix}, func() error {
			got = append(got, a)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("attempts\n got %+v\nwant %+v", got, want)
		}
		if n := v2Count(t, st, `SELECT count(*) FROM attempts WHERE message_id = 's'`); n != 0 {
			t.Errorf("sending message s has %d attempts rows", n)
		}
	})

	t.Run("receipts", func(t *testing.T) {
		type rct struct {
			id           string
			state        message.State
			reason, code string
			at           time.Time
		}
		rows, err := pg.Query(ctx, `SELECT message_id, state, coalesce(reason, ''), coalesce(code, ''), received_at FROM receipts ORDER BY message_id`)
		if err != nil {
			t.Fatal(err)
		}
		var got []rct
		var r rct
		if _, err := pgx.ForEachRow(rows, []any{&r.id, &r.state, &r.reason, &r.code, &r.at}, func() error { got = append(got, r); return nil }); err != nil {
			t.Fatal(err)
		}
		want := []rct{
			{"del", message.Delivered, "", "", done},
			{"sr", message.Undeliverable, "", "", done},
			{"und", message.Undeliverable, "absent_subscriber", "E12", done},
		}
		if len(got) != len(want) {
			t.Fatalf("receipts %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i].id != want[i].id || got[i].state != want[i].state || got[i].reason != want[i].reason || got[i].code != want[i].code || !got[i].at.Equal(want[i].at) {
				t.Errorf("receipt %d: %+v, want %+v", i, got[i], want[i])
			}
		}
		vs, err := LoadViews(ctx, pg, []string{"del", "sub", "sr"})
		if err != nil {
			t.Fatal(err)
		}
		if v := vs["del"]; v == nil || len(v.Latest) != 1 || v.Latest[0].State != message.Delivered || !v.Latest[0].Final {
			t.Errorf("view of del: %+v", v)
		}
		if v := vs["sub"]; v == nil || len(v.Latest) != 2 || v.Latest[0].State != message.Submitted || v.Latest[1].Final {
			t.Errorf("view of sub: %+v", v)
		}
	})

	t.Run("ledger", func(t *testing.T) {
		rows, err := pg.Query(ctx, `SELECT message_id || ':' || part || ':' || status || ':' || price::text || ':' || cost::text FROM ledger ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"del:1:delivered:0.045000:0.012500", "sr:1:undeliverable:0.000000:0.012000", "sub:1:submitted:0.030000:0.012000", "sub:2:submitted:0.030000:0.012000"}
		if !slices.Equal(got, want) {
			t.Errorf("ledger %v, want %v", got, want)
		}
	})

	t.Run("mo", func(t *testing.T) {
		var r MORow
		var day int32
		err := pg.QueryRow(ctx, `SELECT id, operator, src, dst, body, parts, keyword, incomplete, parts_missing, received_at, day FROM mo`).
			Scan(&r.ID, &r.Operator, &r.From, &r.To, &r.Text, &r.Parts, &r.Keyword, &r.Incomplete, &r.PartsMissing, &r.ReceivedAt, &day)
		if err != nil {
			t.Fatal(err)
		}
		if r.ID != "mo1" || r.Operator != "op1" || r.From != "995599000001" || r.To != "1234" || r.Text != "STOP" || r.Parts != 2 ||
			r.Keyword != "STOP" || !r.Incomplete || !slices.Equal(r.PartsMissing, []int16{2}) || !r.ReceivedAt.Equal(base) || day != Day(base) {
			t.Errorf("mo %+v day %d", r, day)
		}
	})

	// What was sending is recovery's: its lane has no live instance and
	// its intents have no outcome.
	t.Run("recovery", func(t *testing.T) {
		lanes, err := DeadLanes(ctx, pg, "new-instance", []string{"new-instance-intents"}, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(lanes) != 1 || lanes[0].ID != "v1-migration" {
			t.Fatalf("dead lanes %+v", lanes)
		}
		batches, err := LaneBatches(ctx, pg, lanes[0].ID, lanes[0].Settled, 100)
		if err != nil {
			t.Fatal(err)
		}
		un, err := IntentsWithoutOutcome(ctx, pg, batches)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, u := range un {
			ids = append(ids, u.ID)
		}
		if got := v2Sorted(ids); !slices.Equal(got, []string{"s", "sf", "sr"}) {
			t.Errorf("intents without outcome %v, want [s sf sr] (sr's second attempt may be on the wire)", got)
		}
		// And the parked ones are taken by their operator.
		ms, err := TakeParked(ctx, pg, "op1", "new-instance", 10, time.Minute)
		if err != nil || !slices.Equal(v2IDs(ms), []string{"q"}) {
			t.Errorf("took %v (%v), want [q]", v2IDs(ms), err)
		}
	})
}
