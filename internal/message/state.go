// Package message is the vocabulary the pipeline stages share: a message
// as it travels through memory, its states, and the events published about
// it. It does no I/O.
package message

// State is the status of a message or of one of its parts. The numeric
// values are stored in Postgres; never renumber.
type State int16

// States. Queued, Sending, Held and Scheduled describe messages that have
// not reached an SMSC; Submitted and Unknown are after the wire; the rest
// are final.
const (
	Queued        State = 0 // waiting for its operator (memory or parked)
	Sending       State = 1 // journaled: may be on the wire
	Submitted     State = 2 // every part accepted by the SMSC
	Unknown       State = 3 // sent, outcome unknown (timeout, disconnect, crash)
	Delivered     State = 4
	Undeliverable State = 5
	Expired       State = 6
	Rejected      State = 7
	Held          State = 8 // kept by traffic protection
	Scheduled     State = 9 // waits for a time (send_at, quiet hours, window)
	// Failover marks an attempt that ended without any part accepted and
	// handed the message to the next route: the next attempt may follow.
	Failover State = 10
)

var stateNames = [...]string{"queued", "sending", "submitted", "unknown", "delivered", "undeliverable", "expired", "rejected", "held", "scheduled", "failover"}

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
	case Sending, Failover:
		return 1
	case Submitted, Unknown:
		return 2
	}
	return 3
}

// Advances reports whether moving from s to next is allowed: final states
// never change, and a state never moves back.
func (s State) Advances(next State) bool {
	if s.Final() {
		return false
	}
	return next.rank() >= s.rank() && next != s
}
