package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/smsgate/smsgate/smpp/coding"
)

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

// Heartbeat records that instance id is alive.
func Heartbeat(ctx context.Context, q Querier, id string) error {
	var one int
	err := q.QueryRow(ctx, `INSERT INTO instances (id) VALUES ($1)
ON CONFLICT (id) DO UPDATE SET heartbeat = now() RETURNING 1`, id).Scan(&one)
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	return nil
}

func codingOf(v int16) coding.Encoding { return coding.Encoding(v) }
