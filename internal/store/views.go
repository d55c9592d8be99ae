package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/internal/message"
)

// PartView is one part of a message's latest attempt with what its
// receipts say.
type PartView struct {
	Part        int16
	Attempt     int16
	Day         int32
	State       message.State // the attempt's outcome, or the receipts' verdict
	SMSCID      []byte
	SMSCKey     string
	SubmittedAt time.Time
	Charged     bool
	Price, Cost billing.Amount
	Currency    string
	Final       bool   // a final receipt (or dlr_timeout) decided it
	Stat        string // the deciding receipt's stat word
	Reason      string // error.reason of the deciding receipt (error_map, dlr_timeout)
	Code        string // error.code of the deciding receipt
	Status      uint32 // the attempt's submit_sm_resp command_status when not 0
}

// MessageView is a message as its rows say now: the status is derived
// from them, never stored as one value.
type MessageView struct {
	ID          string
	Gen         int32
	RowState    message.State // messages.state: Sending (journaled), Rejected, or parked (Queued, Scheduled, Held)
	Account     string
	Dest        string
	Network     string
	Operator    string
	ForcedRoute string
	Tried       []string
	Attempt     int16
	Parts       int16
	DLR         bool
	Rerouted    bool
	Meta        []byte
	Reason      string // rejected or held: why
	Detail      string
	Partition   int32
	Offset      int64
	Batch       int64
	CreatedAt   time.Time
	// Latest are the parts of the latest attempt that has rows (none yet:
	// journaled and in flight, or never sent).
	Latest []PartView
	// Charges are charges made after submit for the latest attempt,
	// summed: price and cost.
	ChargedPrice, ChargedCost billing.Amount
	ChargeCurrency            string
}

// LoadViews reads the messages ids with their latest attempt and its
// receipts. Ids without a row are absent.
func LoadViews(ctx context.Context, q Querier, ids []string) (map[string]*MessageView, error) {
	out := make(map[string]*MessageView, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT id, gen, state, account, dest, coalesce(network, ''), coalesce(operator, ''),
	coalesce(forced_route, ''), coalesce(tried, '{}'), attempt, parts, dlr, rerouted, meta, coalesce(reason, ''),
	coalesce(detail, ''), src_partition, src_offset, batch, created_at
FROM messages WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("load messages: %w", err)
	}
	for rows.Next() {
		v := &MessageView{}
		var meta *string
		if err := rows.Scan(&v.ID, &v.Gen, &v.RowState, &v.Account, &v.Dest, &v.Network, &v.Operator, &v.ForcedRoute, &v.Tried,
			&v.Attempt, &v.Parts, &v.DLR, &v.Rerouted, &meta, &v.Reason, &v.Detail, &v.Partition, &v.Offset, &v.Batch, &v.CreatedAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("load messages: %w", err)
		}
		if meta != nil {
			v.Meta = []byte(*meta)
		}
		out[v.ID] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load messages: %w", err)
	}
	if err := loadLatestParts(ctx, q, ids, out); err != nil {
		return nil, err
	}
	return out, nil
}

// loadLatestParts fills the latest attempt's parts, their receipts and
// charges.
func loadLatestParts(ctx context.Context, q Querier, ids []string, into map[string]*MessageView) error {
	rows, err := q.Query(ctx, `
WITH a AS (
	SELECT DISTINCT ON (message_id, part) message_id, part, attempt, day, state, smsc_id, coalesce(smsc_key, ''),
		submitted_at, charged, price, cost, currency, final_state, coalesce(code, 0) AS code
	FROM attempts WHERE message_id = ANY($1)
	ORDER BY message_id, part, attempt DESC, submitted_at DESC)
SELECT a.message_id, a.part, a.attempt, a.day, a.state, a.smsc_id, a.coalesce, a.submitted_at, a.charged, a.price, a.cost,
	a.currency, a.final_state, a.code, r.state, coalesce(r.stat, ''), coalesce(r.reason, ''), coalesce(r.code, '')
FROM a LEFT JOIN LATERAL (
	SELECT state, stat, reason, code FROM receipts
	WHERE message_id = a.message_id AND part = a.part AND attempt = a.attempt
	ORDER BY (state IN (4, 5, 6)) DESC, received_at LIMIT 1) r ON true`, ids)
	if err != nil {
		return fmt.Errorf("load parts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var p PartView
		var price, cost int64
		var final, rstate *int16
		var code int32
		if err := rows.Scan(&id, &p.Part, &p.Attempt, &p.Day, &p.State, &p.SMSCID, &p.SMSCKey, &p.SubmittedAt, &p.Charged,
			&price, &cost, &p.Currency, &final, &code, &rstate, &p.Stat, &p.Reason, &p.Code); err != nil {
			return fmt.Errorf("load parts: %w", err)
		}
		p.Price, p.Cost = billing.Amount(price), billing.Amount(cost)
		p.Status = uint32(code)
		switch {
		case rstate != nil && message.State(*rstate).Final():
			p.State, p.Final = message.State(*rstate), true
		case rstate != nil && p.State == message.Unknown:
			p.State = message.Submitted // an intermediate receipt proves the SMSC took it
		case final != nil:
			p.State, p.Final = message.State(*final), true
		}
		v := into[id]
		if v == nil {
			continue
		}
		v.Latest = append(v.Latest, p)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load parts: %w", err)
	}
	// Keep only the latest attempt's parts.
	for _, v := range into {
		if len(v.Latest) < 2 {
			continue
		}
		top := v.Latest[0].Attempt
		for _, p := range v.Latest {
			top = max(top, p.Attempt)
		}
		kept := v.Latest[:0]
		for _, p := range v.Latest {
			if p.Attempt == top {
				kept = append(kept, p)
			}
		}
		v.Latest = kept
		sortParts(v.Latest)
	}
	return loadCharges(ctx, q, ids, into)
}

func sortParts(ps []PartView) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].Part < ps[j-1].Part; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

