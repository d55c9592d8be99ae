package protect

// Message is what the checks read. Strings are not retained by the Guard
// except in reported holds (copied).
type Message struct {
	Account string
	// Sender is the `from` as given: alphanumeric or digits (a leading '+'
	// allowed).
	Sender string
	// Dest is the destination as E.164 digits; a leading '+' is ignored.
	Dest string
	// Text is the filled text (placeholders replaced).
	Text string
	// Operator is the operator the message will go to; empty at ingest
	// when the route is not chosen yet (then sender rules with an
	// operator do not apply, see Guard.Recheck).
	Operator string
}

// Action is what to do with a message.
type Action uint8

const (
	// Allow: send it (with Verdict.ReplacedSender as sender, when set).
	Allow Action = iota
	// Reject: never send it; final status rejected with Verdict.Reason.
	Reject
	// Hold: keep it (status held) until released or dropped.
	Hold
	// Monitor: send it, but a monitor-mode pumping trigger matched: count
	// it and alert. Verdict.Reason is fraud_hold.
	Monitor
)

func (a Action) String() string {
	switch a {
	case Allow:
		return "allow"
	case Reject:
		return "reject"
	case Hold:
		return "hold"
	case Monitor:
		return "monitor"
	}
	return "unknown"
}

// Reason is the `error.reason` of a rejected or held message (§6).
type Reason string

// Reasons, as in the interface.
const (
	ReasonNone             Reason = ""
	ReasonBlocked          Reason = "blocked"
	ReasonFraudHold        Reason = "fraud_hold"
	ReasonContent          Reason = "content"
	ReasonSenderNotAllowed Reason = "sender_not_allowed"
	ReasonLoop             Reason = "loop"
)

// Verdict is the outcome of Check. The zero Verdict allows the message
// unchanged.
type Verdict struct {
	Action Action
	Reason Reason
	// ReplacedSender, when not empty, is the sender to use instead of
	// Message.Sender (a sender rule's replace_with). It is set on Allow
	// and Monitor verdicts.
	ReplacedSender string
	// Range is the pumping range (account's destination prefix) for
	// fraud_hold verdicts, as listed by GET /api/v1/holds.
	Range string
	// Detail says which rule decided, for error.detail; it is a constant
	// or a configured pattern, never formatted per message.
	Detail string
}
