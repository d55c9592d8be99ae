package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/internal/message"
)

// ReceiptLookup asks which part an SMSC id belongs to. Keys are the
// candidate canonical forms in preference order (dlr.LookupKeys).
type ReceiptLookup struct {
	Operator string
	Keys     []string
}

// PartMatch is the attempt row a receipt belongs to.
type PartMatch struct {
	MessageID     string
	Gen           int32
	Day           int32
	Part, Attempt int16
	State         message.State
	SubmittedAt   time.Time
	Batch         int64
	// Published: the events of the batch that wrote the attempt were
	// produced (its lane's watermark passed it). A receipt's status event
	// must wait for it, or it could overtake the message's "submitted".
	Published bool
}

// MatchParts finds the attempt of each lookup, preferring earlier keys
// and later attempts, in one query. Lookups without a match are absent.
func MatchParts(ctx context.Context, q Querier, ls []ReceiptLookup) (map[int]PartMatch, error) {
	var idx, pos []int32
	var ops, keys []string
	for i, l := range ls {
		for j, k := range l.Keys {
			idx, pos, ops, keys = append(idx, int32(i)), append(pos, int32(j)), append(ops, l.Operator), append(keys, k)
		}
	}
	if len(idx) == 0 {
		return nil, nil
	}
	rows, err := q.Query(ctx, `
SELECT DISTINCT ON (u.idx) u.idx, a.message_id, a.gen, a.day, a.part, a.attempt, a.state, a.submitted_at, a.batch,
	EXISTS (SELECT 1 FROM journal_batches jb JOIN lanes l ON l.id = jb.lane WHERE jb.id = a.batch AND l.published >= jb.id)
FROM unnest($1::int4[], $2::int4[], $3::text[], $4::text[]) u(idx, pos, op, key)
JOIN attempts a ON a.operator = u.op AND a.smsc_key = u.key
ORDER BY u.idx, u.pos, a.attempt DESC`, idx, pos, ops, keys)
	if err != nil {
		return nil, fmt.Errorf("match receipts: %w", err)
	}
	defer rows.Close()
	out := make(map[int]PartMatch, len(ls))
	for rows.Next() {
		var m PartMatch
		var i int32
		if err := rows.Scan(&i, &m.MessageID, &m.Gen, &m.Day, &m.Part, &m.Attempt, &m.State, &m.SubmittedAt, &m.Batch, &m.Published); err != nil {
			return nil, fmt.Errorf("match receipts: %w", err)
		}
		out[int(i)] = m
	}
	return out, rows.Err()
}

// ReceiptRow is a receipt applied to a part (or a dlr_timeout verdict).
type ReceiptRow struct {
	MessageID     string
	Part, Attempt int16
	Day           int32 // the attempt's day
	Operator      string
	SMSCID        []byte
	State         message.State
	Stat          string
	Err           string
	Reason, Code  string
	DoneAt        time.Time
	ReceivedAt    time.Time
	Raw           string // the receipt's text when dlr.keep_text ("" → NULL)
}

var receiptColumns = []string{"message_id", "part", "attempt", "day", "operator", "smsc_id", "state", "stat", "err", "reason",
	"code", "done_at", "received_at", "batch", "raw"}

// AppendReceipts writes receipt rows with one COPY.
func AppendReceipts(ctx context.Context, tx pgx.Tx, batch int64, rows []ReceiptRow) error {
	if len(rows) == 0 {
		return nil
	}
	c := newCopyBin()
	defer c.release()
	for i := range rows {
		r := &rows[i]
		c.row(len(receiptColumns))
		c.text(r.MessageID)
		c.int2(r.Part)
		c.int2(r.Attempt)
		c.int4(r.Day)
		c.text(r.Operator)
		c.bytea(r.SMSCID)
		c.int2(int16(r.State))
		c.text(r.Stat)
		c.textOrNull(r.Err)
		c.textOrNull(r.Reason)
		c.textOrNull(r.Code)
		c.tsOrNull(r.DoneAt)
		c.ts(r.ReceivedAt)
		c.int8(batch)
		c.textOrNull(r.Raw)
	}
	if _, err := c.copyInto(ctx, tx, "receipts", receiptColumns); err != nil {
		return fmt.Errorf("append receipts: %w", err)
	}
	return nil
}

// ChargeRow is a ledger entry made after submit (charges.kind).
type ChargeRow struct {
	MessageID     string
	Part, Attempt int16
	Day           int32
	Kind          int16
	Account       string
	Operator      string
	Destination   string
	CountryPrefix string
	Network       string
	SubmittedAt   time.Time
	Status        string
	Cost          billing.Amount
	CostCurrency  string
	Price         billing.Amount
	Currency      string
	Month         string
}

