package store

import (
	"context"
	"fmt"
	"time"

	"github.com/smsgate/smsgate/billing"
)

// StatusView is what a status event says about a message, read back from
// Postgres (duplicates, receipts, timeouts).
type StatusView struct {
	ID          string
	Account     string
	State       State
	Operator    string
	Network     string
	Parts       int
	PartsDone   int
	SMSCIDs     []string
	ErrorReason string
	ErrorCode   string
	ErrorDetail string
	Cost        billing.Amount
	Price       billing.Amount
	Currency    string
	Meta        []byte
	UpdatedAt   time.Time
}

// LoadStatus reads the current status of ids, with the SMSC ids of the
// latest attempt's parts and the billed totals.
func LoadStatus(ctx context.Context, q Querier, ids []string) (map[string]StatusView, error) {
	rows, err := q.Query(ctx, `
SELECT m.id, m.account, m.state, coalesce(m.operator, ''), m.parts,
	coalesce(m.error_reason, ''), coalesce(m.error_code, ''), coalesce(m.error_detail, ''), m.meta, m.updated_at,
	coalesce(p.ids, '{}'), coalesce(p.done, 0),
	coalesce(l.cost, 0)::text, coalesce(l.price, 0)::text, coalesce(l.currency, ''), coalesce(m.network, '')
FROM messages m
LEFT JOIN LATERAL (
	SELECT array_agg(coalesce(smsc_id, '') ORDER BY part) AS ids, count(*) FILTER (WHERE state IN (4, 5, 6)) AS done
	FROM parts WHERE message_id = m.id AND attempt = (SELECT max(attempt) FROM parts WHERE message_id = m.id)
) p ON true
LEFT JOIN LATERAL (
	SELECT sum(cost) AS cost, sum(price) AS price, min(currency) AS currency FROM ledger WHERE message_id = m.id
) l ON true
WHERE m.id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("load status: %w", err)
	}
	defer rows.Close()
	out := make(map[string]StatusView, len(ids))
	for rows.Next() {
		var v StatusView
		var parts int16
		var done int64
		var cost, price string
		if err := rows.Scan(&v.ID, &v.Account, &v.State, &v.Operator, &parts, &v.ErrorReason, &v.ErrorCode,
			&v.ErrorDetail, &v.Meta, &v.UpdatedAt, &v.SMSCIDs, &done, &cost, &price, &v.Currency, &v.Network); err != nil {
			return nil, fmt.Errorf("load status: %w", err)
		}
		v.Parts, v.PartsDone = int(parts), int(done)
		v.Cost, _ = billing.ParseAmount(cost)
		v.Price, _ = billing.ParseAmount(price)
		out[v.ID] = v
	}
	return out, rows.Err()
}
