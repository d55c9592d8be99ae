package smpp

import (
	"errors"
	"fmt"

	"github.com/smsgate/smsgate/smpp/pdu"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrClosed: the session is closed or closing; the PDU was not queued.
	ErrClosed = errors.New("smpp: session closed")
	// ErrReceiverBind: Submit on a receiver bind.
	ErrReceiverBind = errors.New("smpp: receiver bind cannot submit")
	// ErrEnquireLinkTimeout: the SMSC stayed silent after an enquire_link
	// (half-open TCP or a hung peer); the session ended.
	ErrEnquireLinkTimeout = errors.New("smpp: no answer to enquire_link")
	// ErrRespTimeout is Result.Err of a submit_sm that got no response
	// within RespTimeout.
	ErrRespTimeout = errors.New("smpp: no response within resp_timeout")
	// ErrPeerUnbind: the SMSC sent unbind; the session answered and ended.
	ErrPeerUnbind = errors.New("smpp: unbound by the SMSC")
	// ErrProtocol: the SMSC broke the protocol during the bind.
	ErrProtocol = errors.New("smpp: protocol error")
	// ErrNilCallback: Submit was called without a done callback.
	ErrNilCallback = errors.New("smpp: nil done callback")
)

// BindError is returned by Dial when the SMSC refuses the bind, with the
// status of its bind_resp (or generic_nack, then Nack is true). It unwraps
// to the pdu.Status, so errors.Is(err, pdu.ErrInvPaswd) works.
type BindError struct {
	Status pdu.Status
	Nack   bool
}

func (e *BindError) Error() string {
	if e.Nack {
		return fmt.Sprintf("smpp: bind refused with generic_nack: %v", e.Status)
	}
	return fmt.Sprintf("smpp: bind refused: %v", e.Status)
}

// Unwrap returns the status.
func (e *BindError) Unwrap() error { return e.Status }

// Temporary reports whether binding again soon may succeed. Wrong
// credentials (ESME_RINVPASWD, ESME_RINVSYSID, ESME_RINVSERTYP) and
// unknown statuses are not temporary: retry only after a long back-off,
// or an operator would see a storm of failed logins. Already bound, bind
// failed, system error, throttled and queue full are.
func (e *BindError) Temporary() bool {
	switch e.Status {
	case pdu.ErrAlyBnd, pdu.ErrBindFail, pdu.ErrSysErr, pdu.ErrThrottled, pdu.ErrMsgQFul, pdu.ErrXTAppn:
		return true
	}
	return false
}