// AppendCharges writes charges, each at most once (a receipt delivered
// twice charges once), and returns which rows were new: only those count
// in the month aggregates.
func AppendCharges(ctx context.Context, tx pgx.Tx, batch int64, cs []ChargeRow) ([]bool, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	type key struct {
		id        string
		part, att int16
		kind      int16
		day       int32
	}
	// The same charge twice in one call is written (and counted) once.
	firstOf := make(map[key]int, len(cs))
	uniq := make([]ChargeRow, 0, len(cs))
	for _, c := range cs {
		k := key{c.MessageID, c.Part, c.Attempt, c.Kind, c.Day}
		if _, ok := firstOf[k]; ok {
			continue
		}
		firstOf[k] = len(uniq)
		uniq = append(uniq, c)
	}
	isNew, err := appendCharges(ctx, tx, batch, uniq)
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(cs))
	seen := make(map[key]bool, len(cs))
	for i, c := range cs {
		k := key{c.MessageID, c.Part, c.Attempt, c.Kind, c.Day}
		if !seen[k] {
			seen[k] = true
			out[i] = isNew[firstOf[k]]
		}
	}
	return out, nil
}

func appendCharges(ctx context.Context, tx pgx.Tx, batch int64, cs []ChargeRow) ([]bool, error) {
	n := len(cs)
	ids, accts, ops, dests, cps, nets, sts, ccur, cur, months := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	parts, atts, kinds := make([]int16, n), make([]int16, n), make([]int16, n)
	days := make([]int32, n)
	sub := make([]time.Time, n)
	costs, prices := make([]int64, n), make([]int64, n)
	ord := make([]int32, n)
	for i, c := range cs {
		ids[i], parts[i], atts[i], days[i], kinds[i] = c.MessageID, c.Part, c.Attempt, c.Day, c.Kind
		accts[i], ops[i], dests[i], cps[i], nets[i] = c.Account, c.Operator, c.Destination, c.CountryPrefix, c.Network
		sub[i], sts[i], costs[i], ccur[i], prices[i], cur[i], months[i] = c.SubmittedAt, c.Status, int64(c.Cost), c.CostCurrency, int64(c.Price), c.Currency, c.Month
		ord[i] = int32(i)
	}
	rows, err := tx.Query(ctx, `
INSERT INTO charges (message_id, part, attempt, day, kind, account, operator, destination, country_prefix, network,
	submitted_at, status, cost, cost_currency, price, currency, month, batch)
SELECT u.id, u.part, u.att, u.day, u.kind, u.acct, u.op, u.dest, u.cp, u.net, u.sub, u.st, u.cost, u.ccur, u.price, u.cur, u.month, $18
FROM unnest($1::text[], $2::int2[], $3::int2[], $4::int4[], $5::int2[], $6::text[], $7::text[], $8::text[], $9::text[],
	$10::text[], $11::timestamptz[], $12::text[], $13::int8[], $14::text[], $15::int8[], $16::text[], $17::text[])
	AS u(id, part, att, day, kind, acct, op, dest, cp, net, sub, st, cost, ccur, price, cur, month)
ON CONFLICT DO NOTHING
RETURNING message_id, part, attempt, kind`, ids, parts, atts, days, kinds, accts, ops, dests, cps, nets, sub, sts, costs, ccur, prices, cur, months, batch)
	if err != nil {
		return nil, fmt.Errorf("append charges: %w", err)
	}
	type key struct {
		id        string
		part, att int16
		kind      int16
	}
	got := map[key]bool{}
	var k key
	if _, err := pgx.ForEachRow(rows, []any{&k.id, &k.part, &k.att, &k.kind}, func() error { got[k] = true; return nil }); err != nil {
		return nil, fmt.Errorf("append charges: %w", err)
	}
	out := make([]bool, n)
	for i, c := range cs {
		out[i] = got[key{c.MessageID, c.Part, c.Attempt, c.Kind}]
	}
	return out, nil
}

