package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/smsgate/smsgate/billing"
)

// PartRow is one part's submit outcome.
type PartRow struct {
	MessageID   string
	Part        int16
	Attempt     int16
	Operator    string
	SMSCID      string
	SMSCKey     string
	State       State
	SubmittedAt time.Time
	Err         string
}

// CopyParts inserts part rows with COPY (the fastest path; a part is
// recorded once per attempt, by the instance that claimed its message).
func CopyParts(ctx context.Context, tx pgx.Tx, rows []PartRow) error {
	if len(rows) == 0 {
		return nil
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"parts"},
		[]string{"message_id", "part", "attempt", "operator", "smsc_id", "smsc_key", "state", "submitted_at", "err"},
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			r := &rows[i]
			return []any{r.MessageID, r.Part, r.Attempt, r.Operator, nullable(r.SMSCID), nullable(r.SMSCKey),
				int16(r.State), r.SubmittedAt, nullable(r.Err)}, nil
		}))
	if err != nil {
		return fmt.Errorf("copy parts: %w", err)
	}
	return nil
}

// MessageUpdate is a message's new state after dispatch.
type MessageUpdate struct {
	ID          string
	State       State
	Operator    string
	Tried       []string
	ErrorReason string
	ErrorCode   string
	ErrorDetail string
	SendAt      time.Time // for State Scheduled (back-off); zero otherwise
}

