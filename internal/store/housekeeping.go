package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// MarkUnknown moves claimed messages whose owner died to Unknown: they may
// have reached the SMSC, so they are never resent blindly (invariant 4).
// It returns the ids moved.
func MarkUnknown(ctx context.Context, tx pgx.Tx, ids []string) ([]string, error) {
	rows, err := tx.Query(ctx, `UPDATE messages SET state = 3, owner = NULL, updated_at = now()
WHERE id = ANY($1) AND state = 1 RETURNING id`, ids)
	if err != nil {
		return nil, fmt.Errorf("mark unknown: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// DLRTimedOut returns messages still waiting for receipts past the timeout.
func DLRTimedOut(ctx context.Context, tx pgx.Tx, before time.Time, limit int) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT id FROM messages WHERE state IN (2, 3) AND dlr AND updated_at < $1
ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("dlr timeout: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// QueueDepth counts messages per operator and state (for gauges). Each
// state is counted through its partial index, so the cost follows the
// live queue, not the history of final messages.
func QueueDepth(ctx context.Context, q Querier) (map[[2]string]int64, error) {
	rows, err := q.Query(ctx, `
SELECT coalesce(operator, ''), 0::int2, count(*) FROM messages WHERE state = 0 GROUP BY 1
UNION ALL SELECT coalesce(operator, ''), 1::int2, count(*) FROM messages WHERE state = 1 GROUP BY 1
UNION ALL SELECT coalesce(operator, ''), 9::int2, count(*) FROM messages WHERE state = 9 GROUP BY 1
UNION ALL SELECT coalesce(operator, ''), 8::int2, count(*) FROM messages WHERE state = 8 GROUP BY 1`)
	if err != nil {
		return nil, fmt.Errorf("queue depth: %w", err)
	}
	defer rows.Close()
	out := map[[2]string]int64{}
	for rows.Next() {
		var op string
		var st State
		var n int64
		if err := rows.Scan(&op, &st, &n); err != nil {
			return nil, err
		}
		out[[2]string{op, st.String()}] = n
	}
	return out, rows.Err()
}

// QueuedFor returns up to limit ready messages of operator (for rerouting
// when the operator is down), locked.
func QueuedFor(ctx context.Context, tx pgx.Tx, operator string, limit int) ([]Claimed, error) {
	rows, err := tx.Query(ctx, `SELECT id, account, dest, coalesce(forced_route, ''), tried FROM messages
WHERE operator = $1 AND state = 0 ORDER BY priority DESC, seq LIMIT $2 FOR UPDATE SKIP LOCKED`, operator, limit)
	if err != nil {
		return nil, fmt.Errorf("queued for %s: %w", operator, err)
	}
	defer rows.Close()
	var out []Claimed
	for rows.Next() {
		var c Claimed
		if err := rows.Scan(&c.ID, &c.Account, &c.Dest, &c.ForcedRoute, &c.Tried); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Reassign moves queued messages to other operators (failover of a down
// operator's backlog).
func Reassign(ctx context.Context, tx pgx.Tx, ids, ops []string, tried []string) error {
	_, err := tx.Exec(ctx, `UPDATE messages m SET operator = u.op, updated_at = now(),
	tried = CASE WHEN u.tried = '' THEN '{}'::text[] ELSE string_to_array(u.tried, ',') END
FROM unnest($1::text[], $2::text[], $3::text[]) u(id, op, tried) WHERE m.id = u.id AND m.state = 0`, ids, ops, tried)
	if err != nil {
		return fmt.Errorf("reassign: %w", err)
	}
	return nil
}
