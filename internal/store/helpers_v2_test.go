package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smsgate/smsgate/internal/message"
)

// v2DSN creates an empty database for one test and drops it afterwards.
func v2DSN(t testing.TB) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	dsn := "postgres://postgres@127.0.0.1:5432/smsgate_test_v2_" + hex.EncodeToString(b[:]) + "?sslmode=disable"
	ctx := context.Background()
	if err := EnsureDatabase(ctx, dsn); err != nil {
		t.Fatalf("postgres is needed: %v", err)
	}
	t.Cleanup(func() { _ = DropDatabase(context.Background(), dsn) })
	return dsn
}

// v2Store is a fresh database migrated to the current schema.
func v2Store(t testing.TB) *Store {
	t.Helper()
	ctx := context.Background()
	st, err := Open(ctx, v2DSN(t), 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// v2Now is the wall clock at Postgres precision.
func v2Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

var v2Offset atomic.Int64

// v2Msg is a message with plain defaults; src offsets are unique unless set.
func v2Msg(id string, mut ...func(m *message.Message)) *message.Message {
	m := &message.Message{ID: id, Account: "acme", Sender: "ACME", Dest: "995599000001", Body: "hello", DLR: true,
		Priority: 5, Parts: 1, Operator: "op1", Attempt: 1, Partition: 0, Offset: 1_000_000 + v2Offset.Add(1)}
	for _, f := range mut {
		f(m)
	}
	return m
}

// v2Src sets a message's source partition and offset.
func v2Src(p int32, o int64) func(*message.Message) {
	return func(m *message.Message) { m.Partition, m.Offset = p, o }
}

// v2Tx runs fn in a transaction that must commit.
func v2Tx(t testing.TB, st *Store, fn func(tx pgx.Tx) error) {
	t.Helper()
	if err := pgx.BeginFunc(context.Background(), st.Pool, fn); err != nil {
		t.Fatal(err)
	}
}

// v2Batch allocates a batch of lane in its own transaction.
func v2Batch(t *testing.T, st *Store, lane string) int64 {
	t.Helper()
	var id int64
	v2Tx(t, st, func(tx pgx.Tx) error {
		var err error
		id, err = BeginBatch(context.Background(), tx, lane)
		return err
	})
	return id
}

// v2Insert writes intent rows at now in a new batch and returns the results.
func v2Insert(t testing.TB, st *Store, now time.Time, rows ...IntentRow) ([]IntentResult, int64) {
	t.Helper()
	var res []IntentResult
	var batch int64
	v2Tx(t, st, func(tx pgx.Tx) error {
		var err error
		if batch, err = BeginBatch(context.Background(), tx, "test-intents"); err != nil {
			return err
		}
		res, err = st.InsertIntents(context.Background(), tx, batch, now, rows)
		return err
	})
	if len(res) != len(rows) {
		t.Fatalf("InsertIntents returned %d results for %d rows", len(res), len(rows))
	}
	return res, batch
}

// v2MsgRow is a messages row as stored.
type v2MsgRow struct {
	Gen                                int32
	Batch                              int64
	State                              message.State
	Due                                *time.Time
	DueInfinity                        bool
	Owner, Operator                    *string
	Reason, Detail, HoldRange          *string
	HeldAt                             *time.Time
	Attempt                            int16
	Tried                              []string
	Rerouted, Marketing                bool
	SrcPartition                       int32
	SrcOffset                          int64
	CreatedAt                          time.Time
	Meta                               *string
	Priority, Parts                    int16
	Account, Sender, Dest, Body, Netwk string
}

// v2Rows returns every messages row of id (any generation), by gen.
func v2Rows(t *testing.T, st *Store, id string) []v2MsgRow {
	t.Helper()
	rows, err := st.Pool.Query(context.Background(), `SELECT gen, batch, state, CASE WHEN isfinite(due) THEN due END, coalesce(due = 'infinity', false),
	owner, operator, reason, detail, hold_range, held_at, attempt, coalesce(tried, '{}'), rerouted, marketing, src_partition, src_offset,
	created_at, meta, priority, parts, account, sender, dest, body, coalesce(network, '')
FROM messages WHERE id = $1 ORDER BY gen`, id)
	if err != nil {
		t.Fatal(err)
	}
	var out []v2MsgRow
	var r v2MsgRow
	_, err = pgx.ForEachRow(rows, []any{&r.Gen, &r.Batch, &r.State, &r.Due, &r.DueInfinity, &r.Owner, &r.Operator, &r.Reason, &r.Detail,
		&r.HoldRange, &r.HeldAt, &r.Attempt, &r.Tried, &r.Rerouted, &r.Marketing, &r.SrcPartition, &r.SrcOffset, &r.CreatedAt, &r.Meta,
		&r.Priority, &r.Parts, &r.Account, &r.Sender, &r.Dest, &r.Body, &r.Netwk}, func() error {
		out = append(out, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// v2One returns the single messages row of id.
func v2One(t *testing.T, st *Store, id string) v2MsgRow {
	t.Helper()
	rs := v2Rows(t, st, id)
	if len(rs) != 1 {
		t.Fatalf("%s: %d messages rows, want 1", id, len(rs))
	}
	return rs[0]
}

// v2Describe renders a row with its pointers followed.
func v2Describe(r v2MsgRow) string {
	tm := func(p *time.Time) string {
		if p == nil {
			return "<nil>"
		}
		return p.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("gen=%d batch=%d state=%v due=%s inf=%v owner=%s op=%s reason=%s detail=%s range=%s held=%s attempt=%d tried=%v rerouted=%v mkt=%v src=%d/%d created=%s meta=%s prio=%d parts=%d %s %s %s %s %s",
		r.Gen, r.Batch, r.State, tm(r.Due), r.DueInfinity, v2Str(r.Owner), v2Str(r.Operator), v2Str(r.Reason), v2Str(r.Detail),
		v2Str(r.HoldRange), tm(r.HeldAt), r.Attempt, r.Tried, r.Rerouted, r.Marketing, r.SrcPartition, r.SrcOffset,
		r.CreatedAt.UTC().Format(time.RFC3339Nano), v2Str(r.Meta), r.Priority, r.Parts, r.Account, r.Sender, r.Dest, r.Body, r.Netwk)
}

func v2Str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func v2SameTime(a *time.Time, b time.Time) bool {
	if a == nil {
		return b.IsZero()
	}
	return !b.IsZero() && a.Equal(b)
}

// v2Attempt is an accepted part of attempt att.
func v2Attempt(id string, gen int32, part, att int16, op, key string, state message.State, at time.Time) AttemptRow {
	var smsc []byte
	if key != "" {
		smsc = []byte(key)
	}
	return AttemptRow{MessageID: id, Gen: gen, Part: part, Attempt: att, Parts: 1, Operator: op, Bind: 1, Seq: 7,
		SMSCID: smsc, SMSCKey: key, State: state, SubmittedAt: at, RespAt: at, Account: "acme", Destination: "995599000001",
		CountryPrefix: "995", Network: "28201", CostCurrency: "EUR", Currency: "EUR", Month: at.Format("2006-01")}
}

// v2Count runs a count query.
func v2Count(t *testing.T, st *Store, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := st.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}
