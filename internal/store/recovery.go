package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// UnsentIntent is a journaled message whose current attempt has no
// outcome rows: it may have reached the SMSC.
type UnsentIntent struct {
	ID       string
	Gen      int32
	Attempt  int16
	Parts    int16
	Operator string
	Account  string
	Dest     string
	Network  string
	Reserved int64 // of the account's balance, released by recovery
}

// IntentsWithoutOutcome returns the journaled messages of batches whose
// current attempt has no attempt rows.
func IntentsWithoutOutcome(ctx context.Context, q Querier, batches []int64) ([]UnsentIntent, error) {
	rows, err := q.Query(ctx, `SELECT m.id, m.gen, m.attempt, m.parts, coalesce(m.operator, ''), m.account, m.dest, coalesce(m.network, ''), m.reserved
FROM messages m WHERE m.batch = ANY($1) AND m.state = 1
AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.message_id = m.id AND a.attempt >= m.attempt)`, batches)
	if err != nil {
		return nil, fmt.Errorf("intents without outcome: %w", err)
	}
	var out []UnsentIntent
	var u UnsentIntent
	if _, err := pgx.ForEachRow(rows, []any{&u.ID, &u.Gen, &u.Attempt, &u.Parts, &u.Operator, &u.Account, &u.Dest, &u.Network, &u.Reserved}, func() error {
		out = append(out, u)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("intents without outcome: %w", err)
	}
	return out, nil
}

// BatchMessages returns the ids of messages with rows in batches (any
// journal table), for publishing their current status again.
func BatchMessages(ctx context.Context, q Querier, batches []int64) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT id FROM messages WHERE batch = ANY($1)
UNION SELECT message_id FROM attempts WHERE batch = ANY($1)
UNION SELECT message_id FROM receipts WHERE batch = ANY($1)`, batches)
	if err != nil {
		return nil, fmt.Errorf("batch messages: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("batch messages: %w", err)
	}
	return ids, nil
}

// BatchMO returns the MO rows stored by batches.
func BatchMO(ctx context.Context, q Querier, batches []int64) ([]MORow, error) {
	rows, err := q.Query(ctx, `SELECT id, operator, src, dst, body, parts, coalesce(keyword, ''), incomplete, coalesce(parts_missing, '{}'), received_at
FROM mo WHERE batch = ANY($1) ORDER BY batch, received_at`, batches)
	if err != nil {
		return nil, fmt.Errorf("batch mo: %w", err)
	}
	var out []MORow
	var r MORow
	if _, err := pgx.ForEachRow(rows, []any{&r.ID, &r.Operator, &r.From, &r.To, &r.Text, &r.Parts, &r.Keyword, &r.Incomplete, &r.PartsMissing, &r.ReceivedAt}, func() error {
		out = append(out, r)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("batch mo: %w", err)
	}
	return out, nil
}

// AwaitingReceipt is a part still waiting for its final receipt.
type AwaitingReceipt struct {
	MessageID     string
	Part, Attempt int16
	Day           int32
	Operator      string
	SubmittedAt   time.Time
}

// AwaitingReceipts returns up to limit parts submitted in [from, to) that
// asked for a receipt and have no final receipt yet, oldest first: the
// dlr.timeout sweep turns them expired.
func AwaitingReceipts(ctx context.Context, q Querier, from, to time.Time, limit int) ([]AwaitingReceipt, error) {
	rows, err := q.Query(ctx, `
SELECT a.message_id, a.part, a.attempt, a.day, a.operator, a.submitted_at
FROM attempts a JOIN messages m ON m.id = a.message_id AND m.gen = a.gen
WHERE a.day BETWEEN $3 AND $4 AND a.submitted_at >= $1 AND a.submitted_at < $2 AND a.state IN (2, 3) AND m.dlr
	AND a.final_state IS NULL
	AND NOT EXISTS (SELECT 1 FROM receipts r WHERE r.message_id = a.message_id AND r.part = a.part AND r.attempt = a.attempt AND r.state IN (4, 5, 6))
	AND NOT EXISTS (SELECT 1 FROM attempts b WHERE b.message_id = a.message_id AND b.attempt > a.attempt)
ORDER BY a.submitted_at LIMIT $5`, from, to, Day(from), Day(to), limit)
	if err != nil {
		return nil, fmt.Errorf("awaiting receipts: %w", err)
	}
	var out []AwaitingReceipt
	var a AwaitingReceipt
	if _, err := pgx.ForEachRow(rows, []any{&a.MessageID, &a.Part, &a.Attempt, &a.Day, &a.Operator, &a.SubmittedAt}, func() error {
		out = append(out, a)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("awaiting receipts: %w", err)
	}
	return out, nil
}

// GetCursor reads how far a cluster-wide sweeper (the dlr timeout) got;
// the zero time when it never ran.
func GetCursor(ctx context.Context, q Querier, name string) (time.Time, error) {
	var s string
	err := q.QueryRow(ctx, `SELECT value FROM settings WHERE key = $1`, "cursor:"+name).Scan(&s)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("cursor %s: %w", name, err)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("cursor %s: %w", name, err)
	}
	return t, nil
}

// SetCursor records a sweeper's position.
func SetCursor(ctx context.Context, q Querier, name string, t time.Time) error {
	if _, err := execQ(ctx, q, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
		"cursor:"+name, t.UTC().Format(time.RFC3339Nano)); err != nil {
		return fmt.Errorf("cursor %s: %w", name, err)
	}
	return nil
}