// LockMessages serialises receipt batches that touch the same messages
// (on several instances): a transaction-scoped advisory lock per id, in
// a fixed order so two batches cannot deadlock.
func LockMessages(ctx context.Context, tx pgx.Tx, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(x, 7244) AS h FROM unnest($1::text[]) x ORDER BY 1) u`, ids); err != nil {
		return fmt.Errorf("lock messages: %w", err)
	}
	return nil
}

// EarlyReceipt is a receipt waiting for its part.
type EarlyReceipt struct {
	ID         int64
	Operator   string
	Keys       []string
	SMSCID     string // sanitised, for display
	SMSCRaw    []byte
	State      message.State
	Stat       string
	Err        string
	DoneAt     time.Time
	ReceivedAt time.Time
}

// InsertEarly stores receipts that matched nothing yet and returns their ids.
func InsertEarly(ctx context.Context, tx pgx.Tx, rs []EarlyReceipt) ([]int64, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	n := len(rs)
	ops, keys, ids, stats, errs := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]*string, n)
	raws := make([][]byte, n)
	states := make([]int16, n)
	done, recv := make([]time.Time, n), make([]time.Time, n)
	for i, r := range rs {
		ops[i], keys[i], ids[i], stats[i], errs[i] = r.Operator, joinComma(r.Keys), r.SMSCID, r.Stat, nullable(r.Err)
		raws[i], states[i], done[i], recv[i] = r.SMSCRaw, int16(r.State), r.DoneAt, r.ReceivedAt
	}
	rows, err := tx.Query(ctx, `INSERT INTO early_receipts (operator, keys, smsc_id, smsc_raw, state, stat, err, done_at, received_at)
SELECT op, string_to_array(k, ','), id, raw, st, stat, err, done, recv
FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::int2[], $6::text[], $7::text[], $8::timestamptz[], $9::timestamptz[])
	AS u(op, k, id, raw, st, stat, err, done, recv)
RETURNING id`, ops, keys, ids, raws, states, stats, errs, done, recv)
	if err != nil {
		return nil, fmt.Errorf("store early receipts: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("store early receipts: %w", err)
	}
	return out, nil
}

// LoadEarly returns up to limit pending early receipts received in
// [since, before): a restart takes back what waited in its last life, and
// live instances adopt what a dead one left waiting.
func LoadEarly(ctx context.Context, q Querier, since, before time.Time, limit int) ([]EarlyReceipt, error) {
	rows, err := q.Query(ctx, `SELECT id, operator, keys, smsc_id, smsc_raw, state, stat, coalesce(err, ''), coalesce(done_at, received_at), received_at
FROM early_receipts WHERE NOT orphan AND received_at >= $1 AND received_at < $2 ORDER BY id LIMIT $3`, since, before, limit)
	if err != nil {
		return nil, fmt.Errorf("load early receipts: %w", err)
	}
	defer rows.Close()
	var out []EarlyReceipt
	for rows.Next() {
		var r EarlyReceipt
		if err := rows.Scan(&r.ID, &r.Operator, &r.Keys, &r.SMSCID, &r.SMSCRaw, &r.State, &r.Stat, &r.Err, &r.DoneAt, &r.ReceivedAt); err != nil {
			return nil, fmt.Errorf("load early receipts: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DeleteEarly removes early receipts that were applied (in the
// transaction that applies them).
func DeleteEarly(ctx context.Context, tx pgx.Tx, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `DELETE FROM early_receipts WHERE id = ANY($1)`, ids); err != nil {
		return fmt.Errorf("delete early receipts: %w", err)
	}
	return nil
}

// OrphanEarly marks early receipts as orphans (they waited longer than
// dlr.early_hold) and returns how many per operator.
func OrphanEarly(ctx context.Context, q Querier, ids []int64) (map[string]int, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := q.Query(ctx, `UPDATE early_receipts SET orphan = true WHERE id = ANY($1) AND NOT orphan RETURNING operator`, ids)
	if err != nil {
		return nil, fmt.Errorf("orphan receipts: %w", err)
	}
	out := map[string]int{}
	var op string
	if _, err := pgx.ForEachRow(rows, []any{&op}, func() error { out[op]++; return nil }); err != nil {
		return nil, fmt.Errorf("orphan receipts: %w", err)
	}
	return out, nil
}

// OrphanEarlyBefore marks every pending early receipt received before t
// as an orphan (receipts no instance holds in memory any more).
func OrphanEarlyBefore(ctx context.Context, q Querier, t time.Time) (map[string]int, error) {
	rows, err := q.Query(ctx, `UPDATE early_receipts SET orphan = true WHERE NOT orphan AND received_at < $1 RETURNING operator`, t)
	if err != nil {
		return nil, fmt.Errorf("orphan receipts: %w", err)
	}
	out := map[string]int{}
	var op string
	if _, err := pgx.ForEachRow(rows, []any{&op}, func() error { out[op]++; return nil }); err != nil {
		return nil, fmt.Errorf("orphan receipts: %w", err)
	}
	return out, nil
}
