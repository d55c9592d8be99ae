package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/smsgate/smsgate/billing"
)

// Funds is one account's row of account_funds: its balance, what is
// reserved against it and its quota counters.
type Funds struct {
	Account    string
	Credits    billing.Amount
	Spent      billing.Amount
	Reserved   billing.Amount // journaled messages without an outcome
	Awaiting   billing.Amount // accepted parts whose charge a receipt decides
	Day        string         // "2026-12-07" in the account's zone
	DayParts   int64
	Month      string // "2026-12"
	MonthParts int64
	UpdatedAt  time.Time
}

// Balance is credits minus what was billed: the sum of the account's
// ledger entries.
func (f *Funds) Balance() billing.Amount { return f.Credits - f.Spent }

// Used is the quota use of the day and month that contain now in loc: a
// counter of an earlier day or month counts nothing now.
func (f *Funds) Used(now time.Time, loc *time.Location) (day, month int64) {
	if loc == nil {
		loc = time.UTC
	}
	local := now.In(loc)
	if f.Day == local.Format("2006-01-02") {
		day = f.DayParts
	}
	if f.Month == local.Format("2006-01") {
		month = f.MonthParts
	}
	return day, month
}

// Available is what new messages may still spend down to the floor.
func (f *Funds) Available() billing.Amount { return f.Balance() - f.Reserved - f.Awaiting }

func scanFunds(r pgx.Row, f *Funds) error {
	return r.Scan(&f.Account, &f.Credits, &f.Spent, &f.Reserved, &f.Awaiting, &f.Day, &f.DayParts, &f.Month, &f.MonthParts, &f.UpdatedAt)
}

