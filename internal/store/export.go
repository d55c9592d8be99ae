package store

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smsgate/smsgate/billing"
)

// ExportQuery selects rows for an export: [From, To), optional filters.
type ExportQuery struct {
	From, To time.Time
	Account  string
	Operator string
}

// exportFetch is how many rows one FETCH brings: memory stays constant
// whatever the export's size.
const exportFetch = 20000

// cursor streams a query through a server-side cursor inside a read-only
// transaction.
type cursor struct {
	ctx  context.Context
	tx   pgx.Tx
	rows pgx.Rows
	n    int
	done bool
}

func openCursor(ctx context.Context, s *Store, sql string, args ...any) (*cursor, error) {
	tx, err := s.Pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if _, err := tx.Exec(ctx, `DECLARE export_cur NO SCROLL CURSOR FOR `+sql, args...); err != nil {
		_ = tx.Rollback(ctx)
		return nil, fmt.Errorf("export: %w", err)
	}
	return &cursor{ctx: ctx, tx: tx}, nil
}

// next advances to the next row, fetching a new block when needed.
func (c *cursor) next() (pgx.Rows, error) {
	for {
		if c.done {
			return nil, io.EOF
		}
		if c.rows == nil {
			// Describe each FETCH: the same text returns other columns for
			// another cursor, so a cached statement description would lie.
			rows, err := c.tx.Query(c.ctx, fmt.Sprintf(`FETCH %d FROM export_cur`, exportFetch), pgx.QueryExecModeDescribeExec)
			if err != nil {
				return nil, fmt.Errorf("export fetch: %w", err)
			}
			c.rows, c.n = rows, 0
		}
		if c.rows.Next() {
			c.n++
			return c.rows, nil
		}
		c.rows.Close()
		if err := c.rows.Err(); err != nil {
			return nil, fmt.Errorf("export fetch: %w", err)
		}
		if c.n < exportFetch {
			c.done = true
		}
		c.rows = nil
	}
}

// Close ends the cursor's transaction.
func (c *cursor) Close() error {
	if c.rows != nil {
		c.rows.Close()
	}
	return c.tx.Rollback(context.WithoutCancel(c.ctx))
}

// BillingCursor streams billing export rows (billing.BillingSource).
type BillingCursor struct{ c *cursor }

// ledgerRange selects the ledger of parts submitted in [$1, $2) (days $3
// to $4, so only those partitions are read): one row per (message, part,
// attempt) with a charge or a cost, the sums of its entries (the attempt
// row when charged at submit, and charges made later), the part's current
// status and the SMSC id it was accepted under. Amounts are micros.
const ledgerRange = `
WITH e AS (
	SELECT message_id, part, attempt, day, account, operator, destination, country_prefix, network, submitted_at,
		price, cost, cost_currency, currency, month
	FROM attempts WHERE (charged OR cost <> 0) AND day BETWEEN $3 AND $4 AND submitted_at >= $1 AND submitted_at < $2
	UNION ALL
	SELECT message_id, part, attempt, day, account, operator, destination, country_prefix, network, submitted_at,
		CASE WHEN kind = 2 THEN -price ELSE price END, cost, cost_currency, currency, month
	FROM charges WHERE day BETWEEN $3 AND $4 AND submitted_at >= $1 AND submitted_at < $2
), l AS (
	SELECT message_id, part, attempt, day, min(account) AS account, min(operator) AS operator, min(destination) AS destination,
		min(country_prefix) AS country_prefix, min(network) AS network, min(submitted_at) AS submitted_at,
		sum(price) AS price, sum(cost) AS cost, min(cost_currency) AS cost_currency, min(currency) AS currency, min(month) AS month
	FROM e GROUP BY message_id, part, attempt, day)
SELECT l.message_id, l.part, l.attempt, l.account, l.operator, l.destination, l.country_prefix, l.network, l.submitted_at,
	CASE coalesce(rf.state, a.final_state, CASE WHEN a.state = 3 AND ri.proven THEN 2 END, a.state)
		WHEN 3 THEN 'unknown' WHEN 4 THEN 'delivered' WHEN 5 THEN 'undeliverable' WHEN 6 THEN 'expired' ELSE 'submitted' END AS status,
	l.cost, l.cost_currency, l.price, l.currency, l.month, coalesce(a.smsc_id, ''::bytea) AS smsc_id
FROM l
LEFT JOIN attempts a ON a.message_id = l.message_id AND a.part = l.part AND a.attempt = l.attempt AND a.day = l.day
LEFT JOIN LATERAL (SELECT r.state FROM receipts r WHERE r.message_id = l.message_id AND r.part = l.part
	AND r.attempt = l.attempt AND r.state IN (4, 5, 6) ORDER BY r.received_at LIMIT 1) rf ON true
LEFT JOIN LATERAL (SELECT true AS proven FROM receipts r WHERE r.message_id = l.message_id AND r.part = l.part
	AND r.attempt = l.attempt LIMIT 1) ri ON true`