func loadCharges(ctx context.Context, q Querier, ids []string, into map[string]*MessageView) error {
	rows, err := q.Query(ctx, `SELECT message_id, attempt, kind, price, cost, currency FROM charges WHERE message_id = ANY($1)`, ids)
	if err != nil {
		return fmt.Errorf("load charges: %w", err)
	}
	var id, cur string
	var att, kind int16
	var price, cost int64
	_, err = pgx.ForEachRow(rows, []any{&id, &att, &kind, &price, &cost, &cur}, func() error {
		v := into[id]
		if v == nil || len(v.Latest) == 0 || v.Latest[0].Attempt != att {
			return nil
		}
		if kind == ChargeRefund {
			price = -price
		}
		v.ChargedPrice += billing.Amount(price)
		v.ChargedCost += billing.Amount(cost)
		v.ChargeCurrency = cur
		return nil
	})
	if err != nil {
		return fmt.Errorf("load charges: %w", err)
	}
	return nil
}

// Charge kinds (charges.kind).
const (
	ChargeOnReceipt   int16 = 1 // charge_on delivered, or an unknown part proven
	ChargeRefund      int16 = 2 // the attempt's charge refunded (reroute)
	ChargeCostOnDeliv int16 = 3 // cost_on delivered: the operator cost once delivered
	ChargeCostOnly    int16 = 4 // a failed attempt's operator cost, the customer not charged
)

// OperatorCounts are journal totals per operator (the demo's progress).
type OperatorCounts struct {
	Waiting, Sent, Delivered, Failed, Rejected int64
}

// CountByOperator totals the journal per operator: messages waiting
// (parked), messages sent (an attempt accepted or unknown), delivered and
// failed (by receipts), rejected. It reads whole tables: for small
// journals (the demo), not for a dashboard.
func CountByOperator(ctx context.Context, q Querier) (map[string]*OperatorCounts, error) {
	rows, err := q.Query(ctx, `
SELECT coalesce(operator, '-'), 0, count(*) FILTER (WHERE due IS NOT NULL), count(*) FILTER (WHERE state = 7) FROM messages GROUP BY 1
UNION ALL SELECT operator, 1, count(DISTINCT message_id), 0 FROM attempts WHERE state IN (2, 3) GROUP BY 1
UNION ALL SELECT operator, 2, count(DISTINCT message_id) FILTER (WHERE state = 4), count(DISTINCT message_id) FILTER (WHERE state IN (5, 6))
	FROM receipts GROUP BY 1`)
	if err != nil {
		return nil, fmt.Errorf("counts: %w", err)
	}
	out := map[string]*OperatorCounts{}
	var op string
	var kind int
	var a, b int64
	_, err = pgx.ForEachRow(rows, []any{&op, &kind, &a, &b}, func() error {
		c := out[op]
		if c == nil {
			c = &OperatorCounts{}
			out[op] = c
		}
		switch kind {
		case 0:
			c.Waiting, c.Rejected = c.Waiting+a, c.Rejected+b
		case 1:
			c.Sent += a
		case 2:
			c.Delivered, c.Failed = c.Delivered+a, c.Failed+b
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("counts: %w", err)
	}
	return out, nil
}
