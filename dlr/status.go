package dlr

// PartStatus is the status of one message part, and (via Aggregate) of a
// whole message, in the vocabulary of sms.status (§1.2).
type PartStatus uint8

// Part statuses. The order of the constants is not the order of progress:
// see Advance.
const (
	PartPending       PartStatus = iota // not yet sent (or being retried)
	PartSubmitted                       // accepted by the SMSC (submit_sm_resp 0), no final receipt
	PartUnknown                         // sent, outcome unknown (no submit_sm_resp)
	PartDelivered                       // final
	PartUndeliverable                   // final: UNDELIV, REJECTD or DELETED
	PartExpired                         // final: EXPIRED, or dlr.timeout
)

var partNames = [...]string{"pending", "submitted", "unknown", "delivered", "undeliverable", "expired"}

// String returns the sms.status spelling ("delivered"); "pending" has no
// event of its own.
func (p PartStatus) String() string {
	if int(p) < len(partNames) {
		return partNames[p]
	}
	return "invalid"
}

// Final reports delivered, undeliverable and expired.
func (p PartStatus) Final() bool {
	return p == PartDelivered || p == PartUndeliverable || p == PartExpired
}

// rank orders statuses by progress. Unknown ranks below submitted because a
// message is "submitted" only when every part was accepted: a part whose
// submit_sm_resp never came holds the message at "unknown", and a late
// answer (or a retry with retry_unknown) may move it on to "submitted".
func (p PartStatus) rank() int {
	switch p {
	case PartPending:
		return 0
	case PartUnknown:
		return 1
	case PartSubmitted:
		return 2
	}
	return 3
}

// Aggregate computes a message's status from its parts:
//   - undeliverable as soon as any part is (the message cannot be whole);
//   - delivered when every part is delivered;
//   - expired when any part expired and all parts are final;
//   - otherwise the least advanced non-final part: pending, then unknown,
//     then submitted. A message is "submitted" only when every part is at
//     least submitted.
//
// No parts gives PartPending.
func Aggregate(parts []PartStatus) PartStatus {
	if len(parts) == 0 {
		return PartPending
	}
	least, haveLeast := PartPending, false
	allDelivered, anyExpired := true, false
	for _, p := range parts {
		switch p {
		case PartUndeliverable:
			return PartUndeliverable
		case PartDelivered:
		case PartExpired:
			anyExpired = true
			allDelivered = false
		default:
			allDelivered = false
			if p > PartExpired {
				p = PartPending // not a status: treat as not yet sent
			}
			if !haveLeast || p.rank() < least.rank() {
				least, haveLeast = p, true
			}
		}
	}
	switch {
	case allDelivered:
		return PartDelivered
	case haveLeast:
		return least
	case anyExpired:
		return PartExpired
	}
	return PartPending // unreachable: every case above covers a non-empty input
}

// AggregateLastPartOnly is Aggregate for operators that send one receipt,
// for the last part only: once the last part (parts[len-1]) has a final
// status, every part still without one takes that status, and the result is
// Aggregate of that. A final status another part did get (an UNDELIV or
// EXPIRED receipt) still counts. Until then it is Aggregate(parts).
func AggregateLastPartOnly(parts []PartStatus) PartStatus {
	if len(parts) == 0 {
		return PartPending
	}
	last := parts[len(parts)-1]
	if !last.Final() {
		return Aggregate(parts)
	}
	out := last
	for _, p := range parts {
		switch {
		case p == PartUndeliverable:
			return PartUndeliverable
		case p == PartExpired && out == PartDelivered:
			out = PartExpired
		}
	}
	return out
}

// Advance returns the status to publish when a message at cur computes
// next, and whether that is a change. A message's status never goes back
// (§1.2): a final status never changes, and among non-final ones only
// pending → unknown → submitted → final moves are taken. Values that are
// not a PartStatus are refused. In particular
// submitted → unknown is refused: unknown means no submit_sm_resp, so once
// every part was accepted a later "unknown" can only come from a stale
// update. pending is never published again once left.
func Advance(cur, next PartStatus) (PartStatus, bool) {
	if cur.Final() || next == cur || next > PartExpired {
		return cur, false
	}
	if next.rank() <= cur.rank() {
		return cur, false
	}
	return next, true
}