// creditRange selects the credits (top-ups and adjustments) made in
// [$1, $2) as export rows: message_id "credit-<id>", part 0, no operator,
// destination or prefix, status "credit", the amount in price, cost 0.
const creditRange = `
SELECT ('credit-' || id) COLLATE "C" AS message_id, 0::int2 AS part, 0::int2 AS attempt, account, ''::text AS operator, ''::text AS destination,
	''::text AS country_prefix, created_at AS submitted_at, 'credit'::text AS status, 0::numeric AS cost, amount::numeric AS price, currency
FROM credits WHERE created_at >= $1 AND created_at < $2`

// BillingRows opens the billing export of q: one row per billed part (and
// attempt), and one per credit, in submitted_at (a credit's created_at)
// order; status is the part's current status, or "credit". An export of
// one operator has no credits (they belong to no operator).
func (s *Store) BillingRows(ctx context.Context, q ExportQuery) (*BillingCursor, error) {
	c, err := openCursor(ctx, s, `SELECT message_id, part, account, operator, destination, country_prefix, submitted_at,
	status, cost, price, currency FROM (
	SELECT message_id, part, attempt, account, operator, destination, country_prefix, submitted_at, status, cost, price, currency
	FROM (`+ledgerRange+`) l
	UNION ALL`+creditRange+`) x
WHERE ($5 = '' OR account = $5) AND ($6 = '' OR operator = $6)
ORDER BY submitted_at, message_id, part, attempt`, q.From, q.To, Day(q.From), Day(q.To), q.Account, q.Operator)
	if err != nil {
		return nil, err
	}
	return &BillingCursor{c: c}, nil
}

// Next fills r with the next row; io.EOF at the end.
func (b *BillingCursor) Next(r *billing.BillingRow) error {
	rows, err := b.c.next()
	if err != nil {
		return err
	}
	var part int16
	var cost, price int64
	if err := rows.Scan(&r.MessageID, &part, &r.Account, &r.Operator, &r.Destination, &r.CountryPrefix,
		&r.SubmittedAt, &r.Status, &cost, &price, &r.Currency); err != nil {
		return fmt.Errorf("export row: %w", err)
	}
	r.Part = int(part)
	r.Cost, r.Price = billing.Amount(cost), billing.Amount(price)
	return nil
}

// Close releases the cursor.
func (b *BillingCursor) Close() error { return b.c.Close() }

// MOCursor streams received messages (billing.MOSource).
type MOCursor struct{ c *cursor }

// MORows opens the MO export of q in received_at order (Account filters
// on the short codes the account owns is not applied: MO belong to
// operators and numbers).
func (s *Store) MORows(ctx context.Context, q ExportQuery) (*MOCursor, error) {
	c, err := openCursor(ctx, s, `
SELECT id, received_at, operator, src, dst, body, coalesce(keyword, ''), parts FROM mo
WHERE received_at >= $1 AND received_at < $2 AND ($3 = '' OR operator = $3)
ORDER BY received_at, id`, q.From, q.To, q.Operator)
	if err != nil {
		return nil, err
	}
	return &MOCursor{c: c}, nil
}

// Next fills r with the next row; io.EOF at the end.
func (m *MOCursor) Next(r *billing.MORow) error {
	rows, err := m.c.next()
	if err != nil {
		return err
	}
	var parts int16
	if err := rows.Scan(&r.ID, &r.ReceivedAt, &r.Operator, &r.From, &r.To, &r.Text, &r.Keyword, &parts); err != nil {
		return fmt.Errorf("export row: %w", err)
	}
	r.Parts = int(parts)
	return nil
}

// Close releases the cursor.
func (m *MOCursor) Close() error { return m.c.Close() }

// SummaryRow is one account × operator × currency line of the month-to-date
// billing summary.
type SummaryRow struct {
	Account  string         `json:"account"`
	Operator string         `json:"operator"`
	Currency string         `json:"currency"`
	Parts    int64          `json:"parts"`
	Cost     billing.Amount `json:"cost"`
	Revenue  billing.Amount `json:"revenue"`
	Margin   billing.Amount `json:"margin"`
}

