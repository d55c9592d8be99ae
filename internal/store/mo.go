package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smsgate/smsgate/dlr"
)

// MOStore implements dlr.Store on Postgres inside one transaction, so the
// parts of multipart MO survive restarts and are shared by instances.
type MOStore struct {
	Tx pgx.Tx
}

var _ dlr.Store = MOStore{}

// AddPart stores p and returns its group. A per-group advisory lock makes
// "complete" come true for exactly one caller even across instances.
func (s MOStore) AddPart(ctx context.Context, p dlr.MOPart) ([]dlr.MOPart, bool, error) {
	key := dlr.GroupKey(p)
	if _, err := s.Tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, key); err != nil {
		return nil, false, fmt.Errorf("mo lock: %w", err)
	}
	tag, err := s.Tx.Exec(ctx, `INSERT INTO mo_parts (group_key, seq, operator, src, dst, ref, total, body, received_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
		key, int16(p.Seq), p.Operator, p.From, p.To, int32(p.Ref), int16(p.Total), p.Text, p.Received)
	if err != nil {
		return nil, false, fmt.Errorf("mo part: %w", err)
	}
	parts, err := s.group(ctx, key)
	if err != nil {
		return nil, false, err
	}
	complete := tag.RowsAffected() == 1 && len(parts) == int(p.Total)
	return parts, complete, nil
}

func (s MOStore) group(ctx context.Context, key string) ([]dlr.MOPart, error) {
	rows, err := s.Tx.Query(ctx, `SELECT operator, src, dst, ref, total, seq, body, received_at
FROM mo_parts WHERE group_key = $1 ORDER BY seq`, key)
	if err != nil {
		return nil, fmt.Errorf("mo group: %w", err)
	}
	defer rows.Close()
	var out []dlr.MOPart
	for rows.Next() {
		var p dlr.MOPart
		var ref int32
		var total, seq int16
		if err := rows.Scan(&p.Operator, &p.From, &p.To, &ref, &total, &seq, &p.Text, &p.Received); err != nil {
			return nil, err
		}
		p.Ref, p.Total, p.Seq = uint16(ref), uint8(total), uint8(seq)
		p.Key = dlr.PartKey(p)
		out = append(out, p)
	}
	return out, rows.Err()
}

// Remove deletes a group's parts.
func (s MOStore) Remove(ctx context.Context, groupKey string) error {
	if _, err := s.Tx.Exec(ctx, `DELETE FROM mo_parts WHERE group_key = $1`, groupKey); err != nil {
		return fmt.Errorf("mo remove: %w", err)
	}
	return nil
}

// Expired returns groups whose first part arrived before `before`.
func (s MOStore) Expired(ctx context.Context, before time.Time, limit int) ([][]dlr.MOPart, error) {
	rows, err := s.Tx.Query(ctx, `SELECT group_key FROM mo_parts GROUP BY group_key
HAVING min(received_at) < $1 ORDER BY min(received_at) LIMIT $2`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("mo expired: %w", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := make([][]dlr.MOPart, 0, len(keys))
	for _, k := range keys {
		g, err := s.group(ctx, k)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// MORow is a received message as stored for `export mo`.
type MORow struct {
	ID           string
	Operator     string
	From         string
	To           string
	Text         string
	Parts        int16
	Keyword      string
	Incomplete   bool
	PartsMissing []int16
	ReceivedAt   time.Time
}

// InsertMO stores complete (or timed-out) MO messages, each id once, and
// returns which rows were new. Ids derive from the PDUs (a redelivered MO
// gets the id it had); alsoSeen lists, per row, an id under which the same
// MO may have been stored already (the previous time bucket of its id): a
// row whose alsoSeen id exists is not new either.
func InsertMO(ctx context.Context, tx pgx.Tx, batch int64, rows []MORow, alsoSeen []string) ([]bool, error) {
	out := make([]bool, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	n := len(rows)
	ids, ops, srcs, dsts, bodies, kws, missing := make([]string, n), make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]*string, n), make([]string, n)
	days := make([]int32, n)
	parts := make([]int16, n)
	inc := make([]bool, n)
	recv := make([]time.Time, n)
	for i, r := range rows {
		ids[i], ops[i], srcs[i], dsts[i], bodies[i], kws[i] = r.ID, r.Operator, r.From, r.To, r.Text, nullable(r.Keyword)
		days[i], parts[i], inc[i], recv[i] = Day(r.ReceivedAt), r.Parts, r.Incomplete, r.ReceivedAt
		missing[i] = int16sText(r.PartsMissing)
	}
	q, err := tx.Query(ctx, `
INSERT INTO mo (id, day, operator, src, dst, body, parts, keyword, incomplete, parts_missing, received_at, batch)
SELECT u.id, u.day, u.op, u.src, u.dst, u.body, u.parts, u.kw, u.inc, u.missing::int2[], u.recv, $12
FROM unnest($1::text[], $2::int4[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int2[], $8::text[], $9::bool[],
	$10::text[], $11::timestamptz[], $13::text[]) AS u(id, day, op, src, dst, body, parts, kw, inc, missing, recv, seen)
WHERE NOT EXISTS (SELECT 1 FROM mo x WHERE x.id IN (u.id, u.seen) AND x.day BETWEEN u.day - 1 AND u.day)
ON CONFLICT DO NOTHING
RETURNING id`, ids, days, ops, srcs, dsts, bodies, parts, kws, inc, missing, recv, batch, alsoSeen)
	if err != nil {
		return nil, fmt.Errorf("insert mo: %w", err)
	}
	got, err := pgx.CollectRows(q, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("insert mo: %w", err)
	}
	isNew := make(map[string]bool, len(got))
	for _, id := range got {
		isNew[id] = true
	}
	for i, r := range rows {
		out[i] = isNew[r.ID]
	}
	return out, nil
}

// int16sText renders a smallint[] literal ('{1,2}'), NULL-safe as '{}'.
func int16sText(v []int16) string {
	b := []byte{'{'}
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(x), 10)
	}
	return string(append(b, '}'))
}
