package store

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/internal/message"
)

// AttemptRow is one part's submit outcome and, when Charged, its ledger
// entry (charge_on submit).
type AttemptRow struct {
	MessageID     string
	Gen           int32
	Part, Attempt int16
	Parts         int16
	Operator      string
	Bind          int16
	Seq           uint32
	SMSCID        []byte // as returned; nil when none
	SMSCKey       string // correlation form; "" when none
	State         message.State
	Code          uint32 // command_status when not 0
	SubmittedAt   time.Time
	RespAt        time.Time
	Account       string
	Destination   string
	CountryPrefix string
	Network       string
	Charged       bool
	Cost          billing.Amount
	CostCurrency  string
	Price         billing.Amount
	Currency      string
	Month         string
}

var attemptColumns = []string{"message_id", "gen", "day", "part", "attempt", "parts", "operator", "bind", "seq", "smsc_id",
	"smsc_key", "state", "code", "submitted_at", "resp_at", "account", "destination", "country_prefix", "network", "charged",
	"cost", "cost_currency", "price", "currency", "month", "batch"}

// AppendAttempts writes attempt rows with one COPY.
func AppendAttempts(ctx context.Context, tx pgx.Tx, batch int64, rows []AttemptRow) error {
	if len(rows) == 0 {
		return nil
	}
	c := newCopyBin()
	defer c.release()
	for i := range rows {
		r := &rows[i]
		c.row(len(attemptColumns))
		c.text(r.MessageID)
		c.int4(r.Gen)
		c.int4(Day(r.SubmittedAt))
		c.int2(r.Part)
		c.int2(r.Attempt)
		c.int2(r.Parts)
		c.text(r.Operator)
		c.int2(r.Bind)
		c.int4(int32(r.Seq))
		c.bytea(r.SMSCID)
		c.textOrNull(r.SMSCKey)
		c.int2(int16(r.State))
		if r.Code != 0 {
			c.int4(int32(r.Code))
		} else {
			c.null()
		}
		c.ts(r.SubmittedAt)
		c.tsOrNull(r.RespAt)
		c.text(r.Account)
		c.text(r.Destination)
		c.text(r.CountryPrefix)
		c.text(r.Network)
		c.bool(r.Charged)
		c.int8(int64(r.Cost))
		c.text(r.CostCurrency)
		c.int8(int64(r.Price))
		c.text(r.Currency)
		c.text(r.Month)
		c.int8(batch)
	}
	if _, err := c.copyInto(ctx, tx, "attempts", attemptColumns); err != nil {
		return fmt.Errorf("append attempts: %w", err)
	}
	return nil
}

// AccountMonth keys the volume-tier counter: an account's calendar month in
// its own time zone ("2026-11").
type AccountMonth struct{ Account, Month string }

// MonthCounts returns, locking them for this transaction, the number of
// parts each account has been billed in its month so far (for volume
// tiers). Keys without a row count zero. Rows are locked in key order so
// concurrent writers cannot deadlock.
func MonthCounts(ctx context.Context, tx pgx.Tx, keys []AccountMonth) (map[AccountMonth]int64, error) {
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Account != keys[j].Account {
			return keys[i].Account < keys[j].Account
		}
		return keys[i].Month < keys[j].Month
	})
	accts := make([]string, len(keys))
	months := make([]string, len(keys))
	for i, k := range keys {
		accts[i], months[i] = k.Account, k.Month
	}
	rows, err := tx.Query(ctx, `WITH ins AS (INSERT INTO billing_month (account, month, operator, currency)
	SELECT a, m, '', '' FROM unnest($1::text[], $2::text[]) u(a, m) ORDER BY a, m ON CONFLICT DO NOTHING)
SELECT b.account, b.month, b.parts FROM billing_month b
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("month counts: %w", err)
	}
	// A row inserted by this statement is not visible to its own join:
	// lock it with a second look (rare: the first batch of a month).
	if len(out) < len(keys) {
		return monthCountsAgain(ctx, tx, accts, months)
	}
	return out, nil
}

func monthCountsAgain(ctx context.Context, tx pgx.Tx, accts, months []string) (map[AccountMonth]int64, error) {
	rows, err := tx.Query(ctx, `SELECT b.account, b.month, b.parts FROM billing_month b
JOIN unnest($1::text[], $2::text[]) u(a, m) ON b.account = u.a AND b.month = u.m
WHERE b.operator = '' AND b.currency = '' ORDER BY b.account, b.month FOR UPDATE OF b`, accts, months)
	if err != nil {
		return nil, fmt.Errorf("month counts: %w", err)
	}
	defer rows.Close()
	out := map[AccountMonth]int64{}
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

// MonthDelta is what one batch adds to an (account, month, operator,
// currency) aggregate; Parts also advances the account's tier counter.
type MonthDelta struct {
	Account, Month, Operator, Currency string
	Parts                              int64
	Cost, Revenue                      billing.Amount
}

// AddMonth applies a batch's aggregates in one statement, in key order
// (concurrent writers lock rows in the same order), advances the
// accounts' tier counters by the parts, and moves the accounts' balances
// by the revenue, together with the batch's other fund movements (so the
// balance always equals the ledger).
func AddMonth(ctx context.Context, tx pgx.Tx, ds []MonthDelta, funds ...FundsDelta) error {
	for _, d := range ds {
		if d.Revenue != 0 {
			funds = append(funds, FundsDelta{Account: d.Account, Spent: d.Revenue})
		}
	}
	if err := MoveFunds(ctx, tx, funds); err != nil {
		return err
	}
	if len(ds) == 0 {
		return nil
	}
	sort.Slice(ds, func(i, j int) bool {
		a, b := &ds[i], &ds[j]
		if a.Account != b.Account {
			return a.Account < b.Account
		}
		if a.Month != b.Month {
			return a.Month < b.Month
		}
		if a.Operator != b.Operator {
			return a.Operator < b.Operator
		}
		return a.Currency < b.Currency
	})
	n := len(ds)
	accts, months, ops, curs := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	parts := make([]int64, n)
	costs, revs := make([]string, n), make([]string, n)
	for i, d := range ds {
		accts[i], months[i], ops[i], curs[i], parts[i] = d.Account, d.Month, d.Operator, d.Currency, d.Parts
		costs[i], revs[i] = d.Cost.String(), d.Revenue.String()
	}
	_, err := tx.Exec(ctx, `WITH agg AS (
	INSERT INTO billing_month (account, month, operator, currency, parts, cost, revenue)
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::numeric[], $7::numeric[])
	ON CONFLICT (account, month, operator, currency) DO UPDATE SET
		parts = billing_month.parts + excluded.parts,
		cost = billing_month.cost + excluded.cost,
		revenue = billing_month.revenue + excluded.revenue)
UPDATE billing_month b SET parts = b.parts + t.n
FROM (SELECT a, m, sum(p) AS n FROM unnest($1::text[], $2::text[], $5::int8[]) u(a, m, p) GROUP BY 1, 2 HAVING sum(p) <> 0) t
WHERE b.account = t.a AND b.month = t.m AND b.operator = '' AND b.currency = ''`, accts, months, ops, curs, parts, costs, revs)
	if err != nil {
		return fmt.Errorf("month aggregates: %w", err)
	}
	return nil
}
