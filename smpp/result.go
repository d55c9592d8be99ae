package smpp

import (
	"fmt"
	"time"

	"github.com/smsgate/smsgate/smpp/pdu"
)

// Outcome says what is known about a submitted PDU.
type Outcome uint8

const (
	// Responded: the SMSC answered (submit_sm_resp or generic_nack); see
	// Result.Status and Result.Nack.
	Responded Outcome = iota
	// Unknown: the PDU was written to the socket but no response came
	// (resp_timeout, or the connection ended). The SMSC may have taken it:
	// do not resend blindly, wait for a receipt.
	Unknown
	// NotSent: the PDU never reached the socket. Safe to retry.
	NotSent
)

// String returns the outcome as a metric label / status value.
func (o Outcome) String() string {
	switch o {
	case Responded:
		return "responded"
	case Unknown:
		return "unknown"
	case NotSent:
		return "not_sent"
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// Result is the outcome of one Submit, passed to its done callback.
type Result struct {
	Outcome Outcome
	// Status is the command_status of the response (Responded only).
	Status pdu.Status
	// MessageID is the SMSC's id from a successful submit_sm_resp.
	MessageID string
	// Nack: the SMSC answered with generic_nack (permanent by contract).
	Nack bool
	// Err explains Unknown and NotSent (ErrRespTimeout, the session's
	// error), or a malformed submit_sm_resp body (MessageID then "").
	Err error
	// Latency from Submit queuing the PDU to its resolution.
	Latency time.Duration
	// Bind is the index of the bind it went out on and Seq its sequence
	// number there (for tracing a message).
	Bind int
	Seq  uint32
}

// Accepted reports whether the SMSC accepted the message.
func (r Result) Accepted() bool { return r.Outcome == Responded && r.Status == pdu.StatusOK && !r.Nack }

// Retryable reports whether sending the message again cannot duplicate it
// and may succeed: it never reached the SMSC, or the SMSC answered with a
// temporary status (throttled, queue full, system error, temporary
// application error). Unknown outcomes are never retryable.
func (r Result) Retryable() bool {
	switch r.Outcome {
	case NotSent:
		return true
	case Responded:
		return !r.Nack && r.Status.Temporary()
	}
	return false
}
