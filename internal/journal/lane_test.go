package journal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/smsgate/smsgate/internal/store"
)

func laneStore(t *testing.T) *store.Store {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	dsn := "postgres://postgres@127.0.0.1:5432/smsgate_test_lane_" + hex.EncodeToString(b[:]) + "?sslmode=disable"
	ctx := context.Background()
	if err := store.EnsureDatabase(ctx, dsn); err != nil {
		t.Fatalf("postgres is needed (scripts/ensure-deps.sh): %v", err)
	}
	t.Cleanup(func() { _ = store.DropDatabase(context.Background(), dsn) })
	st, err := store.Open(ctx, dsn, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool.Exec(ctx, `CREATE TABLE lane_items (v int NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return st
}

// A batch whose COMMIT got no answer is in doubt: before its items are
// written again the lane asks Postgres. Committed: its effects apply and
// nothing is written twice. Not committed: the items are written.
func TestLaneBatchInDoubt(t *testing.T) {
	st := laneStore(t)
	ctx := context.Background()
	afters := 0
	l := NewLane(Options[int]{ID: "test/intents", Instance: "test", Kind: "intents", Pool: st.Pool,
		Publisher: NewPublisher(PublisherOptions{Producer: &fakeProducer{}, Pool: st.Pool}),
		Write: func(ctx context.Context, tx pgx.Tx, _ int64, items []int) (Effects, error) {
			for _, v := range items {
				if _, err := tx.Exec(ctx, `INSERT INTO lane_items VALUES ($1)`, v); err != nil {
					return Effects{}, err
				}
			}
			return Effects{After: func() { afters++ }}, nil
		}})
	if err := l.register(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if l.conn != nil {
			l.conn.Release()
		}
	}()
	rows := func() int {
		var n int
		if err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM lane_items`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if err := l.commit(ctx, []int{1, 2}); err != nil {
		t.Fatal(err)
	}
	var batch int64
	if err := st.Pool.QueryRow(ctx, `SELECT max(id) FROM journal_batches WHERE lane = 'test/intents'`).Scan(&batch); err != nil {
		t.Fatal(err)
	}
	// The same batch again, as after a COMMIT that committed but whose
	// answer was lost.
	l.inDoubt = &doubtful{batch: batch, eff: Effects{After: func() { afters++ }}}
	if err := l.commit(ctx, []int{1, 2}); err != nil {
		t.Fatal(err)
	}
	if n := rows(); n != 2 || afters != 2 || l.inDoubt != nil {
		t.Errorf("committed batch in doubt: %d rows (want 2: not written again), %d effects (want 2), in doubt %v", n, afters, l.inDoubt)
	}
	// A batch in doubt that did not commit: the items are written.
	l.inDoubt = &doubtful{batch: batch + 1_000_000, eff: Effects{After: func() { t.Error("effects of an uncommitted batch applied") }}}
	if err := l.commit(ctx, []int{3, 4}); err != nil {
		t.Fatal(err)
	}
	if n := rows(); n != 4 || afters != 3 {
		t.Errorf("uncommitted batch in doubt: %d rows (want 4), %d effects (want 3)", n, afters)
	}
}
