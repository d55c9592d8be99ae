package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/smsgate/smsgate/internal/message"
)

// IntentRow is one messages row to write: an intent to send (state
// Sending, written just before the wire), a parked message (Queued,
// Scheduled or Held, with Due), or a message rejected before any SMSC saw
// it (Rejected, with Reason and Detail).
type IntentRow struct {
	M         *message.Message
	State     message.State
	Due       time.Time
	Reason    string
	Detail    string
	HoldRange string
}

// Existing is the stored row an id conflicted with.
type Existing struct {
	Gen       int32
	State     message.State
	Partition int32
	Offset    int64
}

// Replay reports whether the conflicting record is the stored one read
// again (same partition and offset): it produces nothing.
func (e Existing) Replay(m *message.Message) bool {
	return e.Partition == m.Partition && e.Offset == m.Offset
}

// IntentResult is what became of one row: written, or the id was stored
// already (earlier, or by an earlier row of the same batch).
type IntentResult struct {
	New      bool
	Existing Existing
}

var msgColumns = []string{"id", "gen", "batch", "state", "account", "sender", "dest", "body", "encoding", "dlr", "marketing",
	"priority", "parts", "expires_at", "forced_route", "meta", "network", "operator", "tried", "attempt", "rerouted",
	"src_partition", "src_offset", "created_at", "due", "reason", "detail", "hold_range", "held_at", "reserved"}

// InsertIntents writes rows in batch, at most one per id: an id stored
// already — in the current generation or an older one within retention —
// is not written again (the dedupe of the contract). The common case (no
// duplicate) is one COPY; a batch with a duplicate in the current
// generation falls back to INSERT … ON CONFLICT DO NOTHING.
func (s *Store) InsertIntents(ctx context.Context, tx pgx.Tx, batch int64, now time.Time, rows []IntentRow) ([]IntentResult, error) {
	res := make([]IntentResult, len(rows))
	if len(rows) == 0 {
		return res, nil
	}
	gen := s.Gen(now)
	probe, near := s.olderGens(gen, now)
	ids := make([]string, 0, len(rows))
	first := make(map[string]int, len(rows))
	var repeats []int // rows whose id an earlier row of the batch has
	for i := range rows {
		id := rows[i].M.ID
		if _, dup := first[id]; dup {
			repeats = append(repeats, i)
			continue
		}
		first[id] = i
		ids = append(ids, id)
	}
	// A repeat within the batch conflicts with whatever its id's first row
	// became: that row when it is written now, else the stored one.
	defer func() {
		for _, i := range repeats {
			j := first[rows[i].M.ID]
			if res[j].New {
				res[i].Existing = Existing{Gen: gen, State: rows[j].State, Partition: rows[j].M.Partition, Offset: rows[j].M.Offset}
			} else {
				res[i].Existing = res[j].Existing
			}
		}
	}()
	if near {
		// Around a generation boundary two instances may write one id into
		// two generations: serialise per id, then probe both neighbours.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(x, 7243)) FROM (SELECT unnest($1::text[]) x ORDER BY 1) u`, ids); err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
	}
	found := map[string]Existing{}
	if len(probe) > 0 {
		if err := existingRows(ctx, tx, probe, ids, found); err != nil {
			return nil, err
		}
	}
	write := make([]int, 0, len(ids))
	for _, id := range ids {
		i := first[id]
		if e, ok := found[id]; ok {
			res[i].Existing = e
			continue
		}
		write = append(write, i)
	}
	if len(write) == 0 {
		return res, nil
	}
	enc := newCopyBin()
	defer enc.release()
	encodeIntents(enc, rows, write, gen, batch, now)
	sp, err := tx.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	_, err = enc.copyInto(ctx, sp, "messages", msgColumns)
	if err == nil {
		if err := sp.Commit(ctx); err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		for _, i := range write {
			res[i].New = true
		}
		return res, nil
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" {
		_ = sp.Rollback(ctx)
		return nil, fmt.Errorf("journal copy: %w", err)
	}
	if err := sp.Rollback(ctx); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	// A duplicate within the current generation: insert what is new.
	inserted, err := s.insertOnConflict(ctx, tx, rows, write, gen, batch, now)
	if err != nil {
		return nil, err
	}
	var rest []string
	for _, i := range write {
		if inserted[rows[i].M.ID] {
			res[i].New = true
		} else {
			rest = append(rest, rows[i].M.ID)
		}
	}
	if len(rest) > 0 {
		if err := existingRows(ctx, tx, []int32{gen}, rest, found); err != nil {
			return nil, err
		}
		for _, id := range rest {
			res[first[id]].Existing = found[id]
		}
	}
	return res, nil
}

func existingRows(ctx context.Context, tx pgx.Tx, gens []int32, ids []string, into map[string]Existing) error {
	rows, err := tx.Query(ctx, `SELECT id, gen, state, src_partition, src_offset FROM messages WHERE gen = ANY($1) AND id = ANY($2)`, gens, ids)
	if err != nil {
		return fmt.Errorf("journal probe: %w", err)
	}
	var id string
	var e Existing
	_, err = pgx.ForEachRow(rows, []any{&id, &e.Gen, &e.State, &e.Partition, &e.Offset}, func() error {
		into[id] = e
		return nil
	})
	if err != nil {
		return fmt.Errorf("journal probe: %w", err)
	}
	return nil
}

