package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// SlotKey names one pool of bind slots: an operator's transmitting binds
// ("tx") or its receivers ("rx").
type SlotKey struct {
	Operator string
	Kind     string
}

// EnsureSlots creates slots 0..n-1 of key if missing. Slots beyond n (a
// smaller `binds` after a config change) are left to expire: nobody
// acquires them, and their holder releases them.
func EnsureSlots(ctx context.Context, q Querier, key SlotKey, n int) error {
	if n <= 0 {
		return nil
	}
	if _, err := execQ(ctx, q, `INSERT INTO bind_slots (operator, kind, slot)
SELECT $1, $2, s FROM generate_series(0, $3 - 1) s ON CONFLICT DO NOTHING`, key.Operator, key.Kind, n); err != nil {
		return fmt.Errorf("ensure bind slots %s/%s: %w", key.Operator, key.Kind, err)
	}
	return nil
}

// LiveInstances counts instances whose heartbeat is younger than within.
func LiveInstances(ctx context.Context, q Querier, within time.Duration) (int, error) {
	var n int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM instances WHERE heartbeat > now() - $1 * interval '1 second'`,
		within.Seconds()).Scan(&n); err != nil {
		return 0, fmt.Errorf("live instances: %w", err)
	}
	return n, nil
}

// RenewSlots extends every lease held by instance to now()+ttl (database
// clock), records which operators have a bind up here, and returns the
// slots still held. A lease that expired but was not taken is still ours:
// nobody else can have opened a bind on it.
func RenewSlots(ctx context.Context, q Querier, instance string, ttl time.Duration, opsUp []string) (map[SlotKey][]int, error) {
	if opsUp == nil {
		opsUp = []string{} // nil would be NULL; coalesce covers it too
	}
	rows, err := q.Query(ctx, `UPDATE bind_slots SET expires = now() + $2 * interval '1 second', up = coalesce(operator = ANY($3), false)
WHERE holder = $1 RETURNING operator, kind, slot`, instance, ttl.Seconds(), opsUp)
	if err != nil {
		return nil, fmt.Errorf("renew bind slots: %w", err)
	}
	out := map[SlotKey][]int{}
	var k SlotKey
	var slot int
	_, err = pgx.ForEachRow(rows, []any{&k.Operator, &k.Kind, &slot}, func() error {
		out[k] = append(out[k], slot)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("renew bind slots: %w", err)
	}
	return out, nil
}

// AcquireSlots takes up to want free or expired slots below n of key for
// instance, lowest first, and returns their numbers.
func AcquireSlots(ctx context.Context, q Querier, instance string, key SlotKey, n, want int, ttl time.Duration) ([]int, error) {
	if want <= 0 {
		return nil, nil
	}
	rows, err := q.Query(ctx, `UPDATE bind_slots b SET holder = $1, expires = now() + $6 * interval '1 second', up = false
FROM (SELECT operator, kind, slot FROM bind_slots
      WHERE operator = $2 AND kind = $3 AND slot < $4 AND (holder IS NULL OR expires < now())
      ORDER BY slot LIMIT $5 FOR UPDATE SKIP LOCKED) f
WHERE b.operator = f.operator AND b.kind = f.kind AND b.slot = f.slot
RETURNING b.slot`, instance, key.Operator, key.Kind, n, want, ttl.Seconds())
	if err != nil {
		return nil, fmt.Errorf("acquire bind slots %s/%s: %w", key.Operator, key.Kind, err)
	}
	slots, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return nil, fmt.Errorf("acquire bind slots %s/%s: %w", key.Operator, key.Kind, err)
	}
	return slots, nil
}

// ReleaseSlots frees slots of key held by instance. Call it only after the
// binds they covered are closed.
func ReleaseSlots(ctx context.Context, q Querier, instance string, key SlotKey, slots []int) error {
	if len(slots) == 0 {
		return nil
	}
	if _, err := execQ(ctx, q, `UPDATE bind_slots SET holder = NULL, up = false, expires = '-infinity'
WHERE holder = $1 AND operator = $2 AND kind = $3 AND slot = ANY($4)`, instance, key.Operator, key.Kind, slots); err != nil {
		return fmt.Errorf("release bind slots %s/%s: %w", key.Operator, key.Kind, err)
	}
	return nil
}

// ReleaseAllSlots frees every slot instance holds (after a graceful
// shutdown closed its binds), so a restart or a peer takes them at once.
func ReleaseAllSlots(ctx context.Context, q Querier, instance string) error {
	if _, err := execQ(ctx, q, `UPDATE bind_slots SET holder = NULL, up = false, expires = '-infinity' WHERE holder = $1`, instance); err != nil {
		return fmt.Errorf("release bind slots: %w", err)
	}
	return nil
}

// OperatorsUp returns the operators on which some live lease holder has a
// bind up: the cluster's view of which operators can take traffic.
func OperatorsUp(ctx context.Context, q Querier) (map[string]bool, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT operator FROM bind_slots WHERE holder IS NOT NULL AND up AND expires > now()`)
	if err != nil {
		return nil, fmt.Errorf("operators up: %w", err)
	}
	ops, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("operators up: %w", err)
	}
	out := make(map[string]bool, len(ops))
	for _, o := range ops {
		out[o] = true
	}
	return out, nil
}
