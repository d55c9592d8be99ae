package events

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/smsgate/smsgate/internal/store"
)

// SweepDuplicates publishes the duplicate events of records produced again
// with an id already accepted: each repeats its original's current status
// with "duplicate": true, never an earlier state. Originals without a
// status yet (in flight, parked) keep their count until they have one.
// It returns how many events it published.
func SweepDuplicates(ctx context.Context, pool *pgxpool.Pool, p Producer, t Topics, lastPartOnly LastPartOnly) (int, error) {
	rows, err := pool.Query(ctx, `SELECT id, gen, dup_pending FROM messages WHERE dup_pending > 0 LIMIT 1000`)
	if err != nil {
		return 0, fmt.Errorf("duplicates: %w", err)
	}
	type dup struct {
		id  string
		gen int32
		n   int32
	}
	var ds []dup
	var d dup
	if _, err := pgx.ForEachRow(rows, []any{&d.id, &d.gen, &d.n}, func() error { ds = append(ds, d); return nil }); err != nil {
		return 0, fmt.Errorf("duplicates: %w", err)
	}
	if len(ds) == 0 {
		return 0, nil
	}
	ids := make([]string, len(ds))
	for i := range ds {
		ids[i] = ds[i].id
	}
	views, err := store.LoadViews(ctx, pool, ids)
	if err != nil {
		return 0, err
	}
	now := time.Now()
	var recs []*kgo.Record
	var doneIDs []string
	var doneGens, doneN []int32
	for _, d := range ds {
		v := views[d.id]
		if v == nil {
			continue
		}
		ev, ok := Derive(v, lastPartOnly, now)
		if !ok {
			continue // no status yet: its duplicates wait for one
		}
		ev.Duplicate = true
		for i := int32(0); i < d.n; i++ {
			recs = append(recs, t.Status(&ev))
		}
		doneIDs, doneGens, doneN = append(doneIDs, d.id), append(doneGens, d.gen), append(doneN, -d.n)
	}
	if len(recs) == 0 {
		return 0, nil
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = p.ProduceSync(pctx, recs...).FirstErr()
	cancel()
	if err != nil {
		return 0, fmt.Errorf("duplicates: %w", err)
	}
	// At least once: a crash here publishes them again.
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return store.AddDuplicates(ctx, tx, doneGens, doneIDs, doneN) })
	return len(recs), err
}