// UpdateMessages applies dispatch outcomes, releasing ownership, and
// returns for each id the number of duplicate events that were waiting for
// the message's first status.
func UpdateMessages(ctx context.Context, tx pgx.Tx, ups []MessageUpdate) (map[string]int, error) {
	if len(ups) == 0 {
		return nil, nil
	}
	n := len(ups)
	ids := make([]string, n)
	states := make([]int16, n)
	ops := make([]string, n)
	tried := make([]string, n) // comma-joined: arrays of arrays are awkward in unnest
	reasons := make([]*string, n)
	codes := make([]*string, n)
	details := make([]*string, n)
	sendAts := make([]*time.Time, n)
	for i := range ups {
		u := &ups[i]
		ids[i], states[i], ops[i] = u.ID, int16(u.State), u.Operator
		tried[i] = joinComma(u.Tried)
		reasons[i], codes[i], details[i] = nullable(u.ErrorReason), nullable(u.ErrorCode), nullable(u.ErrorDetail)
		if !u.SendAt.IsZero() {
			t := u.SendAt
			sendAts[i] = &t
		}
	}
	// dup_pending is returned as stored (RETURNING shows the new row, and
	// this statement leaves the column alone): a self-join to read the old
	// value doubled the cost of the hot path. The rare rows with pending
	// duplicates are reset in a second statement.
	rows, err := tx.Query(ctx, `
UPDATE messages m SET state = u.state, operator = u.op, owner = NULL, updated_at = now(),
	tried = CASE WHEN u.tried = '' THEN '{}'::text[] ELSE string_to_array(u.tried, ',') END,
	error_reason = u.reason, error_code = u.code, error_detail = u.detail,
	send_at = coalesce(u.send_at, m.send_at),
	final_at = CASE WHEN u.state IN (4, 5, 6, 7) THEN now() END
FROM unnest($1::text[], $2::int2[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])
	AS u(id, state, op, tried, reason, code, detail, send_at)
WHERE m.id = u.id
RETURNING m.id, m.dup_pending, m.state`, ids, states, ops, tried, reasons, codes, details, sendAts)
	if err != nil {
		return nil, fmt.Errorf("update messages: %w", err)
	}
	dups := map[string]int{}
	var reset []string
	for rows.Next() {
		var id string
		var pending int32
		var st int16
		if err := rows.Scan(&id, &pending, &st); err != nil {
			rows.Close()
			return nil, err
		}
		if pending > 0 && st != 0 && st != 9 {
			dups[id] = int(pending)
			reset = append(reset, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("update messages: %w", err)
	}
	if len(reset) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE messages SET dup_pending = 0 WHERE id = ANY($1)`, reset); err != nil {
			return nil, fmt.Errorf("reset duplicates: %w", err)
		}
	}
	return dups, nil
}

// LedgerRow is one billed part.
type LedgerRow struct {
	MessageID     string
	Part          int16
	Attempt       int16
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

// InsertLedger writes ledger rows; a row already present (same message,
// part, attempt) is left alone: a part is billed at most once (invariant 5).
// It returns how many rows were new, and updates the month-to-date
// aggregates for exactly those.
func InsertLedger(ctx context.Context, tx pgx.Tx, rows []LedgerRow) (int, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	n := len(rows)
	cols := struct {
		ids, accounts, ops, dests, cps, nets, statuses, costCur, cur, months []string
		parts, attempts                                                      []int16
		subAt                                                                []time.Time
		costs, prices                                                        []string
	}{}
	for i := range rows {
		r := &rows[i]
		cols.ids = append(cols.ids, r.MessageID)
		cols.parts = append(cols.parts, r.Part)
		cols.attempts = append(cols.attempts, r.Attempt)
		cols.accounts = append(cols.accounts, r.Account)
		cols.ops = append(cols.ops, r.Operator)
		cols.dests = append(cols.dests, r.Destination)
		cols.cps = append(cols.cps, r.CountryPrefix)
		cols.nets = append(cols.nets, r.Network)
		cols.subAt = append(cols.subAt, r.SubmittedAt)
		cols.statuses = append(cols.statuses, r.Status)
		cols.costs = append(cols.costs, r.Cost.String())
		cols.costCur = append(cols.costCur, r.CostCurrency)
		cols.prices = append(cols.prices, r.Price.String())
		cols.cur = append(cols.cur, r.Currency)
		cols.months = append(cols.months, r.Month)
	}
	var inserted int
	err := tx.QueryRow(ctx, `
WITH ins AS (
	INSERT INTO ledger (message_id, part, attempt, account, operator, destination, country_prefix, network,
		submitted_at, status, cost, cost_currency, price, currency, month)
	SELECT * FROM unnest($1::text[], $2::int2[], $3::int2[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
		$9::timestamptz[], $10::text[], $11::numeric[], $12::text[], $13::numeric[], $14::text[], $15::text[])
	ON CONFLICT DO NOTHING
	RETURNING account, month, operator, currency, cost, cost_currency, price),
agg AS (
	INSERT INTO billing_month (account, month, operator, currency, parts, cost, revenue)
	SELECT account, month, operator, currency, count(*),
		sum(CASE WHEN cost_currency = currency THEN cost ELSE 0 END), sum(price)
	FROM ins GROUP BY account, month, operator, currency
	ORDER BY account, month, operator, currency -- lock order: concurrent writers cannot deadlock
	ON CONFLICT (account, month, operator, currency) DO UPDATE SET
		parts = billing_month.parts + excluded.parts,
		cost = billing_month.cost + excluded.cost,
		revenue = billing_month.revenue + excluded.revenue
	RETURNING 1)
SELECT (SELECT count(*) FROM ins) + 0 * (SELECT count(*) FROM agg)`,
		cols.ids, cols.parts, cols.attempts, cols.accounts, cols.ops, cols.dests, cols.cps, cols.nets, cols.subAt,
		cols.statuses, cols.costs, cols.costCur, cols.prices, cols.cur, cols.months).Scan(&inserted)
	if err != nil {
		return 0, fmt.Errorf("insert ledger: %w", err)
	}
	_ = n
	return inserted, nil
}

// AccountMonth keys the volume-tier counter: an account's calendar month in
// its own time zone ("2026-11").
type AccountMonth struct{ Account, Month string }

// MonthCounts returns, locking them for this transaction, the number of
// parts each account has been billed in its month so far (for volume
// tiers). Keys without a row count zero. Rows are locked in key order so
// concurrent writers cannot deadlock.
func MonthCounts(ctx context.Context, tx pgx.Tx, keys []AccountMonth) (map[AccountMonth]int64, error) {
	accts := make([]string, len(keys))
	months := make([]string, len(keys))
	for i, k := range keys {
		accts[i], months[i] = k.Account, k.Month
	}
	_, err := tx.Exec(ctx, `INSERT INTO billing_month (account, month, operator, currency)
SELECT a, m, '', '' FROM unnest($1::text[], $2::text[]) u(a, m) ORDER BY a, m ON CONFLICT DO NOTHING`, accts, months)
	if err != nil {
		return nil, fmt.Errorf("month counts: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT b.account, b.month, b.parts FROM billing_month b
JOIN unnest($1::text[], $2::text[]) u(a, m) ON b.account = u.a AND b.month = u.m
WHERE b.operator = '' AND b.currency = '' ORDER BY b.account, b.month FOR UPDATE OF b`, accts, months)
	if err != nil {
		return nil, fmt.Errorf("month counts: %w", err)
	}
	defer rows.Close()
	out := make(map[AccountMonth]int64, len(keys))
	for rows.Next() {
		var k AccountMonth
		var n int64
		if err := rows.Scan(&k.Account, &k.Month, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}

// AddMonthCounts advances the per-account tier counters.
func AddMonthCounts(ctx context.Context, tx pgx.Tx, add map[AccountMonth]int64) error {
	if len(add) == 0 {
		return nil
	}
	accts := make([]string, 0, len(add))
	months := make([]string, 0, len(add))
	ns := make([]int64, 0, len(add))
	for k, n := range add {
		accts = append(accts, k.Account)
		months = append(months, k.Month)
		ns = append(ns, n)
	}
	_, err := tx.Exec(ctx, `UPDATE billing_month b SET parts = b.parts + u.n
FROM unnest($1::text[], $2::text[], $3::int8[]) u(account, month, n)
WHERE b.account = u.account AND b.month = u.month AND b.operator = '' AND b.currency = ''`, accts, months, ns)
	if err != nil {
		return fmt.Errorf("month counts: %w", err)
	}
	return nil
}

// Outbox topics.
const (
	TopicStatus int16 = 1
	TopicMO     int16 = 2
)

// OutboxRow is one event waiting to be published.
type OutboxRow struct {
	Seq     int64
	Topic   int16
	Key     string
	Payload []byte
}

// InsertOutbox stores events in the same transaction as their cause.
func InsertOutbox(ctx context.Context, tx pgx.Tx, rows []OutboxRow) error {
	if len(rows) == 0 {
		return nil
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"outbox"}, []string{"topic", "key", "payload"},
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			return []any{rows[i].Topic, rows[i].Key, rows[i].Payload}, nil
		}))
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}

// ReadOutbox returns the oldest unpublished events.
func ReadOutbox(ctx context.Context, q Querier, limit int) ([]OutboxRow, error) {
	rows, err := q.Query(ctx, `SELECT seq, topic, key, payload FROM outbox ORDER BY seq LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	defer rows.Close()
	out := make([]OutboxRow, 0, limit)
	for rows.Next() {
		var r OutboxRow
		if err := rows.Scan(&r.Seq, &r.Topic, &r.Key, &r.Payload); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func joinComma(ss []string) string {
	switch len(ss) {
	case 0:
		return ""
	case 1:
		return ss[0]
	}
	n := len(ss) - 1
	for _, s := range ss {
		n += len(s)
	}
	b := make([]byte, 0, n)
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, s...)
	}
	return string(b)
}

// LedgerCost is the operator cost of a ledger row known only later (route
// cost_on delivered, the customer billed at submit).
type LedgerCost struct {
	MessageID    string
	Part         int16
	Attempt      int16
	Cost         billing.Amount
	CostCurrency string
}

// SetLedgerCosts writes costs onto rows that still have none (so a
// receipt seen twice adds it once), and adds them to the month aggregates.
func SetLedgerCosts(ctx context.Context, tx pgx.Tx, cs []LedgerCost) error {
	if len(cs) == 0 {
		return nil
	}
	ids := make([]string, len(cs))
	parts := make([]int16, len(cs))
	atts := make([]int16, len(cs))
	costs := make([]string, len(cs))
	curs := make([]string, len(cs))
	for i, c := range cs {
		ids[i], parts[i], atts[i], costs[i], curs[i] = c.MessageID, c.Part, c.Attempt, c.Cost.String(), c.CostCurrency
	}
	_, err := tx.Exec(ctx, `WITH set AS (
	UPDATE ledger l SET cost = u.cost, cost_currency = u.cur
	FROM unnest($1::text[], $2::int2[], $3::int2[], $4::numeric[], $5::text[]) u(id, part, att, cost, cur)
	WHERE l.message_id = u.id AND l.part = u.part AND l.attempt = u.att AND l.cost = 0
	RETURNING l.account, l.month, l.operator, l.currency, l.cost, l.cost_currency
)
UPDATE billing_month b SET cost = b.cost + s.cost
FROM (SELECT account, month, operator, currency, sum(cost) AS cost FROM set WHERE cost_currency = currency GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4) s
WHERE b.account = s.account AND b.month = s.month AND b.operator = s.operator AND b.currency = s.currency`, ids, parts, atts, costs, curs)
	if err != nil {
		return fmt.Errorf("ledger costs: %w", err)
	}
	return nil
}
