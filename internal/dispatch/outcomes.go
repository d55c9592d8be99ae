package dispatch

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/internal/correlate"
	"github.com/smsgate/smsgate/internal/journal"
	"github.com/smsgate/smsgate/internal/message"
	"github.com/smsgate/smsgate/internal/policy"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/router"
)

// outcome is one message attempt's dispatch result.
type outcome struct {
	f     *flight
	op    *operator
	state message.State // Submitted, Unknown, Rejected, Failover
	// stripped: written again without what the SMSC returned, after
	// Postgres refused it.
	stripped bool
}

// writeOutcomes is the outcome lane's transaction: one attempt row per
// part (the ledger entry of a part charged at submit: billed in the
// transaction that records its outcome, invariant 5), the month
// aggregates once per batch, failovers parked for their next route, and
// the status events.
func (s *Stage) writeOutcomes(ctx context.Context, tx pgx.Tx, batch int64, os []*outcome) (journal.Effects, error) {
	now := time.Now()
	t := s.tables()
	nparts := 0
	for _, oc := range os {
		nparts += len(oc.f.parts)
	}
	rows := make([]store.AttemptRow, 0, nparts)
	type bill struct {
		row  int
		ev   int
		rate billing.Rate
		key  store.AccountMonth
	}
	bills := make([]bill, 0, nparts)
	keys := map[store.AccountMonth]struct{}{}
	evs := make([]message.Event, 0, len(os))
	silent := make([]bool, 0, len(os))
	var failovers []store.ParkedKey
	var tracks []*correlate.Msg
	var funds []store.FundsDelta     // reservations released, parts awaiting a receipt's charge
	firstRow := make([]int, len(os)) // each outcome's first attempt row
	for k, oc := range os {
		firstRow[k] = len(rows)
		f, m, op := oc.f, oc.f.m, oc.op.pol
		attempt := max(m.Attempt, 1)
		acct := t.Accounts[m.Account]
		rate, hasRate := t.Rates.Lookup(m.Account, m.Dest, m.Network, now)
		cost, costCur, costOnDeliv := t.RouteCost(m.Dest, m.Network, op.Name, now)
		if costOnDeliv {
			cost = 0 // recorded by the DELIVRD receipt
		}
		var key store.AccountMonth
		month := policy.MonthKey(now, nil)
		if acct != nil {
			month = policy.MonthKey(now, acct.Loc)
			key = store.AccountMonth{Account: acct.Name, Month: month}
		}
		ev := message.Event{ID: m.ID, Account: m.Account, Operator: op.Name, Network: m.Network, Parts: len(f.parts), At: now, Meta: m.Meta}
		fd := store.FundsDelta{Account: m.Account, Reserved: -billing.Amount(m.Reserved)}
		var awaitPart billing.Amount
		if acct != nil && acct.Funded() {
			awaitPart = perPart(t, m.Account, m.Dest, m.Network, now)
		}
		for i := range f.parts {
			p := &f.parts[i]
			r := store.AttemptRow{MessageID: m.ID, Gen: m.Gen, Part: int16(i + 1), Attempt: attempt, Parts: int16(len(f.parts)),
				Operator: op.Name, Bind: int16(p.bind), Seq: p.seq, SMSCID: p.smscID, SMSCKey: p.key, State: p.state,
				Code: uint32(p.status), SubmittedAt: p.submittedAt, RespAt: p.respAt, Account: m.Account, Destination: m.Dest,
				CountryPrefix: router.CountryPrefix(m.Dest), Network: m.Network, Month: month}
			if r.SubmittedAt.IsZero() {
				r.SubmittedAt = now
			}
			if p.state == message.Submitted || p.state == message.Unknown {
				if ev.SMSCIDs == nil {
					ev.SMSCIDs = make([]string, 0, len(f.parts))
				}
				ev.SMSCIDs = append(ev.SMSCIDs, message.SanitizeBytes(p.smscID))
			}
			// Charge on submit: an accepted part is billed now; an unknown
			// one only once a receipt proves the SMSC took it (§5).
			// A part whose charge a receipt decides stays committed
			// against the balance until then (until dlr.timeout at most);
			// without a receipt asked for, nothing will charge it.
			if m.DLR && hasRate && ((op.ChargeOnDeliv && (p.state == message.Submitted || p.state == message.Unknown)) || (!op.ChargeOnDeliv && p.state == message.Unknown)) {
				fd.Awaiting += awaitPart
			}
			if p.state == message.Submitted && !op.ChargeOnDeliv && hasRate && acct != nil {
				r.Charged, r.Cost, r.CostCurrency, r.Currency = true, cost, costCur, rate.Currency
				bills = append(bills, bill{row: len(rows), ev: len(evs), rate: rate, key: key})
				keys[key] = struct{}{}
				ev.Cost += cost
				ev.Currency = rate.Currency
			}
			rows = append(rows, r)
		}
		funds = append(funds, fd)
		switch oc.state {
		case message.Failover:
			tried := m.Tries()
			next := t.NextOperator(m.Dest, m.Network, m.ForcedRoute, tried, now, s.controls.Usable, rand.Float64())
			k := store.ParkedKey{ID: m.ID, Gen: m.Gen, Operator: next, Attempt: attempt + 1, Tried: tried}
			if next == "" {
				// Every route tried: back to the first after a pause.
				k.Operator, k.Tried = op.Name, nil
			}
			failovers = append(failovers, k)
			evs, silent = append(evs, ev), append(silent, true)
			continue
		case message.Rejected:
			ev.Status, ev.Reason, ev.Code = "rejected", "operator_rejected", f.permanent.Hex()
			ev.SMSCIDs = nil
		default:
			ev.Status = oc.state.String()
		}
		if f.track != nil {
			tracks = append(tracks, f.track)
		}
		// A rerouted message published `submitted` on its first attempt.
		evs, silent = append(evs, ev), append(silent, m.Rerouted && oc.state == message.Submitted)
	}
	var deltas map[[4]string]*store.MonthDelta
	if len(bills) > 0 {
		ks := make([]store.AccountMonth, 0, len(keys))
		for k := range keys {
			ks = append(ks, k)
		}
		counts, err := store.MonthCounts(ctx, tx, ks)
		if err != nil {
			return journal.Effects{}, err
		}
		added := map[store.AccountMonth]int64{}
		deltas = map[[4]string]*store.MonthDelta{}
		for _, b := range bills { // in batch order: tier ordinals follow billing order
			price := b.rate.PriceFor(counts[b.key] + added[b.key])
			added[b.key]++
			r := &rows[b.row]
			r.Price = price
			evs[b.ev].Price += price
			dk := [4]string{r.Account, r.Month, r.Operator, r.Currency}
			d := deltas[dk]
			if d == nil {
				d = &store.MonthDelta{Account: r.Account, Month: r.Month, Operator: r.Operator, Currency: r.Currency}
				deltas[dk] = d
			}
			d.Parts++
			d.Revenue += price
			if r.CostCurrency == r.Currency {
				d.Cost += r.Cost
			}
		}
	}
	if err := store.AppendAttempts(ctx, tx, batch, rows); err != nil {
		return journal.Effects{}, err
	}
	ds := make([]store.MonthDelta, 0, len(deltas))
	for _, d := range deltas {
		ds = append(ds, *d)
	}
	if err := store.AddMonth(ctx, tx, ds, funds...); err != nil {
		return journal.Effects{}, err
	}
	if _, err := store.Repark(ctx, tx, batch, failovers, message.Queued, time.Time{}); err != nil {
		return journal.Effects{}, err
	}
	events := make([]*kgo.Record, 0, len(evs))
	for i := range evs {
		if !silent[i] {
			events = append(events, s.topics.Status(&evs[i]))
		}
	}
	return journal.Effects{Events: events, After: func() {
		// The tracks learn what each part was charged, for the receipt's
		// status event.
		for k, oc := range os {
			tr := oc.f.track
			if tr == nil {
				continue
			}
			tr.Lock()
			for i := range oc.f.parts {
				r := &rows[firstRow[k]+i]
				if i < len(tr.Parts) && r.Charged {
					p := tr.Parts[i]
					p.Charged, p.Price, p.Cost, p.Cur = true, r.Price, r.Cost, r.Currency
				}
			}
			tr.Unlock()
		}
		s.index.Written(tracks, batch)
		for _, oc := range os {
			oc.f.m.Reserved = 0
			if s.o.OnSent != nil && (oc.state == message.Submitted || oc.state == message.Unknown) {
				s.o.OnSent(oc.f.m.Account, len(oc.f.parts))
			}
			s.unsettled.done(oc.f.m.Batch)
			if oc.state == message.Failover {
				s.m.failovers.WithLabelValues(oc.op.pol.Name).Inc()
			}
		}
		for _, r := range rows {
			if r.Charged && r.CostCurrency == r.Currency && r.Cost > r.Price {
				s.m.lossParts.WithLabelValues(r.Operator).Inc()
			}
		}
		if len(failovers) > 0 {
			s.KickUnpark()
		}
	}}, nil
}

// poisonOutcome handles an outcome Postgres refused alone. Its message may
// have reached the SMSC, so it is never rejected: it is written again
// without what the SMSC returned (ids), its parts unknown; if even that is
// refused it stays journaled without an outcome and is logged.
func (s *Stage) poisonOutcome(oc *outcome, err error) {
	if oc.stripped {
		s.log.Error("outcome refused by Postgres twice; the message has no outcome row",
			zap.String("id", message.Sanitize(oc.f.m.ID)), zap.Error(err))
		s.unsettled.done(oc.f.m.Batch)
		return
	}
	s.log.Warn("outcome refused by Postgres; written again as unknown without SMSC ids",
		zap.String("id", message.Sanitize(oc.f.m.ID)), zap.Error(err))
	oc.stripped = true
	for i := range oc.f.parts {
		p := &oc.f.parts[i]
		p.smscID, p.key = nil, ""
		if p.state == message.Submitted {
			p.state = message.Unknown
		}
	}
	if oc.state == message.Submitted {
		oc.state = message.Unknown
	}
	go s.outcomes.Submit(context.Background(), oc) // not from the lane's own goroutine: it may be full
}
