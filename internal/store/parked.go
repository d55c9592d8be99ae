package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smsgate/smsgate/internal/message"
)

// Parked messages are messages rows with `due` set: scheduled (send_at,
// quiet hours, a route window), held (due 'infinity'), or overflow of an
// operator that cannot take them now. An instance takes due rows for the
// operators it has binds for by leasing them (owner, due = lease end);
// the journal step then claims a leased row (ClaimParked) instead of
// inserting one. A lease that runs out makes the row due again.

// Parked is a parked row taken into memory.
type Parked struct {
	M *message.Message
}

// TakeParked leases up to limit due rows of operator to owner for lease,
// highest priority first; within a priority accounts take turns (each
// one's oldest due first), so one account's backlog is not handed back
// ahead of another's rows. The turns are taken within a window of the
// next parkWindow × limit due rows (one index range per priority on
// msg_parked): the cost stays that of a range scan however large the
// parked set, at the price that an account whose rows are all beyond the
// window waits for it to reach them. Held rows are never due. The result
// is in priority, then due order (one account's messages keep theirs).
func TakeParked(ctx context.Context, q Querier, operator, owner string, limit int, lease time.Duration) ([]*message.Message, error) {
	window := min(limit*parkWindow, 20000)
	rows, err := q.Query(ctx, `
WITH w AS (
	-- one index range per priority, highest first: a backlog of millions
	-- is never sorted to find the next few due rows
	SELECT x.id, x.gen, x.account, x.due, p FROM generate_series(9, 0, -1) p,
	LATERAL (SELECT id, gen, account, due FROM messages WHERE operator = $1 AND priority = p AND due IS NOT NULL AND due <= now()
		ORDER BY due LIMIT $5) x
	LIMIT $5),
f AS (
	SELECT id, gen FROM (SELECT id, gen, p, due, row_number() OVER (PARTITION BY p, account ORDER BY due) rn FROM w) r
	ORDER BY p DESC, rn, due LIMIT $3),
c AS (
	-- locked only now, and checked again: another instance may have
	-- leased some of the window meanwhile
	SELECT m.id, m.gen, m.due FROM messages m JOIN f ON m.id = f.id AND m.gen = f.gen
	WHERE m.due IS NOT NULL AND m.due <= now() FOR UPDATE OF m SKIP LOCKED),
u AS (
	UPDATE messages m SET owner = $2, due = now() + $4 * interval '1 second'
	FROM c WHERE m.id = c.id AND m.gen = c.gen
	RETURNING m.id, m.gen, m.account, m.sender, m.dest, m.body, m.encoding, m.dlr, m.marketing, m.priority, m.parts,
		m.expires_at, coalesce(m.forced_route, '') fr, m.meta, coalesce(m.network, '') nw, coalesce(m.operator, '') op, m.tried,
		m.attempt, m.rerouted, m.src_partition, m.src_offset, m.created_at, c.due was)
SELECT id, gen, account, sender, dest, body, encoding, dlr, marketing, priority, parts, expires_at, fr, meta, nw, op, tried,
	attempt, rerouted, src_partition, src_offset, created_at FROM u ORDER BY priority DESC, was`, operator, owner, limit, lease.Seconds(), window)
	if err != nil {
		return nil, fmt.Errorf("take parked %s: %w", operator, err)
	}
	defer rows.Close()
	var out []*message.Message
	for rows.Next() {
		m := &message.Message{Parked: true}
		var enc, prio, parts int16
		var expires *time.Time
		var meta *string
		if err := rows.Scan(&m.ID, &m.Gen, &m.Account, &m.Sender, &m.Dest, &m.Body, &enc, &m.DLR, &m.Marketing, &prio, &parts,
			&expires, &m.ForcedRoute, &meta, &m.Network, &m.Operator, &m.Tried, &m.Attempt, &m.Rerouted, &m.Partition,
			&m.Offset, &m.CreatedAt); err != nil {
			return nil, fmt.Errorf("take parked %s: %w", operator, err)
		}
		m.Encoding, m.Priority, m.Parts = codingOf(enc), uint8(prio), uint8(parts)
		if expires != nil {
			m.ExpiresAt = *expires
		}
		if meta != nil {
			m.Meta = []byte(*meta)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("take parked %s: %w", operator, err)
	}
	return out, nil
}

// ParkedKey names a parked row and the route it now has.
type ParkedKey struct {
	ID       string
	Gen      int32
	Operator string
	Attempt  int16
	Tried    []string
	// Rerouted: sent again after a failed receipt (no second "submitted").
	Rerouted bool
}

// parkWindow: TakeParked looks this many times its limit ahead for other
// accounts' rows.
const parkWindow = 4

// ClaimParked journals leased parked rows: they become intents (state
// Sending) of batch, with the operator and attempt they are sent with.
// Rows whose lease owner is no longer owner (it ran out and another
// instance took them) are not claimed; the result says which were.
func ClaimParked(ctx context.Context, tx pgx.Tx, batch int64, owner string, keys []ParkedKey) (map[string]bool, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	ids, gens, ops, tried := make([]string, len(keys)), make([]int32, len(keys)), make([]string, len(keys)), make([]string, len(keys))
	atts := make([]int16, len(keys))
	for i, k := range keys {
		ids[i], gens[i], ops[i], atts[i], tried[i] = k.ID, k.Gen, k.Operator, k.Attempt, joinComma(k.Tried)
	}
	rows, err := tx.Query(ctx, `UPDATE messages m SET state = 1, due = NULL, owner = NULL, detail = NULL, batch = $1, operator = u.op, attempt = u.att,
	tried = CASE WHEN u.tried = '' THEN NULL ELSE string_to_array(u.tried, ',') END
FROM unnest($3::text[], $4::int4[], $5::text[], $6::int2[], $7::text[]) u(id, gen, op, att, tried)
WHERE m.id = u.id AND m.gen = u.gen AND m.due IS NOT NULL AND m.owner = $2
RETURNING m.id`, batch, owner, ids, gens, ops, atts, tried)
	if err != nil {
		return nil, fmt.Errorf("claim parked: %w", err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("claim parked: %w", err)
	}
	out := make(map[string]bool, len(got))
	for _, id := range got {
		out[id] = true
	}
	return out, nil
}

// Repark gives rows back to the parked set, due at due (zero: now), with
// the operator, attempt and tried list in keys: leased rows not sent
// (shutdown, the operator went away), and intents that never reached the
// wire (graceful shutdown; their record was settled by the intent, so
// they must not just be dropped). state is Queued or Scheduled.
func Repark(ctx context.Context, q Querier, batch int64, keys []ParkedKey, state message.State, due time.Time) (int64, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	ids, gens, ops, tried := make([]string, len(keys)), make([]int32, len(keys)), make([]string, len(keys)), make([]string, len(keys))
	atts := make([]int16, len(keys))
	rer := make([]bool, len(keys))
	for i, k := range keys {
		ids[i], gens[i], ops[i], atts[i], tried[i], rer[i] = k.ID, k.Gen, k.Operator, k.Attempt, joinComma(k.Tried), k.Rerouted
	}
	n, err := execQ(ctx, q, `UPDATE messages m SET state = $7, due = coalesce($8, now()), owner = NULL, batch = greatest(m.batch, $6),
	operator = u.op, attempt = u.att, tried = CASE WHEN u.tried = '' THEN NULL ELSE string_to_array(u.tried, ',') END,
	rerouted = m.rerouted OR u.rer
FROM unnest($1::text[], $2::int4[], $3::text[], $4::int2[], $5::text[], $9::bool[]) u(id, gen, op, att, tried, rer)
WHERE m.id = u.id AND m.gen = u.gen AND m.state IN (0, 1, 9) AND (m.due IS NOT NULL OR m.state = 1)`,
		ids, gens, ops, atts, tried, batch, int16(state), timePtr(due), rer)
	if err != nil {
		return 0, fmt.Errorf("repark: %w", err)
	}
	return n, nil
}

// ParkedDepth counts parked rows per operator and state (gauges).
func ParkedDepth(ctx context.Context, q Querier) (map[[2]string]int64, error) {
	rows, err := q.Query(ctx, `SELECT coalesce(operator, ''), state, count(*) FROM messages WHERE due IS NOT NULL GROUP BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("parked depth: %w", err)
	}
	out := map[[2]string]int64{}
	var op string
	var st message.State
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&op, &st, &n}, func() error {
		out[[2]string{op, st.String()}] += n
		return nil
	}); err != nil {
		return nil, fmt.Errorf("parked depth: %w", err)
	}
	return out, nil
}

// ParkedFor returns up to limit due, unleased parked rows of operator
// (not held), for moving an operator's backlog to another route.
func ParkedFor(ctx context.Context, tx pgx.Tx, operator string, limit int) ([]ParkedKey, []string, []string, error) {
	rows, err := tx.Query(ctx, `SELECT id, gen, attempt, coalesce(tried, '{}'), dest, coalesce(network, '') FROM messages
WHERE operator = $1 AND due IS NOT NULL AND due <= now() AND owner IS NULL AND state <> 8 AND forced_route IS NULL
ORDER BY priority DESC, due LIMIT $2 FOR UPDATE SKIP LOCKED`, operator, limit)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("parked for %s: %w", operator, err)
	}
	var keys []ParkedKey
	var dests, nets []string
	var k ParkedKey
	var dest, network string
	if _, err := pgx.ForEachRow(rows, []any{&k.ID, &k.Gen, &k.Attempt, &k.Tried, &dest, &network}, func() error {
		k.Operator = operator
		keys = append(keys, k)
		dests, nets = append(dests, dest), append(nets, network)
		return nil
	}); err != nil {
		return nil, nil, nil, fmt.Errorf("parked for %s: %w", operator, err)
	}
	return keys, dests, nets, nil
}

// Reassign moves parked rows to other operators (keys carry the new
// operator and the tried list).
func Reassign(ctx context.Context, tx pgx.Tx, keys []ParkedKey) error {
	ids, gens, ops, tried := make([]string, len(keys)), make([]int32, len(keys)), make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		ids[i], gens[i], ops[i], tried[i] = k.ID, k.Gen, k.Operator, joinComma(k.Tried)
	}
	_, err := tx.Exec(ctx, `UPDATE messages m SET operator = u.op,
	tried = CASE WHEN u.tried = '' THEN NULL ELSE string_to_array(u.tried, ',') END
FROM unnest($1::text[], $2::int4[], $3::text[], $4::text[]) u(id, gen, op, tried)
WHERE m.id = u.id AND m.gen = u.gen AND m.due IS NOT NULL AND m.owner IS NULL`, ids, gens, ops, tried)
	if err != nil {
		return fmt.Errorf("reassign: %w", err)
	}
	return nil
}

// Hold is a held message as the holds API lists it.
type Hold struct {
	ID      string    `json:"id"`
	Account string    `json:"account"`
	Range   string    `json:"range"`
	Reason  string    `json:"reason"`
	Since   time.Time `json:"since"`
	// Dest fills Range for a hold that has no pumping range (a content
	// hold): the caller gives the destination's range.
	Dest string `json:"-"`
}

// Holds lists held messages, oldest first.
func Holds(ctx context.Context, q Querier, limit int) ([]Hold, error) {
	rows, err := q.Query(ctx, `SELECT id, account, coalesce(hold_range, ''), coalesce(reason, ''), coalesce(held_at, created_at), dest
FROM messages WHERE state = 8 AND due IS NOT NULL ORDER BY held_at NULLS FIRST, created_at LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("holds: %w", err)
	}
	out := []Hold{}
	var h Hold
	if _, err := pgx.ForEachRow(rows, []any{&h.ID, &h.Account, &h.Range, &h.Reason, &h.Since, &h.Dest}, func() error { out = append(out, h); return nil }); err != nil {
		return nil, fmt.Errorf("holds: %w", err)
	}
	return out, nil
}

// ErrNotHeld: the id is unknown or its message is not held (any more).
var ErrNotHeld = errors.New("message is not held")

// ReleaseHold makes a held message due now (it keeps its operator).
func ReleaseHold(ctx context.Context, q Querier, id string) error {
	n, err := execQ(ctx, q, `UPDATE messages SET state = 0, due = now(), reason = NULL, detail = NULL
WHERE id = $1 AND state = 8 AND due IS NOT NULL`, id)
	if err != nil {
		return fmt.Errorf("release %s: %w", id, err)
	}
	if n == 0 {
		return ErrNotHeld
	}
	return nil
}

// Dropped is a held message ended by DropHold, for its status event.
type Dropped struct {
	Account, Reason string
	Parts           int16
	Meta            []byte
}

// DropHold ends a held message rejected with the reason it was held for.
func DropHold(ctx context.Context, tx pgx.Tx, batch int64, id string) (Dropped, error) {
	var d Dropped
	var meta *string
	err := tx.QueryRow(ctx, `UPDATE messages SET state = 7, due = NULL, batch = $2, detail = 'dropped from hold'
WHERE id = $1 AND state = 8 AND due IS NOT NULL RETURNING account, parts, coalesce(reason, ''), meta`, id, batch).Scan(&d.Account, &d.Parts, &d.Reason, &meta)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, ErrNotHeld
	}
	if err != nil {
		return d, fmt.Errorf("drop %s: %w", id, err)
	}
	if meta != nil {
		d.Meta = []byte(*meta)
	}
	return d, nil
}

// AddDuplicates notes duplicate records (produced again with the same id)
// on their original's row; their events are published by the duplicate
// sweeper once the original has a status.
func AddDuplicates(ctx context.Context, tx pgx.Tx, gens []int32, ids []string, ns []int32) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `UPDATE messages m SET dup_pending = m.dup_pending + u.n
FROM unnest($1::text[], $2::int4[], $3::int4[]) u(id, gen, n) WHERE m.id = u.id AND m.gen = u.gen`, ids, gens, ns)
	if err != nil {
		return fmt.Errorf("duplicates: %w", err)
	}
	return nil
}
