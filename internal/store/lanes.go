package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Lanes and batches. A lane is one journal writer of one instance (its
// intents, its outcomes, its inbound). Each of its transactions is a batch
// with an id from one sequence (so batch ids grow with time across lanes,
// which the BRIN indexes on `batch` rely on). Events are produced after a
// batch commits; the lane's `published` watermark says up to which batch
// they were, so a crash between commit and produce is repaired by
// publishing the batches after it again, from the rows.

// RegisterLane records a lane of instance; a lane of the same id from an
// earlier life (a stable instance id) was repaired at start and is taken
// over, to be repaired again if this life dies.
func RegisterLane(ctx context.Context, q Querier, id, instance, kind string) error {
	if _, err := execQ(ctx, q, `INSERT INTO lanes (id, instance, kind) VALUES ($1, $2, $3)
ON CONFLICT (id) DO UPDATE SET recovered = false`,
		id, instance, kind); err != nil {
		return fmt.Errorf("register lane %s: %w", id, err)
	}
	return nil
}

// BeginBatch allocates the id of a batch of lane inside tx. The lane's
// watermarks are stored apart (SetPublished, SetSettled): updating the
// lanes row here would lock it for the whole batch transaction, and the
// watermark writers would queue behind every batch.
func BeginBatch(ctx context.Context, tx pgx.Tx, lane string) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO journal_batches (id, lane) VALUES (nextval('journal_batch_seq'), $1) RETURNING id`, lane).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("begin batch of %s: %w", lane, err)
	}
	return id, nil
}

// BatchExists reports whether a journal batch committed (its row exists):
// for a lane whose COMMIT got no answer.
func BatchExists(ctx context.Context, q Querier, batch int64) (bool, error) {
	var ok bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM journal_batches WHERE id = $1)`, batch).Scan(&ok); err != nil {
		return false, fmt.Errorf("batch %d committed?: %w", batch, err)
	}
	return ok, nil
}

// SetPublished moves lane's published watermark to batch (an idle lane, or
// at shutdown).
func SetPublished(ctx context.Context, q Querier, lane string, batch int64) error {
	if _, err := execQ(ctx, q, `UPDATE lanes SET published = $2 WHERE id = $1 AND $2 > published`, lane, batch); err != nil {
		return fmt.Errorf("lane %s published: %w", lane, err)
	}
	return nil
}

// SetSettled moves an intent lane's settled watermark to batch.
func SetSettled(ctx context.Context, q Querier, lane string, batch int64) error {
	if _, err := execQ(ctx, q, `UPDATE lanes SET settled = $2 WHERE id = $1 AND $2 > settled`, lane, batch); err != nil {
		return fmt.Errorf("lane %s settled: %w", lane, err)
	}
	return nil
}

// LaneInfo is a lane as recovery sees it.
type LaneInfo struct {
	ID, Instance, Kind string
	Published, Settled int64
}

// DeadLanes returns the lanes not yet recovered of instances other than
// self whose heartbeat is older than after (or gone), and self's own lanes
// from an earlier life (a restart with the same instance id) whose ids are
// not in current.
func DeadLanes(ctx context.Context, q Querier, self string, current []string, after time.Duration) ([]LaneInfo, error) {
	if current == nil {
		current = []string{} // NULL would make "not one of them" never true
	}
	rows, err := q.Query(ctx, `
SELECT l.id, l.instance, l.kind, l.published, l.settled FROM lanes l LEFT JOIN instances i ON i.id = l.instance
WHERE NOT l.recovered AND (
	(l.instance = $1 AND NOT (l.id = ANY($2))) OR
	(l.instance <> $1 AND (i.id IS NULL OR i.heartbeat < now() - $3 * interval '1 second')))
ORDER BY l.created`, self, current, after.Seconds())
	if err != nil {
		return nil, fmt.Errorf("dead lanes: %w", err)
	}
	var out []LaneInfo
	var l LaneInfo
	if _, err := pgx.ForEachRow(rows, []any{&l.ID, &l.Instance, &l.Kind, &l.Published, &l.Settled}, func() error {
		out = append(out, l)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("dead lanes: %w", err)
	}
	return out, nil
}

// LaneBatches returns up to limit batch ids of lane above after, in order.
func LaneBatches(ctx context.Context, q Querier, lane string, after int64, limit int) ([]int64, error) {
	rows, err := q.Query(ctx, `SELECT id FROM journal_batches WHERE lane = $1 AND id > $2 ORDER BY id LIMIT $3`, lane, after, limit)
	if err != nil {
		return nil, fmt.Errorf("batches of %s: %w", lane, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("batches of %s: %w", lane, err)
	}
	return ids, nil
}

// MarkRecovered records that a dead lane's tail was repaired.
func MarkRecovered(ctx context.Context, q Querier, lane string) error {
	if _, err := execQ(ctx, q, `UPDATE lanes SET recovered = true WHERE id = $1`, lane); err != nil {
		return fmt.Errorf("lane %s recovered: %w", lane, err)
	}
	return nil
}

// LockLane takes a transaction-scoped advisory lock on a lane, so one
// instance at a time repairs it; false when another holds it.
func LockLane(ctx context.Context, tx pgx.Tx, lane string) (bool, error) {
	var ok bool
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(hashtextextended('lane:' || $1, 0))`, lane).Scan(&ok); err != nil {
		return false, fmt.Errorf("lock lane %s: %w", lane, err)
	}
	return ok, nil
}