func (s *Store) insertOnConflict(ctx context.Context, tx pgx.Tx, rows []IntentRow, idx []int, gen int32, batch int64, now time.Time) (map[string]bool, error) {
	n := len(idx)
	var (
		ids, accounts, senders, dests, bodies, tried       = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		states, encs, prios, parts, attempts               = make([]int16, n), make([]int16, n), make([]int16, n), make([]int16, n), make([]int16, n)
		dlrs, mkts, rer                                    = make([]bool, n), make([]bool, n), make([]bool, n)
		expires, created, due, heldAt                      = make([]*time.Time, n), make([]time.Time, n), make([]*time.Time, n), make([]*time.Time, n)
		forced, metas, nets, ops, reasons, details, ranges = make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n)
		srcPart                                            = make([]int32, n)
		srcOff, reserved                                   = make([]int64, n), make([]int64, n)
	)
	for k, i := range idx {
		r := &rows[i]
		m := r.M
		ids[k], accounts[k], senders[k], dests[k], bodies[k] = m.ID, m.Account, m.Sender, m.Dest, m.Body
		tried[k] = joinComma(m.Tried)
		states[k], encs[k], prios[k], parts[k], attempts[k] = int16(r.State), int16(m.Encoding), int16(m.Priority), int16(m.Parts), max(m.Attempt, 1)
		dlrs[k], mkts[k], rer[k] = m.DLR, m.Marketing, m.Rerouted
		expires[k], due[k] = timePtr(m.ExpiresAt), timePtr(r.Due)
		created[k] = m.CreatedAt
		if created[k].IsZero() {
			created[k] = now
		}
		if r.State == message.Held {
			heldAt[k] = &now
		}
		forced[k], nets[k], ops[k] = nullable(m.ForcedRoute), nullable(m.Network), nullable(m.Operator)
		if m.Meta != nil {
			v := string(m.Meta)
			metas[k] = &v
		}
		reasons[k], details[k], ranges[k] = nullable(r.Reason), nullable(r.Detail), nullable(r.HoldRange)
		srcPart[k], srcOff[k], reserved[k] = m.Partition, m.Offset, m.Reserved
	}
	r, err := tx.Query(ctx, `
INSERT INTO messages (id, gen, batch, state, account, sender, dest, body, encoding, dlr, marketing, priority, parts,
	expires_at, forced_route, meta, network, operator, tried, attempt, rerouted, src_partition, src_offset, created_at,
	due, reason, detail, hold_range, held_at, reserved)
SELECT u.id, $2, $3, u.state, u.account, u.sender, u.dest, u.body, u.enc, u.dlr, u.mkt, u.prio, u.parts,
	u.expires, u.forced, u.meta, u.net, u.op, CASE WHEN u.tried = '' THEN NULL ELSE string_to_array(u.tried, ',') END,
	u.att, u.rer, u.spart, u.soff, u.created, u.due, u.reason, u.detail, u.hrange, u.held, u.res
FROM unnest($1::text[], $4::int2[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int2[], $10::bool[], $11::bool[],
	$12::int2[], $13::int2[], $14::timestamptz[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[],
	$20::int2[], $21::bool[], $22::int4[], $23::int8[], $24::timestamptz[], $25::timestamptz[], $26::text[], $27::text[],
	$28::text[], $29::timestamptz[], $30::int8[])
	AS u(id, state, account, sender, dest, body, enc, dlr, mkt, prio, parts, expires, forced, meta, net, op, tried,
	att, rer, spart, soff, created, due, reason, detail, hrange, held, res)
ON CONFLICT (id, gen) DO NOTHING RETURNING id`,
		ids, gen, batch, states, accounts, senders, dests, bodies, encs, dlrs, mkts, prios, parts, expires, forced, metas,
		nets, ops, tried, attempts, rer, srcPart, srcOff, created, due, reasons, details, ranges, heldAt, reserved)
	if err != nil {
		return nil, fmt.Errorf("journal insert: %w", err)
	}
	got, err := pgx.CollectRows(r, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("journal insert: %w", err)
	}
	out := make(map[string]bool, len(got))
	for _, id := range got {
		out[id] = true
	}
	return out, nil
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// encodeIntents writes the rows idx of rows as messages rows.
func encodeIntents(c *copyBin, rows []IntentRow, idx []int, gen int32, batch int64, now time.Time) {
	for _, i := range idx {
		r := &rows[i]
		m := r.M
		c.row(len(msgColumns))
		c.text(m.ID)
		c.int4(gen)
		c.int8(batch)
		c.int2(int16(r.State))
		c.text(m.Account)
		c.text(m.Sender)
		c.text(m.Dest)
		c.text(m.Body)
		c.int2(int16(m.Encoding))
		c.bool(m.DLR)
		c.bool(m.Marketing)
		c.int2(int16(m.Priority))
		c.int2(int16(m.Parts))
		c.tsOrNull(m.ExpiresAt)
		c.textOrNull(m.ForcedRoute)
		if m.Meta != nil {
			c.bytea(m.Meta) // text in binary form is its UTF-8 bytes
		} else {
			c.null()
		}
		c.textOrNull(m.Network)
		c.textOrNull(m.Operator)
		c.textArray(m.Tried)
		c.int2(max(m.Attempt, 1))
		c.bool(m.Rerouted)
		c.int4(m.Partition)
		c.int8(m.Offset)
		created := m.CreatedAt
		if created.IsZero() {
			created = now
		}
		c.ts(created)
		c.tsOrNull(r.Due)
		c.textOrNull(r.Reason)
		c.textOrNull(r.Detail)
		c.textOrNull(r.HoldRange)
		if r.State == message.Held {
			c.ts(now)
		} else {
			c.null()
		}
		c.int8(m.Reserved)
	}
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}
