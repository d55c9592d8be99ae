package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Claimed is a message taken from the queue by one dispatcher.
type Claimed struct {
	ID          string
	Account     string
	Sender      string
	Dest        string
	Body        string
	Encoding    int16
	DLR         bool
	Kind        int16
	Priority    int16
	ExpiresAt   *time.Time
	ForcedRoute string
	Meta        []byte
	Parts       int16
	Tried       []string
	Attempts    int32
	CreatedAt   time.Time
	Network     string // MCC+MNC, "" unknown
	Rerouted    int16  // sent again after a failed receipt: no second `submitted`
}

// Claim moves up to limit ready messages of operator to Sending, owned by
// owner, and returns them. From this commit on they may be on the wire, so
// a crash before their outcome is recorded makes them Unknown, never
// resent (invariant 4). SKIP LOCKED lets instances claim side by side.
func Claim(ctx context.Context, q Querier, operator, owner string, limit int) ([]Claimed, error) {
	rows, err := q.Query(ctx, `
UPDATE messages m SET state = 1, owner = $2, attempts = m.attempts + 1, updated_at = now()
FROM (SELECT id FROM messages WHERE operator = $1 AND state = 0
      ORDER BY priority DESC, seq LIMIT $3 FOR UPDATE SKIP LOCKED) c
WHERE m.id = c.id
RETURNING m.id, m.account, m.sender, m.dest, m.body, m.encoding, m.dlr, m.kind, m.priority, m.expires_at,
	coalesce(m.forced_route, ''), m.meta, m.parts, m.tried, m.attempts, m.created_at, coalesce(m.network, ''), m.rerouted`, operator, owner, limit)
	if err != nil {
		return nil, fmt.Errorf("claim %s: %w", operator, err)
	}
	defer rows.Close()
	out := make([]Claimed, 0, limit)
	for rows.Next() {
		var c Claimed
		if err := rows.Scan(&c.ID, &c.Account, &c.Sender, &c.Dest, &c.Body, &c.Encoding, &c.DLR, &c.Kind,
			&c.Priority, &c.ExpiresAt, &c.ForcedRoute, &c.Meta, &c.Parts, &c.Tried, &c.Attempts, &c.CreatedAt, &c.Network, &c.Rerouted); err != nil {
			return nil, fmt.Errorf("claim %s: %w", operator, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim %s: %w", operator, err)
	}
	return out, nil
}

// PromoteScheduled makes due scheduled messages ready; returns how many.
func PromoteScheduled(ctx context.Context, q Querier, now time.Time, limit int) (int, error) {
	var n int
	err := q.QueryRow(ctx, `
WITH due AS (SELECT id FROM messages WHERE state = 9 AND send_at <= $1 ORDER BY send_at LIMIT $2 FOR UPDATE SKIP LOCKED),
upd AS (UPDATE messages m SET state = 0, updated_at = now() FROM due WHERE m.id = due.id RETURNING 1)
SELECT count(*) FROM upd`, now, limit).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("promote scheduled: %w", err)
	}
	return n, nil
}

// Heartbeat records that instance id is alive.
func Heartbeat(ctx context.Context, q Querier, id string) error {
	var one int
	err := q.QueryRow(ctx, `INSERT INTO instances (id) VALUES ($1)
ON CONFLICT (id) DO UPDATE SET heartbeat = now() RETURNING 1`, id).Scan(&one)
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	return nil
}

// Orphaned returns messages in Sending whose owner is dead: not this
// instance and without a heartbeat for staleAfter (or this instance's own
// claims from a previous life, when it restarts with the same id).
func Orphaned(ctx context.Context, q Querier, self string, selfStarted time.Time, staleAfter time.Duration, limit int) ([]string, error) {
	rows, err := q.Query(ctx, `
SELECT m.id FROM messages m LEFT JOIN instances i ON i.id = m.owner
WHERE m.state = 1 AND (
	(m.owner = $1 AND m.updated_at < $2) OR
	(m.owner <> $1 AND (i.id IS NULL OR i.heartbeat < now() - $3 * interval '1 second')))
LIMIT $4`, self, selfStarted, staleAfter.Seconds(), limit)
	if err != nil {
		return nil, fmt.Errorf("orphaned claims: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// Release returns claimed messages that were never written to a bind to the
// queue (graceful shutdown).
func Release(ctx context.Context, q Querier, ids []string) error {
	if _, err := execQ(ctx, q, `UPDATE messages SET state = 0, owner = NULL, attempts = greatest(attempts - 1, 0), updated_at = now()
WHERE id = ANY($1) AND state = 1`, ids); err != nil {
		return fmt.Errorf("release claims: %w", err)
	}
	return nil
}
