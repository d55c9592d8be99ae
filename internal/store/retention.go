package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Retired is what one retention pass removed.
type Retired struct {
	Partitions []string
	// Moved counts parked messages carried from a generation being dropped
	// into the current one (a message scheduled or held longer than the
	// retention is kept).
	Moved int64
}

// DropExpired removes journal rows past retention, by dropping whole
// partitions: receipts and MO after messages retention (a day's receipts
// are first folded into its attempts' final_state, so the ledger keeps
// each part's status), attempts and charges after ledger retention,
// messages generations whose last day is past messages retention (their
// parked rows are moved to the current generation first). Old early
// receipts, batches and recovered lanes are deleted.
func (s *Store) DropExpired(ctx context.Context, now time.Time, messages, ledger time.Duration) (Retired, error) {
	var out Retired
	msgDay := Day(now.Add(-messages))
	ledgerDay := Day(now.Add(-ledger))
	for _, parent := range []string{"receipts", "mo"} {
		ps, err := s.Partitions(ctx, parent)
		if err != nil {
			return out, err
		}
		for _, p := range ps {
			if p.Hi > msgDay {
				continue
			}
			if parent == "receipts" {
				if err := s.foldReceipts(ctx, p); err != nil {
					return out, err
				}
			}
			if err := s.dropPartition(ctx, p.Table); err != nil {
				return out, err
			}
			out.Partitions = append(out.Partitions, p.Table)
		}
	}
	for _, parent := range []string{"attempts", "charges"} {
		ps, err := s.Partitions(ctx, parent)
		if err != nil {
			return out, err
		}
		for _, p := range ps {
			if p.Hi > ledgerDay || p.Hi > msgDay {
				continue
			}
			if err := s.dropPartition(ctx, p.Table); err != nil {
				return out, err
			}
			out.Partitions = append(out.Partitions, p.Table)
		}
	}
	gens, err := s.Partitions(ctx, "messages")
	if err != nil {
		return out, err
	}
	cur := s.Gen(now)
	for _, p := range gens {
		if p.Hi*s.GenDays > msgDay || p.Lo >= cur {
			continue
		}
		n, err := s.carryParked(ctx, p, cur)
		if err != nil {
			return out, err
		}
		out.Moved += n
		if err := s.dropPartition(ctx, p.Table); err != nil {
			return out, err
		}
		out.Partitions = append(out.Partitions, p.Table)
	}
	cutoff := DayStart(msgDay)
	for _, q := range []string{
		`DELETE FROM early_receipts WHERE received_at < $1`,
		`DELETE FROM journal_batches WHERE at < $1`,
		`DELETE FROM lanes WHERE recovered AND created < $1`,
		`DELETE FROM account_demand WHERE updated_at < $1`, // reports of instances long gone
	} {
		if _, err := s.Pool.Exec(ctx, q, cutoff); err != nil {
			return out, fmt.Errorf("retention: %w", err)
		}
	}
	if len(out.Partitions) > 0 {
		if err := s.loadGens(ctx); err != nil {
			return out, err
		}
	}
	return out, nil
}

// foldReceipts writes each part's final receipt state of a receipts
// partition into its attempt row (same day: receipts are partitioned by
// their attempt's day).
func (s *Store) foldReceipts(ctx context.Context, p Partition) error {
	_, err := s.Pool.Exec(ctx, `UPDATE attempts a SET final_state = r.state
FROM (SELECT DISTINCT ON (message_id, part, attempt) message_id, part, attempt, state FROM `+pgx.Identifier{p.Table}.Sanitize()+`
	WHERE state IN (4, 5, 6) ORDER BY message_id, part, attempt, received_at) r
WHERE a.day >= $1 AND a.day < $2 AND a.message_id = r.message_id AND a.part = r.part AND a.attempt = r.attempt
	AND a.final_state IS NULL`, p.Lo, p.Hi)
	if err != nil {
		return fmt.Errorf("retention: fold %s: %w", p.Table, err)
	}
	return nil
}

// carryParked moves the parked rows of an old generation into gen cur.
func (s *Store) carryParked(ctx context.Context, p Partition, cur int32) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO messages SELECT id, $1, batch, state, account, sender, dest, body, encoding,
	dlr, marketing, priority, parts, expires_at, forced_route, meta, network, operator, tried, attempt, rerouted, src_partition,
	src_offset, created_at, due, owner, reason, detail, hold_range, held_at, dup_pending
FROM `+pgx.Identifier{p.Table}.Sanitize()+` WHERE due IS NOT NULL ON CONFLICT DO NOTHING`, cur)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		_, err = tx.Exec(ctx, `DELETE FROM `+pgx.Identifier{p.Table}.Sanitize()+` WHERE due IS NOT NULL`)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("retention: carry parked of %s: %w", p.Table, err)
	}
	return n, nil
}

func (s *Store) dropPartition(ctx context.Context, table string) error {
	if _, err := s.Pool.Exec(ctx, `DROP TABLE IF EXISTS `+pgx.Identifier{table}.Sanitize()); err != nil {
		return fmt.Errorf("retention: drop %s: %w", table, err)
	}
	return nil
}
