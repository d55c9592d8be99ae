package store

// State is a message's or part's lifecycle state as stored in Postgres.
type State int16

// States. The numeric values are stored; never renumber.
const (
	Queued        State = 0 // ready for its operator's dispatcher
	Sending       State = 1 // claimed by an instance; may be on the wire
	Submitted     State = 2 // every part accepted by the SMSC
	Unknown       State = 3 // sent, outcome unknown (timeout, disconnect, crash)
	Delivered     State = 4
	Undeliverable State = 5
	Expired       State = 6
	Rejected      State = 7
	Held          State = 8 // kept by traffic protection
	Scheduled     State = 9 // send_at in the future (schedule, quiet hours, back-off)
)

var stateNames = [...]string{"queued", "sending", "submitted", "unknown", "delivered", "undeliverable", "expired", "rejected", "held", "scheduled"}

// String returns the contract's status name.
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "invalid"
}

// Final reports whether no later state can follow.
func (s State) Final() bool {
	return s == Delivered || s == Undeliverable || s == Expired || s == Rejected
}

// rank orders states for the "never goes back" rule of the contract.
func (s State) rank() int {
	switch s {
	case Queued, Scheduled, Held:
		return 0
	case Sending:
		return 1
	case Submitted, Unknown:
		return 2
	}
	return 3
}

// Advances reports whether moving from s to next is allowed: final states
// never change, and a state never moves back (unknown may become submitted
// and vice versa only through a receipt, which is final).
func (s State) Advances(next State) bool {
	if s.Final() {
		return false
	}
	return next.rank() >= s.rank() && next != s
}
