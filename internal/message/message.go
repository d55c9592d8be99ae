package message

import (
	"time"

	"github.com/smsgate/smsgate/smpp/coding"
)

// Message is one accepted sms.submit record (or an auto-reply) on its way
// to an SMSC. Ingest fills it from a validated record; the dispatcher and
// the journal add routing and bookkeeping. One goroutine owns it at a time:
// it is handed on, never shared.
type Message struct {
	ID        string
	Account   string
	Sender    string
	Dest      string // E.164 digits
	Body      string // placeholders filled
	Encoding  coding.Encoding
	DLR       bool
	Marketing bool
	Priority  uint8 // 0–9, higher first
	Parts     uint8
	// Reserved is what the intent lane reserved of the account's balance
	// for this attempt (micros), released when its outcome is written.
	Reserved    int64
	ExpiresAt   time.Time // zero: none
	ForcedRoute string
	Meta        []byte    // the record's meta object as given, or nil
	Network     string    // MCC+MNC, "" unknown
	CreatedAt   time.Time // when it was accepted

	// Operator is the route of the current attempt; Tried the operators of
	// earlier attempts; Attempt the current attempt's number (from 1).
	Operator string
	Tried    []string
	Attempt  int16
	// Rerouted: sent again after a failed receipt; its later attempts do
	// not publish a second "submitted".
	Rerouted bool

	// Partition and Offset locate the sms.submit record (Partition < 0 for
	// messages made inside smsgate, such as auto-replies).
	Partition int32
	Offset    int64

	// Gen is the journal partition of its row once it has one. Parked is
	// set while its row is a parked row: the journal step claims that row
	// instead of inserting one.
	Gen    int32
	Parked bool
	// Batch is the journal batch that wrote its intent (recovery looks for
	// intents without outcome by batch).
	Batch int64
}

// Tries returns the operators tried so far including the current one.
func (m *Message) Tries() []string {
	out := make([]string, 0, len(m.Tried)+1)
	out = append(out, m.Tried...)
	if m.Operator != "" {
		out = append(out, m.Operator)
	}
	return out
}

// Expired reports whether the message may no longer be sent at now.
func (m *Message) Expired(now time.Time) bool {
	return !m.ExpiresAt.IsZero() && !m.ExpiresAt.After(now)
}