// BillingSummary reads the month-to-date aggregates ("2026-11").
func (s *Store) BillingSummary(ctx context.Context, month string) ([]SummaryRow, error) {
	rows, err := s.Pool.Query(ctx, `SELECT account, operator, currency, parts, cost::text, revenue::text
FROM billing_month WHERE month = $1 AND operator <> '' ORDER BY account, operator, currency`, month)
	if err != nil {
		return nil, fmt.Errorf("billing summary: %w", err)
	}
	defer rows.Close()
	var out []SummaryRow
	for rows.Next() {
		var r SummaryRow
		var cost, rev string
		if err := rows.Scan(&r.Account, &r.Operator, &r.Currency, &r.Parts, &cost, &rev); err != nil {
			return nil, err
		}
		r.Cost, _ = billing.ParseAmount(cost)
		r.Revenue, _ = billing.ParseAmount(rev)
		r.Margin = r.Revenue - r.Cost
		out = append(out, r)
	}
	return out, rows.Err()
}

// RecentMO returns the latest received messages, newest first.
func (s *Store) RecentMO(ctx context.Context, limit int) ([]billing.MORow, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, received_at, operator, src, dst, body, coalesce(keyword, ''), parts
FROM mo ORDER BY received_at DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("recent mo: %w", err)
	}
	defer rows.Close()
	var out []billing.MORow
	for rows.Next() {
		var r billing.MORow
		var parts int16
		if err := rows.Scan(&r.ID, &r.ReceivedAt, &r.Operator, &r.From, &r.To, &r.Text, &r.Keyword, &parts); err != nil {
			return nil, err
		}
		r.Parts = int(parts)
		out = append(out, r)
	}
	return out, rows.Err()
}

// OurPartsCursor streams one operator's billed parts with their SMSC ids
// (billing.OurSource), for reconciliation against the operator's CDRs.
type OurPartsCursor struct{ c *cursor }

// OurParts opens the parts of operator submitted in [q.From, q.To).
func (s *Store) OurParts(ctx context.Context, q ExportQuery) (*OurPartsCursor, error) {
	c, err := openCursor(ctx, s, `SELECT smsc_id, message_id, part, destination, cost FROM (`+ledgerRange+`) x
WHERE operator = $5 AND smsc_id <> ''::bytea
ORDER BY submitted_at, message_id, part`, q.From, q.To, Day(q.From), Day(q.To), q.Operator)
	if err != nil {
		return nil, err
	}
	return &OurPartsCursor{c: c}, nil
}

// Next fills p; io.EOF at the end.
func (o *OurPartsCursor) Next(p *billing.OurPart) error {
	rows, err := o.c.next()
	if err != nil {
		return err
	}
	var part int16
	var cost int64
	var id []byte
	if err := rows.Scan(&id, &p.MessageID, &part, &p.Destination, &cost); err != nil {
		return fmt.Errorf("reconcile row: %w", err)
	}
	p.SMSCID = string(id)
	p.Part = int(part)
	p.Cost = billing.Amount(cost)
	return nil
}

// Close releases the cursor.
func (o *OurPartsCursor) Close() error { return o.c.Close() }

// FindMO reads one MO by id (its newest day if the id repeats).
func (s *Store) FindMO(ctx context.Context, id string) (*billing.MORow, error) {
	out, err := s.queryMO(ctx, `SELECT id, received_at, operator, src, dst, body, coalesce(keyword, ''), parts
FROM mo WHERE id = $1 ORDER BY day DESC LIMIT 1`, id)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, ErrNoMessage
	}
	return &out[0], nil
}

// SearchMO lists the MO a number sent or received in [from, to), newest
// first, at most limit.
func (s *Store) SearchMO(ctx context.Context, number string, from, to time.Time, limit int) ([]billing.MORow, error) {
	return s.queryMO(ctx, `SELECT id, received_at, operator, src, dst, body, coalesce(keyword, ''), parts
FROM mo WHERE (src = $1 OR dst = $1) AND day BETWEEN $2 AND $3 AND received_at >= $4 AND received_at < $5
ORDER BY received_at DESC LIMIT $6`, number, Day(from), Day(to), from, to, limit)
}

func (s *Store) queryMO(ctx context.Context, sql string, args ...any) ([]billing.MORow, error) {
	rows, err := s.Pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("mo: %w", err)
	}
	defer rows.Close()
	out := []billing.MORow{}
	for rows.Next() {
		var r billing.MORow
		var parts int16
		if err := rows.Scan(&r.ID, &r.ReceivedAt, &r.Operator, &r.From, &r.To, &r.Text, &r.Keyword, &parts); err != nil {
			return nil, fmt.Errorf("mo: %w", err)
		}
		r.Parts = int(parts)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mo: %w", err)
	}
	return out, nil
}
