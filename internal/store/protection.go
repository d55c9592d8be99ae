package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// OperatorControls returns operator → "drained" | "disabled" (enabled
// operators have no entry).
func OperatorControls(ctx context.Context, q Querier) (map[string]string, error) {
	rows, err := q.Query(ctx, `SELECT operator, state FROM operator_controls`)
	if err != nil {
		return nil, fmt.Errorf("operator controls: %w", err)
	}
	out := map[string]string{}
	var op, st string
	if _, err := pgx.ForEachRow(rows, []any{&op, &st}, func() error { out[op] = st; return nil }); err != nil {
		return nil, fmt.Errorf("operator controls: %w", err)
	}
	return out, nil
}

// SetOperatorControl records op's state: "drained", "disabled", or ""
// (enabled).
func SetOperatorControl(ctx context.Context, q Querier, op, state string) error {
	var err error
	if state == "" {
		_, err = execQ(ctx, q, `DELETE FROM operator_controls WHERE operator = $1`, op)
	} else {
		_, err = execQ(ctx, q, `INSERT INTO operator_controls (operator, state) VALUES ($1, $2)
ON CONFLICT (operator) DO UPDATE SET state = excluded.state, updated_at = now()`, op, state)
	}
	if err != nil {
		return fmt.Errorf("set operator %s %q: %w", op, state, err)
	}
	return nil
}

// NumberChange is one change of a number list (blocklist or ported
// numbers) in seq order.
type NumberChange struct {
	Seq    int64
	Number string
	// Blocked is false for a blocklist removal. MCC and MNC are set for
	// ported numbers.
	Blocked  bool
	MCC, MNC string
}

// SetBlocked adds (blocked) or removes a number from the blocklist.
func SetBlocked(ctx context.Context, q Querier, number string, blocked bool) error {
	if _, err := execQ(ctx, q, `INSERT INTO blocklist (number, blocked) VALUES ($1, $2)
ON CONFLICT (number) DO UPDATE SET blocked = excluded.blocked, seq = nextval('change_seq'), updated_at = now()`, number, blocked); err != nil {
		return fmt.Errorf("blocklist %s: %w", number, err)
	}
	return nil
}

// BlocklistChanges returns up to limit blocklist rows changed after seq
// (seq 0: the whole list; removals included, so a poller drops them).
func BlocklistChanges(ctx context.Context, q Querier, after int64, limit int) ([]NumberChange, error) {
	rows, err := q.Query(ctx, `SELECT seq, number, blocked FROM blocklist WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("blocklist changes: %w", err)
	}
	var out []NumberChange
	var c NumberChange
	if _, err := pgx.ForEachRow(rows, []any{&c.Seq, &c.Number, &c.Blocked}, func() error { out = append(out, c); return nil }); err != nil {
		return nil, fmt.Errorf("blocklist changes: %w", err)
	}
	return out, nil
}

// PortedChanges returns up to limit ported numbers changed after seq.
func PortedChanges(ctx context.Context, q Querier, after int64, limit int) ([]NumberChange, error) {
	rows, err := q.Query(ctx, `SELECT seq, number, mcc, mnc FROM ported_numbers WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("ported changes: %w", err)
	}
	var out []NumberChange
	var c NumberChange
	if _, err := pgx.ForEachRow(rows, []any{&c.Seq, &c.Number, &c.MCC, &c.MNC}, func() error { out = append(out, c); return nil }); err != nil {
		return nil, fmt.Errorf("ported changes: %w", err)
	}
	return out, nil
}

// ImportNumbers bulk-loads rows into the blocklist (cols: number) or
// ported_numbers (cols: number, mcc, mnc) through COPY into a temporary
// table and one upsert, so millions of rows take seconds. next yields rows
// until it returns false; it returns the rows upserted.
func ImportNumbers(ctx context.Context, conn *pgx.Conn, ported bool, next func() ([]any, bool), rowErr func() error) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		cols := []string{"number"}
		create := `CREATE TEMP TABLE import_rows (number text NOT NULL) ON COMMIT DROP`
		upsert := `INSERT INTO blocklist (number, blocked) SELECT DISTINCT ON (number) number, true FROM import_rows
ON CONFLICT (number) DO UPDATE SET blocked = true, seq = nextval('change_seq'), updated_at = now()
WHERE NOT blocklist.blocked`
		if ported {
			cols = []string{"number", "mcc", "mnc"}
			create = `CREATE TEMP TABLE import_rows (number text NOT NULL, mcc text NOT NULL, mnc text NOT NULL) ON COMMIT DROP`
			upsert = `INSERT INTO ported_numbers (number, mcc, mnc) SELECT DISTINCT ON (number) number, mcc, mnc FROM import_rows
ON CONFLICT (number) DO UPDATE SET mcc = excluded.mcc, mnc = excluded.mnc, seq = nextval('change_seq'), updated_at = now()
WHERE (ported_numbers.mcc, ported_numbers.mnc) IS DISTINCT FROM (excluded.mcc, excluded.mnc)`
		}
		if _, err := tx.Exec(ctx, create); err != nil {
			return err
		}
		// The de-duplicating sort of millions of rows: in memory, not on disk.
		if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '256MB'`); err != nil {
			return err
		}
		src := &rowSource{next: next}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"import_rows"}, cols, src); err != nil {
			return err
		}
		if err := rowErr(); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, upsert)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("import: %w", err)
	}
	return n, nil
}

type rowSource struct {
	next func() ([]any, bool)
	row  []any
}

func (r *rowSource) Next() bool {
	var ok bool
	r.row, ok = r.next()
	return ok
}
func (r *rowSource) Values() ([]any, error) { return r.row, nil }
func (r *rowSource) Err() error             { return nil }

// PumpingHold is a range held by the pumping guard.
type PumpingHold struct {
	Account, Range, Reason string
	Level                  int
	Since, Until           time.Time
}

// SavePumpingHold records a hold (a repeat raises the level the guard
// computed).
func SavePumpingHold(ctx context.Context, q Querier, h PumpingHold) error {
	if _, err := execQ(ctx, q, `INSERT INTO pumping_holds (account, range, level, since, until, reason) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (account, range) DO UPDATE SET level = excluded.level, since = excluded.since, until = excluded.until, reason = excluded.reason`,
		h.Account, h.Range, h.Level, h.Since, h.Until, h.Reason); err != nil {
		return fmt.Errorf("save pumping hold: %w", err)
	}
	return nil
}

// PumpingHolds returns every recorded hold (active or past: the level
// remembers repeats).
func PumpingHolds(ctx context.Context, q Querier) ([]PumpingHold, error) {
	rows, err := q.Query(ctx, `SELECT account, range, reason, level, since, until FROM pumping_holds`)
	if err != nil {
		return nil, fmt.Errorf("pumping holds: %w", err)
	}
	var out []PumpingHold
	var h PumpingHold
	if _, err := pgx.ForEachRow(rows, []any{&h.Account, &h.Range, &h.Reason, &h.Level, &h.Since, &h.Until}, func() error { out = append(out, h); return nil }); err != nil {
		return nil, fmt.Errorf("pumping holds: %w", err)
	}
	return out, nil
}

// EndPumpingHold ends a range's hold now (released through the API).
func EndPumpingHold(ctx context.Context, q Querier, account, rng string) error {
	if _, err := execQ(ctx, q, `UPDATE pumping_holds SET until = now() WHERE account = $1 AND range = $2 AND until > now()`, account, rng); err != nil {
		return fmt.Errorf("end pumping hold: %w", err)
	}
	return nil
}
