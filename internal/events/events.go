// Package events builds and republishes what smsgate publishes: status
// events on sms.status and received messages on sms.mo. Events are
// produced after the batch that causes them commits (journal.Publisher);
// this package derives a message's current status from its journal rows
// for duplicates, recovery and the republishing of batches whose events
// were lost.
package events

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/smsgate/smsgate/dlr"
	"github.com/smsgate/smsgate/internal/message"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/smpp/pdu"
)

// Topics names the output topics.
type Topics struct{ StatusTopic, MOTopic string }

// Status is a status event as a record, keyed by the message id so one
// message's events share a partition and keep their order.
func (t Topics) Status(ev *message.Event) *kgo.Record {
	// Key and value share one allocation sized for a typical event (the
	// record and its bytes are most of the events' garbage).
	n := len(ev.ID)
	buf := make([]byte, n, n+384)
	copy(buf, ev.ID)
	return &kgo.Record{Topic: t.StatusTopic, Key: buf[:n:n], Value: ev.AppendJSON(buf[n:n])}
}

// MORecord is a received message as a record, keyed by the sender.
func (t Topics) MORecord(id string, mo *dlr.MO) *kgo.Record {
	ev := message.MOEvent{ID: id, MO: mo}
	return &kgo.Record{Topic: t.MOTopic, Key: []byte(mo.From), Value: ev.Marshal()}
}

// LastPartOnly tells whether an operator sends a receipt for the last part
// of a multipart message only.
type LastPartOnly func(operator string) bool

// Derive computes a message's current status event from its rows; ok is
// false while it has no status to publish yet (in flight for the first
// time, parked before any attempt).
func Derive(v *store.MessageView, lastPartOnly LastPartOnly, at time.Time) (message.Event, bool) {
	ev := message.Event{ID: v.ID, Account: v.Account, Operator: v.Operator, Network: v.Network, Parts: int(v.Parts), At: at, Meta: v.Meta}
	switch v.RowState {
	case message.Rejected:
		ev.Status, ev.Reason, ev.Detail = "rejected", v.Reason, v.Detail
		ev.Operator = ""
		return ev, true
	case message.Held:
		ev.Status, ev.Reason, ev.Detail = "held", v.Reason, v.Detail
		return ev, true
	}
	if len(v.Latest) == 0 {
		return ev, false
	}
	latestAttempt := v.Latest[0].Attempt
	ev.Operator = operatorOf(v)
	states := make([]message.State, len(v.Latest))
	var permanent *store.PartView
	allFailover := true
	for i := range v.Latest {
		p := &v.Latest[i]
		states[i] = p.State
		if p.State != message.Failover {
			allFailover = false
		}
		if p.State == message.Rejected && permanent == nil {
			permanent = p
		}
		if p.State != message.Rejected && p.State != message.Failover {
			ev.SMSCIDs = append(ev.SMSCIDs, message.SanitizeBytes(p.SMSCID))
		}
		if p.Final {
			ev.PartsDone++
		}
		if p.Charged {
			ev.Price += p.Price
			ev.Cost += p.Cost
			ev.Currency = p.Currency
		}
	}
	ev.Price += v.ChargedPrice
	ev.Cost += v.ChargedCost
	if ev.Currency == "" {
		ev.Currency = v.ChargeCurrency
	}
	if ev.Currency == "" {
		ev.Price, ev.Cost = 0, 0
	}
	// A newer attempt is pending (parked or journaled after a reroute or a
	// failover): the message is not final whatever the older one says.
	pending := latestAttempt < v.Attempt || v.RowState == message.Queued || v.RowState == message.Scheduled
	if allFailover {
		return ev, false
	}
	agg := message.Aggregate(states, lastPartOnly != nil && lastPartOnly(operatorOf(v)))
	switch {
	case permanent != nil && !pending:
		ev.Status, ev.Reason, ev.Code = "rejected", "operator_rejected", pdu.Status(permanent.Status).Hex()
		ev.SMSCIDs = nil
		return ev, true
	case pending:
		if agg == message.Sending || permanent != nil {
			return ev, false
		}
		ev.Status = "submitted"
		return ev, true
	}
	if agg == message.Sending {
		return ev, false
	}
	ev.Status = agg.String()
	if agg.Final() && agg != message.Delivered {
		for i := range v.Latest {
			p := &v.Latest[i]
			if p.State == agg && (p.Reason != "" || p.Code != "") {
				ev.Reason, ev.Code = p.Reason, p.Code
				break
			}
		}
	}
	return ev, true
}

// operatorOf is the operator of the latest attempt's rows.
func operatorOf(v *store.MessageView) string { return v.Operator }

// currentEvents derives the current status event of each id that has one,
// reading the rows 5,000 messages at a time; keep (nil: all) chooses which
// to return.
func currentEvents(ctx context.Context, q store.Querier, t Topics, lastPartOnly LastPartOnly, ids []string,
	keep func(id string, ev *message.Event) bool) ([]*kgo.Record, error) {
	now := time.Now()
	var out []*kgo.Record
	for len(ids) > 0 {
		n := min(len(ids), 5000)
		views, err := store.LoadViews(ctx, q, ids[:n])
		if err != nil {
			return nil, err
		}
		for _, id := range ids[:n] {
			if v := views[id]; v != nil {
				if ev, ok := Derive(v, lastPartOnly, now); ok && (keep == nil || keep(id, &ev)) {
					out = append(out, t.Status(&ev))
				}
			}
		}
		ids = ids[n:]
	}
	return out, nil
}

// Republish rebuilds the events of batches: each message touched gets its
// current status once (at-least-once; never an earlier state than what
// the rows say now), each MO stored by them its event again.
func Republish(ctx context.Context, q store.Querier, t Topics, lastPartOnly LastPartOnly, batches []int64) ([]*kgo.Record, error) {
	ids, err := store.BatchMessages(ctx, q, batches)
	if err != nil {
		return nil, err
	}
	out, err := currentEvents(ctx, q, t, lastPartOnly, ids, nil)
	if err != nil {
		return nil, err
	}
	mos, err := store.BatchMO(ctx, q, batches)
	if err != nil {
		return nil, err
	}
	for i := range mos {
		r := &mos[i]
		mo := &dlr.MO{Operator: r.Operator, From: r.From, To: r.To, Text: r.Text, Parts: int(r.Parts), Keyword: r.Keyword,
			ReceivedAt: r.ReceivedAt.UTC(), Incomplete: r.Incomplete}
		for _, p := range r.PartsMissing {
			mo.PartsMissing = append(mo.PartsMissing, int(p))
		}
		out = append(out, t.MORecord(r.ID, mo))
	}
	return out, nil
}
