package ingest

import (
	"errors"
	"time"

	"github.com/smsgate/smsgate/internal/message"
	"github.com/smsgate/smsgate/internal/policy"
	"github.com/smsgate/smsgate/numbering"
	"github.com/smsgate/smsgate/protect"
	"github.com/smsgate/smsgate/router"
	"github.com/smsgate/smsgate/smpp/coding"
)

// decision is what ingest does with a valid record.
type decision struct {
	m *message.Message
	// state: Sending (to its operator's queue), Queued (parked, due now:
	// its operator cannot take it here now), Scheduled (parked until due),
	// Held (parked until released), Rejected (a row and an event).
	state     message.State
	due       time.Time
	reason    string
	detail    string
	holdRange string
}

// decide turns a decoded record into a decision. Rules of the contract that
// make a valid record end `rejected` (no route, expired, protection) give a
// Rejected decision; malformed records give an *invalidError.
func (s *Stage) decide(t *policy.Tables, sr *submitRecord, rnd float64, now time.Time) (decision, error) {
	acct, ok := t.Accounts[sr.Account]
	if !ok {
		return decision{}, invalid("unknown account %q", sr.Account)
	}
	country := acct.Country
	if country == "" {
		country = t.DefaultCountry
	}
	dest, err := router.NormalizeMSISDN(sr.To, country)
	if err == nil && s.nets != nil {
		err = numbering.Validate(dest) // impossible numbers, with the reason
	}
	if err != nil {
		return decision{}, invalid("bad destination %q: %v", sr.To, err)
	}
	if err := checkSender(sr.From); err != nil {
		return decision{}, err
	}
	sender := sr.From
	if len(sender) > 1 && sender[0] == '+' && isDigits(sender[1:]) {
		sender = sender[1:] // numeric senders travel as digits with TON international
	}
	text, err := fillPlaceholders(*sr.Text, sr.Params)
	if err != nil {
		return decision{}, err
	}
	if text == "" {
		return decision{}, invalid("text is empty")
	}
	reqEnc, _, err := coding.ParseEncoding(sr.Encoding)
	if err != nil {
		return decision{}, invalid("%v", err)
	}
	enc, err := coding.Choose(text, reqEnc)
	if err != nil {
		return decision{}, invalid("%v", err)
	}
	parts := coding.CountParts(text, enc, coding.UDH8)
	if parts > t.MaxParts {
		return decision{}, invalid("text needs %d parts, limits.max_parts is %d", parts, t.MaxParts)
	}
	if sr.Route != "" && !s.health.Known(sr.Route) {
		return decision{}, invalid("route names unknown operator %q", sr.Route)
	}
	m := &message.Message{ID: sr.ID, Account: sr.Account, Sender: sender, Dest: dest, Body: text, Encoding: enc,
		DLR: sr.DLR == nil || *sr.DLR, Marketing: sr.Kind == "marketing", Parts: uint8(parts), ForcedRoute: sr.Route,
		CreatedAt: now, Attempt: 1}
	if len(sr.Meta) > 0 && string(sr.Meta) != "null" {
		m.Meta = sr.Meta
	}
	if sr.Priority != nil {
		m.Priority = uint8(*sr.Priority)
	}
	if sr.ExpiresAt != nil {
		m.ExpiresAt = *sr.ExpiresAt
	}
	if s.nets != nil {
		m.Network = s.nets.Network(dest)
	}
	d := decision{m: m, state: message.Sending}
	if sr.ExpiresAt != nil && !sr.ExpiresAt.After(now) {
		d.state, d.reason, d.detail = message.Rejected, "expired", "expires_at "+sr.ExpiresAt.UTC().Format(time.RFC3339)+" has passed"
		return d, nil
	}
	if sr.SendAt != nil && sr.SendAt.After(now) {
		d.state, d.due = message.Scheduled, *sr.SendAt
	}
	route, err := t.Route(dest, m.Network, sr.Route, nil, now, s.health.Usable, rnd)
	if errors.Is(err, policy.ErrNoRoute) {
		d.state, d.reason, d.detail = message.Rejected, "no_route", "no route for "+dest
		return d, nil
	}
	m.Operator = route.Operator
	switch {
	case !route.OpensAt.IsZero():
		// Every route is outside its time window: wait for the first to open.
		if route.OpensAt.After(d.due) {
			d.state, d.due = message.Scheduled, route.OpensAt
		}
	case !route.Ready && d.state == message.Sending:
		d.state, d.due = message.Queued, now // waits for its operator, parked
	}
	if s.guard != nil {
		v := s.guard.Check(&protect.Message{Account: m.Account, Sender: m.Sender, Dest: m.Dest, Text: m.Body, Operator: m.Operator}, now)
		switch v.Action {
		case protect.Reject:
			d.state, d.reason, d.detail, d.due = message.Rejected, string(v.Reason), v.Detail, time.Time{}
			return d, nil
		case protect.Hold:
			d.state, d.reason, d.detail, d.holdRange, d.due = message.Held, string(v.Reason), v.Detail, v.Range, infinity
			return d, nil
		default:
			if v.ReplacedSender != "" {
				m.Sender = v.ReplacedSender
			}
		}
	}
	if m.Marketing {
		if until := t.Quiet.DeferUntil(now.In(policy.DestLocation(dest, acct.Loc))); !until.IsZero() && until.After(d.due) {
			d.state, d.due = message.Scheduled, until
		}
	}
	return d, nil
}

// infinity is the due time of a held message: never, until released.
var infinity = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// checkSender accepts an alphanumeric sender of at most 11 characters or a
// number of at most 20 digits (with an optional +).
func checkSender(from string) error {
	digits := true
	s := from
	if len(s) > 0 && s[0] == '+' {
		s = s[1:]
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			digits = false
			break
		}
	}
	if digits && s != "" {
		if len(s) > 20 {
			return invalid("from %q: a numeric sender has at most 20 digits", from)
		}
		return nil
	}
	if n := runeCount(from); n > 11 {
		return invalid("from %q: an alphanumeric sender has at most 11 characters, not %d", from, n)
	}
	if enc, err := coding.Choose(from, coding.GSM7); err != nil || enc != coding.GSM7 {
		return invalid("from %q: an alphanumeric sender must be GSM 03.38 characters", from)
	}
	return nil
}

func runeCount(s string) int {
	n := 0
	for range s {
		n++
	}
	return n
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
