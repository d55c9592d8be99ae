package message

import "github.com/smsgate/smsgate/dlr"

// Aggregate maps the states of a message's parts to the message's state
// with dlr's rules: any part undeliverable makes it undeliverable, all
// delivered makes it delivered, otherwise the least advanced part decides
// (some operators send a receipt for the last part only: lastPartOnly).
func Aggregate(parts []State, lastPartOnly bool) State {
	var buf [16]dlr.PartStatus
	ps := buf[:0]
	for _, s := range parts {
		switch s {
		case Submitted:
			ps = append(ps, dlr.PartSubmitted)
		case Unknown:
			ps = append(ps, dlr.PartUnknown)
		case Delivered:
			ps = append(ps, dlr.PartDelivered)
		case Undeliverable:
			ps = append(ps, dlr.PartUndeliverable)
		case Expired:
			ps = append(ps, dlr.PartExpired)
		default:
			ps = append(ps, dlr.PartPending)
		}
	}
	var agg dlr.PartStatus
	if lastPartOnly {
		agg = dlr.AggregateLastPartOnly(ps)
	} else {
		agg = dlr.Aggregate(ps)
	}
	switch agg {
	case dlr.PartDelivered:
		return Delivered
	case dlr.PartUndeliverable:
		return Undeliverable
	case dlr.PartExpired:
		return Expired
	case dlr.PartUnknown:
		return Unknown
	case dlr.PartSubmitted:
		return Submitted
	}
	return Sending
}
