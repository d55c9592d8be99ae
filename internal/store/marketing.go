package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// OptedOut returns the (account, msisdn) pairs among pairs that are opted
// out, by the account itself or by everyone ('*').
func OptedOut(ctx context.Context, q Querier, accounts, msisdns []string) (map[[2]string]bool, error) {
	rows, err := q.Query(ctx, `
SELECT u.account, u.msisdn FROM unnest($1::text[], $2::text[]) u(account, msisdn)
WHERE EXISTS (SELECT 1 FROM optouts o WHERE o.msisdn = u.msisdn AND (o.account = u.account OR o.account = '*'))`,
		accounts, msisdns)
	if err != nil {
		return nil, fmt.Errorf("opt-out check: %w", err)
	}
	defer rows.Close()
	out := map[[2]string]bool{}
	for rows.Next() {
		var a, m string
		if err := rows.Scan(&a, &m); err != nil {
			return nil, err
		}
		out[[2]string{a, m}] = true
	}
	return out, rows.Err()
}

// RecentMarketing counts marketing messages journaled for sending per
// (account, msisdn) since `since` (frequency cap). Callers hold
// LockMarketing for the pairs, so two instances cannot both pass the cap.
func RecentMarketing(ctx context.Context, q Querier, accounts, msisdns []string, since time.Time) (map[[2]string]int, error) {
	rows, err := q.Query(ctx, `
SELECT u.account, u.msisdn, (SELECT count(*) FROM messages m WHERE m.marketing AND m.account = u.account
	AND m.dest = u.msisdn AND m.created_at >= $3 AND m.state = 1)
FROM (SELECT DISTINCT * FROM unnest($1::text[], $2::text[])) u(account, msisdn)`, accounts, msisdns, since)
	if err != nil {
		return nil, fmt.Errorf("frequency cap: %w", err)
	}
	defer rows.Close()
	out := map[[2]string]int{}
	for rows.Next() {
		var a, m string
		var n int
		if err := rows.Scan(&a, &m, &n); err != nil {
			return nil, err
		}
		out[[2]string{a, m}] = n
	}
	return out, rows.Err()
}

// SetOptOut opts msisdn out of (stop=true) or back into marketing from
// each of accounts ('*' = all).
func SetOptOut(ctx context.Context, q interface {
	Querier
}, accounts []string, msisdn string, stop bool) error {
	var err error
	if stop {
		_, err = execQ(ctx, q, `INSERT INTO optouts (account, msisdn) SELECT a, $2 FROM unnest($1::text[]) a ON CONFLICT DO NOTHING`, accounts, msisdn)
	} else {
		_, err = execQ(ctx, q, `DELETE FROM optouts WHERE msisdn = $2 AND account = ANY($1)`, accounts, msisdn)
	}
	if err != nil {
		return fmt.Errorf("opt-out update: %w", err)
	}
	return nil
}

// execQ runs a statement through Query so it works on any Querier.
func execQ(ctx context.Context, q Querier, sql string, args ...any) (int64, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return 0, err
	}
	rows.Close()
	return rows.CommandTag().RowsAffected(), rows.Err()
}

// LockMarketing serialises frequency-cap decisions per (account, msisdn)
// across instances for the rest of the transaction, in a fixed order.
func LockMarketing(ctx context.Context, tx pgx.Tx, accounts, msisdns []string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(a || '|' || m, 7245) AS h
FROM unnest($1::text[], $2::text[]) u(a, m) ORDER BY 1) x`, accounts, msisdns); err != nil {
		return fmt.Errorf("frequency cap lock: %w", err)
	}
	return nil
}

// RejectParked ends leased parked rows rejected (a marketing rule refused
// them when they were due, they expired, or cannot be encoded) and
// returns the ids it ended (a lease another instance took is left alone).
func RejectParked(ctx context.Context, tx pgx.Tx, batch int64, owner string, ids []string, gens []int32, reasons, details []string) (map[string]bool, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `UPDATE messages m SET state = 7, due = NULL, owner = NULL, batch = $1, reason = u.reason, detail = u.detail
FROM unnest($3::text[], $4::int4[], $5::text[], $6::text[]) u(id, gen, reason, detail)
WHERE m.id = u.id AND m.gen = u.gen AND m.owner = $2 AND m.due IS NOT NULL RETURNING m.id`, batch, owner, ids, gens, reasons, details)
	if err != nil {
		return nil, fmt.Errorf("reject parked: %w", err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("reject parked: %w", err)
	}
	out := make(map[string]bool, len(got))
	for _, id := range got {
		out[id] = true
	}
	return out, nil
}