// LockFunds returns the accounts' rows, created when missing, locked for
// the transaction in account order (so writers on several accounts cannot
// deadlock). Every instance that sends for a gated account passes here,
// which is what makes the balance and quota checks exact across the
// cluster.
func LockFunds(ctx context.Context, tx pgx.Tx, accounts []string) (map[string]*Funds, error) {
	accounts = sortedUnique(accounts)
	if _, err := tx.Exec(ctx, `INSERT INTO account_funds (account) SELECT a FROM unnest($1::text[]) a ORDER BY a ON CONFLICT DO NOTHING`, accounts); err != nil {
		return nil, fmt.Errorf("lock funds: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT account, credits, spent, reserved, awaiting, day, day_parts, month, month_parts, updated_at FROM account_funds WHERE account = ANY($1) ORDER BY account FOR UPDATE`, accounts)
	if err != nil {
		return nil, fmt.Errorf("lock funds: %w", err)
	}
	defer rows.Close()
	out := make(map[string]*Funds, len(accounts))
	for rows.Next() {
		f := &Funds{}
		if err := scanFunds(rows, f); err != nil {
			return nil, fmt.Errorf("lock funds: %w", err)
		}
		out[f.Account] = f
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lock funds: %w", err)
	}
	return out, nil
}

// SaveGate writes back the reservations and quota counters of rows taken
// with LockFunds.
func SaveGate(ctx context.Context, tx pgx.Tx, fs []*Funds) error {
	if len(fs) == 0 {
		return nil
	}
	n := len(fs)
	accts, days, months := make([]string, n), make([]string, n), make([]string, n)
	res, dayParts, monthParts := make([]int64, n), make([]int64, n), make([]int64, n)
	for i, f := range fs {
		accts[i], days[i], months[i] = f.Account, f.Day, f.Month
		res[i], dayParts[i], monthParts[i] = int64(f.Reserved), f.DayParts, f.MonthParts
	}
	_, err := tx.Exec(ctx, `UPDATE account_funds f SET reserved = u.res, day = u.day, day_parts = u.dp, month = u.month,
	month_parts = u.mp, updated_at = now()
FROM unnest($1::text[], $2::int8[], $3::text[], $4::int8[], $5::text[], $6::int8[]) u(a, res, day, dp, month, mp)
WHERE f.account = u.a`, accts, res, days, dayParts, months, monthParts)
	if err != nil {
		return fmt.Errorf("save funds: %w", err)
	}
	return nil
}

// SetReserved records on claimed parked rows what their intent reserved
// (rows inserted by InsertIntents carry it already), so that recovery can
// release it after a crash.
func SetReserved(ctx context.Context, tx pgx.Tx, ids []string, gens []int32, amounts []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `UPDATE messages m SET reserved = u.r FROM unnest($1::text[], $2::int4[], $3::int8[]) u(id, gen, r)
WHERE m.id = u.id AND m.gen = u.gen`, ids, gens, amounts); err != nil {
		return fmt.Errorf("set reserved: %w", err)
	}
	return nil
}

// FundsDelta moves an account's counters: Spent by billed prices (and
// refunds), Reserved released by outcomes, Awaiting by parts whose charge
// a receipt decides.
type FundsDelta struct {
	Account                   string
	Spent, Reserved, Awaiting billing.Amount
}

// MoveFunds applies deltas in account order, creating missing rows.
// Reserved and awaiting never go below zero: a release computed after a
// rate change must not turn into credit.
func MoveFunds(ctx context.Context, q Querier, ds []FundsDelta) error {
	m := map[string]*FundsDelta{}
	for i := range ds {
		d := &ds[i]
		if d.Spent == 0 && d.Reserved == 0 && d.Awaiting == 0 {
			continue
		}
		if s := m[d.Account]; s != nil {
			s.Spent += d.Spent
			s.Reserved += d.Reserved
			s.Awaiting += d.Awaiting
		} else {
			c := *d
			m[d.Account] = &c
		}
	}
	if len(m) == 0 {
		return nil
	}
	accts := make([]string, 0, len(m))
	for a := range m {
		accts = append(accts, a)
	}
	sort.Strings(accts)
	spent, res, aw := make([]int64, len(accts)), make([]int64, len(accts)), make([]int64, len(accts))
	for i, a := range accts {
		spent[i], res[i], aw[i] = int64(m[a].Spent), int64(m[a].Reserved), int64(m[a].Awaiting)
	}
	// Releases always follow a reservation on an existing row, so the
	// insert branch only ever sees increments.
	_, err := execQ(ctx, q, `INSERT INTO account_funds AS f (account, spent, reserved, awaiting)
SELECT a, s, r, w FROM unnest($1::text[], $2::int8[], $3::int8[], $4::int8[]) u(a, s, r, w) ORDER BY a
ON CONFLICT (account) DO UPDATE SET spent = f.spent + excluded.spent,
	reserved = greatest(f.reserved + excluded.reserved, 0),
	awaiting = greatest(f.awaiting + excluded.awaiting, 0),
	updated_at = now()`, accts, spent, res, aw)
	if err != nil {
		return fmt.Errorf("move funds: %w", err)
	}
	return nil
}

// GetFunds reads one account's row without locking it (zero row when the
// account has none yet).
func GetFunds(ctx context.Context, q Querier, account string) (Funds, error) {
	f := Funds{Account: account}
	err := scanFunds(q.QueryRow(ctx, `SELECT account, credits, spent, reserved, awaiting, day, day_parts, month, month_parts, updated_at FROM account_funds WHERE account = $1`, account), &f)
	if errors.Is(err, pgx.ErrNoRows) {
		return Funds{Account: account}, nil
	}
	if err != nil {
		return f, fmt.Errorf("funds %s: %w", account, err)
	}
	return f, nil
}

// AllFunds reads every account's row (gauges, status).
func AllFunds(ctx context.Context, q Querier) ([]Funds, error) {
	rows, err := q.Query(ctx, `SELECT account, credits, spent, reserved, awaiting, day, day_parts, month, month_parts, updated_at FROM account_funds ORDER BY account`)
	if err != nil {
		return nil, fmt.Errorf("funds: %w", err)
	}
	defer rows.Close()
	var out []Funds
	for rows.Next() {
		var f Funds
		if err := scanFunds(rows, &f); err != nil {
			return nil, fmt.Errorf("funds: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// Credit is a top-up (or, negative, an adjustment) of an account.
type Credit struct {
	Account        string
	Amount         billing.Amount
	Currency       string
	Reference      string
	IdempotencyKey string
	TokenName      string
	// PartPrice (the lowest price of the account's rates) and Floor (the
	// lowest balance it may reach) bound how many messages held for funds
	// the credit releases, oldest first: those it may pay for. Zero
	// PartPrice releases them all.
	PartPrice billing.Amount
	Floor     billing.Amount
}

// CreditResult is the balance after a credit; Replay when the idempotency
// key was used before (nothing changed; the first result is returned).
type CreditResult struct {
	ID        int64
	Balance   billing.Amount
	Currency  string
	Replay    bool
	CreatedAt time.Time
}

// ErrIdempotencyConflict: the key was used for a different credit.
var ErrIdempotencyConflict = errors.New("idempotency_key was used for a different credit")

// ApplyCredit writes the credit as a ledger entry and moves the balance
// in one transaction, once per (account, idempotency key), and releases
// the account's messages held for insufficient funds so they are tried
// again. The caller checks account and currency.
func (s *Store) ApplyCredit(ctx context.Context, c Credit) (CreditResult, int64, error) {
	var out CreditResult
	var released int64
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		released = 0
		if _, err := tx.Exec(ctx, `INSERT INTO account_funds (account) VALUES ($1) ON CONFLICT DO NOTHING`, c.Account); err != nil {
			return err
		}
		var credits, spent, reserved, awaiting int64
		if err := tx.QueryRow(ctx, `SELECT credits, spent, reserved, awaiting FROM account_funds WHERE account = $1 FOR UPDATE`,
			c.Account).Scan(&credits, &spent, &reserved, &awaiting); err != nil {
			return err
		}
		var prev Credit
		err := tx.QueryRow(ctx, `SELECT id, amount, currency, reference, balance_after, created_at FROM credits
WHERE account = $1 AND idempotency_key = $2`, c.Account, c.IdempotencyKey).Scan(&out.ID, &prev.Amount, &prev.Currency, &prev.Reference, &out.Balance, &out.CreatedAt)
		if err == nil {
			if prev.Amount != c.Amount || prev.Currency != c.Currency || prev.Reference != c.Reference {
				return ErrIdempotencyConflict
			}
			out.Currency, out.Replay = prev.Currency, true
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		bal := billing.Amount(credits) + c.Amount - billing.Amount(spent)
		if err := tx.QueryRow(ctx, `INSERT INTO credits (account, amount, currency, reference, idempotency_key, balance_after, token_name)
VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, created_at`, c.Account, int64(c.Amount), c.Currency, c.Reference, c.IdempotencyKey,
			int64(bal), c.TokenName).Scan(&out.ID, &out.CreatedAt); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE account_funds SET credits = credits + $2, updated_at = now() WHERE account = $1`, c.Account, int64(c.Amount)); err != nil {
			return err
		}
		out.Balance, out.Currency, out.Replay = bal, c.Currency, false
		if c.Amount > 0 {
			headroom := bal - billing.Amount(reserved+awaiting) - c.Floor
			n, err := ReleaseShortHolds(ctx, tx, c.Account, c.PartPrice, headroom)
			if err != nil {
				return err
			}
			released = n
		}
		return nil
	})
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			// Two requests with one key at once: the other committed first.
			return s.ApplyCredit(ctx, c)
		}
		if errors.Is(err, ErrIdempotencyConflict) {
			return out, 0, err
		}
		return out, 0, fmt.Errorf("credit %s: %w", c.Account, err)
	}
	return out, released, nil
}

// ReasonInsufficientFunds and ReasonQuotaExceeded are the error.reason
// values of messages the account gate refused.
const (
	ReasonInsufficientFunds = "insufficient_funds"
	ReasonQuotaExceeded     = "quota_exceeded"
)

// releasedByCredit marks a row released from a hold for funds until it
// is sent: held again, it publishes no second "held".
const releasedByCredit = "released by a credit"

// ReleaseShortHolds makes an account's messages held for insufficient
// funds due now, oldest first, as many as headroom pays for at partPrice
// per part (zero partPrice: all): the intent lane checks each again when
// it is taken, so a release too many is held again, never overspent.
func ReleaseShortHolds(ctx context.Context, q Querier, account string, partPrice, headroom billing.Amount) (int64, error) {
	n, err := execQ(ctx, q, `WITH held AS (
	SELECT id, gen, sum(parts) OVER (ORDER BY created_at, id) AS upto FROM messages
	WHERE state = 8 AND reason = 'insufficient_funds' AND account = $1 AND due IS NOT NULL)
UPDATE messages m SET state = 0, due = now(), reason = NULL, detail = $4
FROM held WHERE m.id = held.id AND m.gen = held.gen AND m.state = 8 AND ($2 = 0 OR held.upto * $2 <= $3)`,
		account, int64(partPrice), int64(headroom), releasedByCredit)
	if err != nil {
		return 0, fmt.Errorf("release holds of %s: %w", account, err)
	}
	return n, nil
}

// HoldParked ends leased parked rows held (the balance cannot pay for
// them now) and returns the ids it held, and among them those a credit
// had released from the same hold (their "held" is out already); a lease
// another instance took is left alone.
func HoldParked(ctx context.Context, tx pgx.Tx, batch int64, owner string, ids []string, gens []int32, reason, detail string) (held, again map[string]bool, err error) {
	if len(ids) == 0 {
		return nil, nil, nil
	}
	rows, err := tx.Query(ctx, `WITH old AS (
	SELECT m.id, m.gen, coalesce(m.detail = $7, false) AS again FROM messages m
	JOIN unnest($3::text[], $4::int4[]) u(id, gen) ON m.id = u.id AND m.gen = u.gen
	WHERE m.owner = $2 AND m.due IS NOT NULL FOR UPDATE OF m)
UPDATE messages m SET state = 8, due = '9999-12-31 00:00:00+00', owner = NULL, batch = $1, reason = $5, detail = nullif($6, ''),
	held_at = now(), reserved = 0
FROM old WHERE m.id = old.id AND m.gen = old.gen RETURNING m.id, old.again`, batch, owner, ids, gens, reason, detail, releasedByCredit)
	if err != nil {
		return nil, nil, fmt.Errorf("hold parked: %w", err)
	}
	held, again = map[string]bool{}, map[string]bool{}
	var id string
	var a bool
	if _, err := pgx.ForEachRow(rows, []any{&id, &a}, func() error {
		held[id] = true
		if a {
			again[id] = true
		}
		return nil
	}); err != nil {
		return nil, nil, fmt.Errorf("hold parked: %w", err)
	}
	return held, again, nil
}

// CreditRow is one credit for exports and the API.
type CreditRow struct {
	ID        int64
	Account   string
	Amount    billing.Amount
	Currency  string
	Reference string
	CreatedAt time.Time
}

// CreditsBetween returns the credits made in [from, to), in time order.
func CreditsBetween(ctx context.Context, q Querier, from, to time.Time) ([]CreditRow, error) {
	rows, err := q.Query(ctx, `SELECT id, account, amount, currency, reference, created_at FROM credits
WHERE created_at >= $1 AND created_at < $2 ORDER BY created_at, id`, from, to)
	if err != nil {
		return nil, fmt.Errorf("credits: %w", err)
	}
	out := []CreditRow{}
	var c CreditRow
	if _, err := pgx.ForEachRow(rows, []any{&c.ID, &c.Account, &c.Amount, &c.Currency, &c.Reference, &c.CreatedAt}, func() error {
		out = append(out, c)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("credits: %w", err)
	}
	return out, nil
}

// HeldShort counts each account's messages held for insufficient funds.
func HeldShort(ctx context.Context, q Querier) (map[string]int64, error) {
	// The reason is written out so that the partial index msg_held_funds
	// matches whatever plan the statement gets.
	rows, err := q.Query(ctx, `SELECT account, count(*) FROM messages WHERE state = 8 AND reason = 'insufficient_funds' AND due IS NOT NULL GROUP BY account`)
	if err != nil {
		return nil, fmt.Errorf("held for funds: %w", err)
	}
	out := map[string]int64{}
	var a string
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&a, &n}, func() error { out[a] = n; return nil }); err != nil {
		return nil, fmt.Errorf("held for funds: %w", err)
	}
	return out, nil
}

func sortedUnique(ss []string) []string {
	out := append([]string(nil), ss...)
	sort.Strings(out)
	j := 0
	for i, s := range out {
		if i == 0 || s != out[j-1] {
			out[j] = s
			j++
		}
	}
	return out[:j]
}

// ShareAccountDemand records instance's demand for each account in mine
// and returns each of those accounts' demand summed over the live
// instances (heartbeat within within), this one's included.
func ShareAccountDemand(ctx context.Context, q Querier, instance string, within time.Duration, mine map[string]int64) (map[string]int64, error) {
	accts := make([]string, 0, len(mine))
	for a := range mine {
		accts = append(accts, a)
	}
	sort.Strings(accts)
	demand := make([]int64, len(accts))
	for i, a := range accts {
		demand[i] = mine[a]
	}
	if _, err := execQ(ctx, q, `INSERT INTO account_demand AS d (instance, account, demand)
SELECT $1, a, n FROM unnest($2::text[], $3::int8[]) u(a, n) ORDER BY a
ON CONFLICT (instance, account) DO UPDATE SET demand = excluded.demand, updated_at = now()`, instance, accts, demand); err != nil {
		return nil, fmt.Errorf("account demand: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT d.account, sum(d.demand)::int8 FROM account_demand d JOIN instances i ON i.id = d.instance
WHERE d.account = ANY($1) AND d.instance <> $2 AND i.heartbeat > now() - $3 * interval '1 second' GROUP BY d.account`,
		accts, instance, within.Seconds())
	if err != nil {
		return nil, fmt.Errorf("account demand: %w", err)
	}
	out := make(map[string]int64, len(mine))
	for a, n := range mine {
		out[a] = n
	}
	var a string
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&a, &n}, func() error { out[a] += n; return nil }); err != nil {
		return nil, fmt.Errorf("account demand: %w", err)
	}
	return out, nil
}
