package billing

import (
	"fmt"
	"time"
)

// Entry is one ledger row: one billed message part (per delivery attempt,
// when a reroute sends the message again). The ledger's key is (MessageID,
// Part, Attempt); inserting with that key unique is what makes billing
// happen at most once however often an event is replayed.
type Entry struct {
	MessageID     string
	Part          int // 1..parts
	Attempt       int // 1 for the first attempt
	Account       string
	Operator      string
	Destination   string
	CountryPrefix string // country calling code, e.g. "995"
	Network       string // MCC+MNC when known
	SubmittedAt   time.Time
	Status        string // the part's current status: submitted, delivered, undeliverable, expired, unknown
	Cost          Amount // operator cost of this part
	Price         Amount // customer price of this part (0 for a failed attempt that only carries cost)
	Currency      string // currency of Price
	CostCurrency  string // currency of Cost
}

// Row returns the entry as a billing export line.
func (e Entry) Row() BillingRow {
	return BillingRow{
		MessageID:     e.MessageID,
		Part:          e.Part,
		Account:       e.Account,
		Operator:      e.Operator,
		Destination:   e.Destination,
		CountryPrefix: e.CountryPrefix,
		SubmittedAt:   e.SubmittedAt,
		Status:        e.Status,
		Cost:          e.Cost,
		Price:         e.Price,
		Currency:      e.Currency,
	}
}

// ChargeOn is an operator's charging policy (config `charge_on`, and the
// same values for a route's `cost_on`).
type ChargeOn string

// Charging policies.
const (
	ChargeOnSubmit    ChargeOn = "submit"    // billed once the SMSC accepted the part (default)
	ChargeOnDelivered ChargeOn = "delivered" // billed only once a receipt says delivered
)

// ParseChargeOn reads a config value; "" means the default, submit.
func ParseChargeOn(s string) (ChargeOn, error) {
	switch ChargeOn(s) {
	case "", ChargeOnSubmit:
		return ChargeOnSubmit, nil
	case ChargeOnDelivered:
		return ChargeOnDelivered, nil
	}
	return "", fmt.Errorf("charge policy %q: want submit or delivered", s)
}

// PartEvent is something that happened to one message part.
type PartEvent string

// Part events, as the gateway sees them.
const (
	// EventAccepted: submit_sm_resp with status 0.
	EventAccepted PartEvent = "accepted"
	// EventUnknown: sent, but no answer (connection lost, resp_timeout).
	EventUnknown PartEvent = "unknown"
	// EventReceiptDelivered: a receipt from the SMSC said DELIVRD.
	EventReceiptDelivered PartEvent = "receipt_delivered"
	// EventReceiptFailed: a receipt from the SMSC said UNDELIV, REJECTD,
	// EXPIRED or similar. A local dlr_timeout is not a receipt and must
	// not be reported as this event.
	EventReceiptFailed PartEvent = "receipt_failed"
	// EventRejected: the SMSC refused the part (permanent submit_sm_resp
	// error or generic_nack), or it was never sent.
	EventRejected PartEvent = "rejected"
)

// ShouldBill reports whether, under policy chargeOn, event makes the part
// billable (interface §5). Use it for the customer price with the
// operator's charge_on and for the operator cost with the route's cost_on.
//
//   - rejected parts are never billed;
//   - submit: billed when accepted, or — for a part whose outcome was
//     unknown, or whose receipt beat its submit_sm_resp — when any receipt
//     arrives, since a receipt proves the SMSC took the part;
//   - delivered: billed only on a DELIVRD receipt.
//
// It answers for one event in isolation; a caller may get true several
// times for the same part (accepted, then a receipt) and relies on the
// ledger key to bill it once. Unknown policies or events are never billed.
func ShouldBill(chargeOn ChargeOn, event PartEvent) bool {
	switch chargeOn {
	case ChargeOnSubmit:
		return event == EventAccepted || event == EventReceiptDelivered || event == EventReceiptFailed
	case ChargeOnDelivered:
		return event == EventReceiptDelivered
	}
	return false
}
