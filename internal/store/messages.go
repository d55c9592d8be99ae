package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Message is one accepted sms.submit record as stored in the queue.
type Message struct {
	ID           string
	Account      string
	Sender       string
	Dest         string
	Body         string
	Encoding     int16
	DLR          bool
	Kind         int16 // 0 transactional, 1 marketing
	Priority     int16
	SendAt       time.Time
	ExpiresAt    *time.Time
	ForcedRoute  string
	Meta         []byte // JSON object or nil
	Parts        int16
	State        State // Queued, Scheduled or Rejected (with ErrorReason)
	Operator     string
	SrcPartition int32
	SrcOffset    int64
	ErrorReason  string
	ErrorDetail  string
	Tried        []string
	Attempts     int32
	// Network is the destination's MCC+MNC ("" unknown).
	Network string
	// HoldRange is the pumping range of a Held message (ErrorReason says
	// why it is held).
	HoldRange string
}

// Existing is what ingest needs to know about an id that was already stored.
type Existing struct {
	ID           string
	State        State
	SrcPartition int32
	SrcOffset    int64
}

// InsertMessages stores msgs with ON CONFLICT (id) DO NOTHING and returns
// the ids that were new. One statement for the whole batch.
func InsertMessages(ctx context.Context, tx pgx.Tx, msgs []Message) (map[string]struct{}, error) {
	n := len(msgs)
	ids := make([]string, n)
	accounts := make([]string, n)
	senders := make([]string, n)
	dests := make([]string, n)
	bodies := make([]string, n)
	encs := make([]int16, n)
	dlrs := make([]bool, n)
	kinds := make([]int16, n)
	prios := make([]int16, n)
	sendAts := make([]time.Time, n)
	expires := make([]*time.Time, n)
	routes := make([]*string, n)
	metas := make([]*string, n)
	parts := make([]int16, n)
	states := make([]int16, n)
	ops := make([]*string, n)
	srcPart := make([]int32, n)
	srcOff := make([]int64, n)
	reasons := make([]*string, n)
	details := make([]*string, n)
	holdRanges := make([]*string, n)
	nets := make([]*string, n)
	for i := range msgs {
		m := &msgs[i]
		ids[i], accounts[i], senders[i], dests[i], bodies[i] = m.ID, m.Account, m.Sender, m.Dest, m.Body
		encs[i], dlrs[i], kinds[i], prios[i] = m.Encoding, m.DLR, m.Kind, m.Priority
		sendAts[i], expires[i] = m.SendAt, m.ExpiresAt
		routes[i] = nullable(m.ForcedRoute)
		if m.Meta != nil {
			s := string(m.Meta)
			metas[i] = &s
		}
		parts[i], states[i] = m.Parts, int16(m.State)
		ops[i] = nullable(m.Operator)
		srcPart[i], srcOff[i] = m.SrcPartition, m.SrcOffset
		reasons[i], details[i] = nullable(m.ErrorReason), nullable(m.ErrorDetail)
		holdRanges[i] = nullable(m.HoldRange)
		nets[i] = nullable(m.Network)
	}
	rows, err := tx.Query(ctx, `
INSERT INTO messages (id, account, sender, dest, body, encoding, dlr, kind, priority, send_at, expires_at,
	forced_route, meta, parts, state, operator, src_partition, src_offset, error_reason, error_detail, final_at,
	hold_range, held_at, network)
SELECT u.id, u.account, u.sender, u.dest, u.body, u.enc, u.dlr, u.kind, u.prio, u.send_at, u.expires_at,
	u.route, u.meta::jsonb, u.parts, u.state, u.op, u.spart, u.soff, u.reason, u.detail,
	CASE WHEN u.state = 7 THEN now() END, u.hrange, CASE WHEN u.state = 8 THEN now() END, u.net
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int2[], $7::bool[], $8::int2[],
	$9::int2[], $10::timestamptz[], $11::timestamptz[], $12::text[], $13::text[], $14::int2[], $15::int2[],
	$16::text[], $17::int4[], $18::int8[], $19::text[], $20::text[], $21::text[], $22::text[])
	AS u(id, account, sender, dest, body, enc, dlr, kind, prio, send_at, expires_at, route, meta, parts, state,
	op, spart, soff, reason, detail, hrange, net)
ON CONFLICT (id) DO NOTHING
RETURNING id`, ids, accounts, senders, dests, bodies, encs, dlrs, kinds, prios, sendAts, expires, routes, metas,
		parts, states, ops, srcPart, srcOff, reasons, details, holdRanges, nets)
	if err != nil {
		return nil, fmt.Errorf("insert messages: %w", err)
	}
	inserted := make(map[string]struct{}, n)
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		inserted[id] = struct{}{}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("insert messages: %w", err)
	}
	return inserted, nil
}

// LookupExisting returns the stored state of ids (for duplicates).
func LookupExisting(ctx context.Context, q Querier, ids []string) (map[string]Existing, error) {
	rows, err := q.Query(ctx, `SELECT id, state, src_partition, src_offset FROM messages WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("lookup existing: %w", err)
	}
	defer rows.Close()
	out := make(map[string]Existing, len(ids))
	for rows.Next() {
		var e Existing
		if err := rows.Scan(&e.ID, &e.State, &e.SrcPartition, &e.SrcOffset); err != nil {
			return nil, err
		}
		out[e.ID] = e
	}
	return out, rows.Err()
}

// AddPendingDuplicates notes duplicates of messages that have no published
// status yet; their duplicate events are emitted with the first status.
func AddPendingDuplicates(ctx context.Context, tx pgx.Tx, counts map[string]int) error {
	if len(counts) == 0 {
		return nil
	}
	ids := make([]string, 0, len(counts))
	ns := make([]int32, 0, len(counts))
	for id, n := range counts {
		ids = append(ids, id)
		ns = append(ns, int32(n))
	}
	_, err := tx.Exec(ctx, `UPDATE messages m SET dup_pending = m.dup_pending + u.n
FROM unnest($1::text[], $2::int4[]) AS u(id, n) WHERE m.id = u.id`, ids, ns)
	if err != nil {
		return fmt.Errorf("pending duplicates: %w", err)
	}
	return nil
}

// Querier is satisfied by *pgxpool.Pool, *pgx.Conn and pgx.Tx.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
