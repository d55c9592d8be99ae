package dlr

// State is a delivery state as an SMSC reports it, in a receipt's stat:
// field or in the message_state TLV (0x0427). The numeric values equal the
// SMPP 3.4 message_state values, so the zero value means "no state".
type State uint8

// States, numbered as SMPP 3.4 §5.2.28 message_state.
const (
	StateNone          State = 0 // absent or not recognised
	StateEnroute       State = 1 // ENROUTE
	StateDelivered     State = 2 // DELIVRD
	StateExpired       State = 3 // EXPIRED
	StateDeleted       State = 4 // DELETED
	StateUndeliverable State = 5 // UNDELIV
	StateAccepted      State = 6 // ACCEPTD
	StateUnknown       State = 7 // UNKNOWN
	StateRejected      State = 8 // REJECTD
)

var stateNames = [...]string{"", "ENROUTE", "DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD"}

// String returns the 7-letter receipt form ("DELIVRD"), or "" for StateNone
// and out-of-range values.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return ""
}

// Final reports whether the state ends the part's life: DELIVRD, UNDELIV,
// REJECTD, EXPIRED and DELETED.
//
// SMPP 3.4 also calls ACCEPTD and UNKNOWN final, but operators send ACCEPTD
// as "accepted by the SMSC" before the real outcome and UNKNOWN when they do
// not know yet; treating them as final would freeze a message that a later
// DELIVRD would resolve.
func (s State) Final() bool {
	switch s {
	case StateDelivered, StateUndeliverable, StateRejected, StateExpired, StateDeleted:
		return true
	}
	return false
}

// PartStatus maps the state to what it means for one message part:
// delivered; undeliverable for UNDELIV, REJECTD and DELETED (deleted by the
// SMSC, so never delivered); expired; unknown for UNKNOWN; submitted for
// ENROUTE and ACCEPTD (the SMSC has it, no outcome yet). StateNone maps to
// PartPending with ok=false: a receipt without a usable state changes nothing.
func (s State) PartStatus() (p PartStatus, ok bool) {
	switch s {
	case StateDelivered:
		return PartDelivered, true
	case StateUndeliverable, StateRejected, StateDeleted:
		return PartUndeliverable, true
	case StateExpired:
		return PartExpired, true
	case StateUnknown:
		return PartUnknown, true
	case StateEnroute, StateAccepted:
		return PartSubmitted, true
	}
	return PartPending, false
}

// ParseState reads a receipt stat: value, case-insensitively: the 7-letter
// forms (DELIVRD, UNDELIV, REJECTD, EXPIRED, DELETED, ACCEPTD, UNKNOWN,
// ENROUTE), the full words (DELIVERED, UNDELIVERABLE, REJECTED, ACCEPTED),
// the variants UNDELIVERED and REJECT, and a single digit 1..8 (the
// message_state number, which a few SMSCs put in the text). Surrounding
// spaces and NULs are ignored. It does not allocate.
func ParseState(s string) (State, bool) {
	s = trimSpaceNUL(s)
	if len(s) == 1 && s[0] >= '1' && s[0] <= '8' {
		return State(s[0] - '0'), true
	}
	var buf [16]byte
	if len(s) > len(buf) {
		return StateNone, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		buf[i] = c
	}
	switch string(buf[:len(s)]) {
	case "DELIVRD", "DELIVERED":
		return StateDelivered, true
	case "UNDELIV", "UNDELIVERABLE", "UNDELIVERED":
		return StateUndeliverable, true
	case "REJECTD", "REJECTED", "REJECT":
		return StateRejected, true
	case "EXPIRED":
		return StateExpired, true
	case "DELETED":
		return StateDeleted, true
	case "ACCEPTD", "ACCEPTED":
		return StateAccepted, true
	case "UNKNOWN":
		return StateUnknown, true
	case "ENROUTE":
		return StateEnroute, true
	}
	return StateNone, false
}

// FromMessageState maps the message_state TLV (0x0427) value: 1 ENROUTE,
// 2 DELIVERED, 3 EXPIRED, 4 DELETED, 5 UNDELIVERABLE, 6 ACCEPTED,
// 7 UNKNOWN, 8 REJECTED. Other values give ok=false.
func FromMessageState(v byte) (State, bool) {
	if v >= 1 && v <= 8 {
		return State(v), true
	}
	return StateNone, false
}

// isSpaceNUL reports the separators receipts use between fields: spaces,
// tabs, line breaks and NULs (C strings padded or copied whole).
func isSpaceNUL(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0 || c == '\v' || c == '\f'
}

func trimSpaceNUL(s string) string {
	for len(s) > 0 && isSpaceNUL(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpaceNUL(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}
