package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/internal/message"
	"github.com/smsgate/smsgate/smpp/coding"
)

// ErrNoMessage: no row has this id (never accepted, or past retention).
var ErrNoMessage = errors.New("no message with this id")

// TraceMessage is the message as it was accepted.
type TraceMessage struct {
	ID          string     `json:"id"`
	Account     string     `json:"account"`
	From        string     `json:"from"`
	To          string     `json:"to"`
	Text        string     `json:"text,omitempty"` // only where message text may be shown
	Parts       int        `json:"parts"`
	Encoding    string     `json:"encoding"`
	Kind        string     `json:"kind"`
	Priority    int        `json:"priority"`
	DLR         bool       `json:"dlr"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	ForcedRoute string     `json:"forced_route,omitempty"`
	Network     string     `json:"network,omitempty"`
	Operator    string     `json:"operator,omitempty"` // the route of the latest (or next) attempt
	Tried       []string   `json:"tried,omitempty"`    // operators tried before it, in order
	Rerouted    bool       `json:"rerouted"`
	Row         string     `json:"row"` // the row's state: journaled, rejected, queued, held, scheduled
	Reason      string     `json:"reason,omitempty"`
	Detail      string     `json:"detail,omitempty"`
	HoldRange   string     `json:"hold_range,omitempty"`
	HeldAt      *time.Time `json:"held_at,omitempty"`
	Due         *time.Time `json:"due,omitempty"`
	Source      string     `json:"source"` // sms.submit partition/offset
	AcceptedAt  time.Time  `json:"accepted_at"`
}

// TraceAttempt is one part of one attempt: the submit_sm and its answer.
type TraceAttempt struct {
	Part        int        `json:"part"`
	Attempt     int        `json:"attempt"`
	Operator    string     `json:"operator"`
	Bind        *int       `json:"bind,omitempty"`
	Seq         *int64     `json:"seq,omitempty"`
	State       string     `json:"state"` // submitted, unknown, rejected, failover
	Code        string     `json:"code,omitempty"`
	SMSCID      string     `json:"smsc_id,omitempty"`
	SubmittedAt time.Time  `json:"submitted_at"`
	RespAt      *time.Time `json:"resp_at,omitempty"`
	Price       string     `json:"price"`
	Cost        string     `json:"cost"`
	Currency    string     `json:"currency"`
	Charged     bool       `json:"charged"`
}

// TraceReceipt is one delivery receipt as stored.
type TraceReceipt struct {
	Part       int        `json:"part"`
	Attempt    int        `json:"attempt"`
	Operator   string     `json:"operator"`
	SMSCID     string     `json:"smsc_id,omitempty"`
	State      string     `json:"state"`
	Stat       string     `json:"stat"`
	Err        string     `json:"err,omitempty"`
	Reason     string     `json:"reason,omitempty"` // mapped (error_map) or dlr_timeout
	Code       string     `json:"code,omitempty"`   // the supplier's network error code
	DoneAt     *time.Time `json:"done_at,omitempty"`
	ReceivedAt time.Time  `json:"received_at"`
	// Text is the receipt as the SMSC sent it (dlr.keep_text; its text:
	// excerpt redacted unless http.show_message_text); "" when not kept.
	Text string `json:"text,omitempty"`
}

// TraceCharge is one ledger row of the message.
type TraceCharge struct {
	Part        int       `json:"part"`
	Attempt     int       `json:"attempt"`
	Operator    string    `json:"operator"`
	SubmittedAt time.Time `json:"submitted_at"`
	Price       string    `json:"price"`
	Cost        string    `json:"cost"`
	Currency    string    `json:"currency"`
	Month       string    `json:"month"`
}

// TraceStep is one line of the journey, in time order.
type TraceStep struct {
	At   time.Time `json:"at"`
	What string    `json:"what"`
}

// Trace is the whole journey of one message.
type Trace struct {
	Message  TraceMessage   `json:"message"`
	Attempts []TraceAttempt `json:"attempts"`
	Receipts []TraceReceipt `json:"receipts"`
	Ledger   []TraceCharge  `json:"ledger"`
	Steps    []TraceStep    `json:"steps"`
}

// LoadTrace reads every row of message id. showText adds the body.
func LoadTrace(ctx context.Context, q Querier, id string, showText bool) (*Trace, error) {
	t := &Trace{Attempts: []TraceAttempt{}, Receipts: []TraceReceipt{}, Ledger: []TraceCharge{}}
	m := &t.Message
	var state, enc, prio, parts int16
	var marketing bool
	var body string
	var part int32
	var offset int64
	err := q.QueryRow(ctx, `SELECT id, account, sender, dest, body, encoding, dlr, marketing, priority, parts, expires_at,
	coalesce(forced_route, ''), coalesce(network, ''), coalesce(operator, ''), coalesce(tried, '{}'), rerouted, state,
	coalesce(reason, ''), coalesce(detail, ''), coalesce(hold_range, ''), held_at, due, src_partition, src_offset, created_at
FROM messages WHERE id = $1 ORDER BY gen DESC LIMIT 1`, id).Scan(&m.ID, &m.Account, &m.From, &m.To, &body, &enc, &m.DLR,
		&marketing, &prio, &parts, &m.ExpiresAt, &m.ForcedRoute, &m.Network, &m.Operator, &m.Tried, &m.Rerouted, &state,
		&m.Reason, &m.Detail, &m.HoldRange, &m.HeldAt, &m.Due, &part, &offset, &m.AcceptedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNoMessage
	}
	if err != nil {
		return nil, fmt.Errorf("trace %s: %w", id, err)
	}
	if showText {
		m.Text = body
	}
	m.Encoding, m.Priority, m.Parts = coding.Encoding(enc).String(), int(prio), int(parts)
	m.Kind = "transactional"
	if marketing {
		m.Kind = "marketing"
	}
	m.Row = message.State(state).String()
	if message.State(state) == message.Sending {
		m.Row = "journaled"
	}
	if m.Due != nil && m.Due.Year() > 9000 {
		m.Due = nil // 'infinity' while held
	}
	m.Source = fmt.Sprintf("sms.submit %d/%d", part, offset)

	rows, err := q.Query(ctx, `SELECT part, attempt, operator, bind, seq, smsc_id, state, code, submitted_at, resp_at,
	price, cost, currency, charged
FROM attempts WHERE message_id = $1 ORDER BY submitted_at, attempt, part`, id)
	if err != nil {
		return nil, fmt.Errorf("trace %s attempts: %w", id, err)
	}
	for rows.Next() {
		var a TraceAttempt
		var p, att, st int16
		var bind *int16
		var seq *int32
		var smsc []byte
		var code *int32
		var price, cost int64
		if err := rows.Scan(&p, &att, &a.Operator, &bind, &seq, &smsc, &st, &code, &a.SubmittedAt, &a.RespAt, &price, &cost,
			&a.Currency, &a.Charged); err != nil {
			rows.Close()
			return nil, fmt.Errorf("trace %s attempts: %w", id, err)
		}
		a.Part, a.Attempt, a.State = int(p), int(att), message.State(st).String()
		if bind != nil {
			b := int(*bind)
			a.Bind = &b
		}
		if seq != nil {
			s := int64(uint32(*seq))
			a.Seq = &s
		}
		if code != nil {
			a.Code = fmt.Sprintf("0x%08X", uint32(*code))
		}
		a.SMSCID = message.SanitizeBytes(smsc)
		a.Price, a.Cost = billing.Amount(price).String(), billing.Amount(cost).String()
		t.Attempts = append(t.Attempts, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("trace %s attempts: %w", id, err)
	}

	rows, err = q.Query(ctx, `SELECT part, attempt, operator, smsc_id, state, stat, coalesce(err, ''), coalesce(reason, ''),
	coalesce(code, ''), done_at, received_at, coalesce(raw, '')
FROM receipts WHERE message_id = $1 ORDER BY received_at, part`, id)
	if err != nil {
		return nil, fmt.Errorf("trace %s receipts: %w", id, err)
	}
	for rows.Next() {
		var r TraceReceipt
		var p, att, st int16
		var smsc []byte
		if err := rows.Scan(&p, &att, &r.Operator, &smsc, &st, &r.Stat, &r.Err, &r.Reason, &r.Code, &r.DoneAt, &r.ReceivedAt, &r.Text); err != nil {
			rows.Close()
			return nil, fmt.Errorf("trace %s receipts: %w", id, err)
		}
		r.Part, r.Attempt, r.State = int(p), int(att), message.State(st).String()
		if message.State(st) == message.Submitted {
			r.State = "intermediate"
		}
		r.SMSCID = message.SanitizeBytes(smsc)
		t.Receipts = append(t.Receipts, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("trace %s receipts: %w", id, err)
	}

	rows, err = q.Query(ctx, `SELECT part, attempt, operator, submitted_at, price::text, cost::text, currency, month
FROM ledger WHERE message_id = $1 ORDER BY attempt, part`, id)
	if err != nil {
		return nil, fmt.Errorf("trace %s ledger: %w", id, err)
	}
	for rows.Next() {
		var c TraceCharge
		var p, att int16
		if err := rows.Scan(&p, &att, &c.Operator, &c.SubmittedAt, &c.Price, &c.Cost, &c.Currency, &c.Month); err != nil {
			rows.Close()
			return nil, fmt.Errorf("trace %s ledger: %w", id, err)
		}
		c.Part, c.Attempt = int(p), int(att)
		t.Ledger = append(t.Ledger, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("trace %s ledger: %w", id, err)
	}
	t.Steps = steps(t)
	return t, nil
}

// steps lays the rows out as one timeline. Rows carry their own times, so
// the order is what happened, not the order the tables were read in.
func steps(t *Trace) []TraceStep {
	m := &t.Message
	var out []TraceStep
	accepted := fmt.Sprintf("accepted from %s: account %s, to %s, %d part(s), %s, %s", m.Source, m.Account, m.To, m.Parts, m.Encoding, m.Kind)
	if m.Network != "" {
		accepted += ", network " + m.Network
	}
	out = append(out, TraceStep{At: m.AcceptedAt, What: accepted})
	for _, a := range t.Attempts {
		where := a.Operator
		if a.Bind != nil && a.Seq != nil {
			where = fmt.Sprintf("%s bind %d seq %d", a.Operator, *a.Bind, *a.Seq)
		}
		out = append(out, TraceStep{At: a.SubmittedAt, What: fmt.Sprintf("attempt %d part %d: submit_sm to %s", a.Attempt, a.Part, where)})
		answer := a.State
		if a.Code != "" {
			answer += " (" + a.Code + ")"
		}
		if a.SMSCID != "" {
			answer += ", smsc id " + a.SMSCID
		}
		at := a.SubmittedAt
		if a.RespAt != nil {
			at = *a.RespAt
		}
		out = append(out, TraceStep{At: at, What: fmt.Sprintf("attempt %d part %d: %s", a.Attempt, a.Part, answer)})
	}
	for _, r := range t.Receipts {
		what := fmt.Sprintf("attempt %d part %d: receipt from %s: %s (stat %s", r.Attempt, r.Part, r.Operator, r.State, r.Stat)
		if r.Err != "" {
			what += ", err " + r.Err
		}
		if r.Code != "" {
			what += ", code " + r.Code
		}
		if r.Reason != "" {
			what += ", reason " + r.Reason
		}
		out = append(out, TraceStep{At: r.ReceivedAt, What: what + ")"})
	}
	if m.HeldAt != nil {
		what := "held"
		if m.Row == "held" && m.Reason != "" {
			what += ": " + m.Reason
		}
		if m.HoldRange != "" {
			what += " (range " + m.HoldRange + ")"
		}
		if m.Row != "held" && m.Row != "rejected" {
			what += "; released since"
		}
		out = append(out, TraceStep{At: *m.HeldAt, What: what})
	}
	if m.Row == "rejected" {
		at := m.AcceptedAt
		if n := len(out); n > 0 {
			at = out[n-1].At
		}
		out = append(out, TraceStep{At: at, What: fmt.Sprintf("rejected: %s %s", m.Reason, m.Detail)})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}
