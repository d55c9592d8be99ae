package gateway

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/dlr"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/router"
)

// outcome is a message's dispatch result, written by the outcome writer.
type outcome struct {
	m        *inflightMsg
	state    store.State
	reason   string
	code     string
	detail   string
	failover bool
	// deferred: held back by its route's time window before anything was
	// sent (windowHold): state Queued for deferOp, or Scheduled until
	// deferUntil; nothing is published.
	deferred   bool
	deferOp    string
	deferUntil time.Time
}

// outcomeWriter batches dispatch outcomes from every operator into one
// transaction: parts, message states, ledger rows (invariant 5: billed in
// the transaction that records the outcome) and status events.
type outcomeWriter struct {
	g  *Gateway
	ch chan *outcome
}

func newOutcomeWriter(g *Gateway, size int) *outcomeWriter {
	return &outcomeWriter{g: g, ch: make(chan *outcome, size)}
}

// send queues an outcome. It blocks when the writer is behind: that is the
// back-pressure that keeps claimed messages bounded (invariant 6).
func (w *outcomeWriter) send(ctx context.Context, o *outcome) {
	select {
	case w.ch <- o:
	case <-ctx.Done():
	}
}

// run writes batches until ctx ends, then flushes what is queued (the
// shutdown order drains windows into this channel first).
func (w *outcomeWriter) run(ctx context.Context) error {
	b := newBatcher(w.ch, w.g.opts.OutcomeBatch, w.g.opts.OutcomeLinger)
	for {
		batch, ok := b.next(ctx)
		if !ok {
			return w.flushRemaining()
		}
		w.writeWithRetry(ctx, batch)
	}
}

func (w *outcomeWriter) flushRemaining() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		batch := make([]*outcome, 0, w.g.opts.OutcomeBatch)
	drain:
		for len(batch) < cap(batch) {
			select {
			case o := <-w.ch:
				batch = append(batch, o)
			default:
				break drain
			}
		}
		if len(batch) == 0 {
			return nil
		}
		w.writeWithRetry(ctx, batch)
		if ctx.Err() != nil {
			return nil
		}
	}
}

// writeWithRetry retries a failed batch until it is written or ctx ends.
// Messages whose outcome is never written stay Sending and are recovered as
// Unknown after a restart: never resent blindly (invariant 4).
func (w *outcomeWriter) writeWithRetry(ctx context.Context, batch []*outcome) {
	backoff := 100 * time.Millisecond
	for {
		start := time.Now()
		// The write itself is not cancelled by shutdown: a batch cut off
		// mid-transaction would leave its messages claimed, to come back as
		// unknown. Shutdown only stops retrying after a failure.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		err := w.write(wctx, batch)
		cancel()
		if err == nil {
			for _, o := range batch {
				if d := w.g.disp[o.m.operator]; d != nil {
					d.open.Add(-1)
					d.kick()
				}
			}
			w.g.metrics.dbBatch.WithLabelValues("outcome").Observe(time.Since(start).Seconds())
			w.g.publisher.kick()
			w.g.kickEarlyMatcher()
			return
		}
		if ctx.Err() != nil {
			return
		}
		w.g.log.Warn("outcome batch not written; retrying", zap.Int("messages", len(batch)), zap.Error(err))
		if !sleepCtx(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (w *outcomeWriter) write(ctx context.Context, batch []*outcome) error {
	g := w.g
	t := g.tables.Load()
	now := time.Now()
	var parts []store.PartRow
	var ups []store.MessageUpdate
	var ledger []store.LedgerRow
	var events []store.OutboxRow
	type evIdx struct {
		o      *outcome
		ev     statusEvent
		silent bool // not published (see below)
	}
	evs := make([]evIdx, 0, len(batch))

	// Volume tiers need each account's month-to-date count, locked.
	keys := map[store.AccountMonth]struct{}{}
	for _, o := range batch {
		if o.state == store.Submitted || o.state == store.Unknown || o.state == store.Rejected {
			if a, ok := t.accounts[o.m.c.Account]; ok {
				keys[store.AccountMonth{Account: a.name, Month: monthKey(now, a.loc)}] = struct{}{}
			}
		}
	}
	return pgx.BeginFunc(ctx, g.store.Pool, func(tx pgx.Tx) error {
		ledger, parts, ups, events = ledger[:0], parts[:0], ups[:0], events[:0]
		evs = evs[:0]
		// Prices depend on the account's month-to-date count (tiers), whose
		// row is locked until commit; it is read after the bulk of the work
		// so concurrent writers hold it only for the tail of a transaction.
		type pendingBill struct {
			li, ei int
			rate   billing.Rate
			key    store.AccountMonth
		}
		var bills []pendingBill
		added := map[store.AccountMonth]int64{}
		opCfg := g.operators
		for _, o := range batch {
			m := o.m
			op := opCfg[m.operator]
			attempt := int16(len(m.c.Tried) + 1)
			ev := statusEvent{ID: m.c.ID, Account: m.c.Account, Operator: m.operator, Network: m.c.Network, Parts: len(m.parts), At: now, Meta: m.c.Meta}
			if o.deferred {
				ups = append(ups, store.MessageUpdate{ID: m.c.ID, State: o.state, Operator: o.deferOp, Tried: m.c.Tried, SendAt: o.deferUntil})
				continue
			}
			if o.state == store.Queued && o.failover {
				tried := append(append([]string{}, m.c.Tried...), m.operator)
				next := g.nextOperator(t, m, tried, now)
				up := store.MessageUpdate{ID: m.c.ID, State: store.Queued, Operator: next, Tried: tried}
				if next == "" {
					// Every route tried: back to the first after a pause.
					up.Operator, up.Tried, up.State, up.SendAt = m.operator, nil, store.Scheduled, now.Add(30*time.Second)
				}
				ups = append(ups, up)
				g.metrics.failovers.WithLabelValues(m.operator).Inc()
				continue
			}
			acct := t.accounts[m.c.Account]
			cost, costCur, costOnDeliv := routeCost(t, m.c.Dest, m.c.Network, m.operator, now)
			if costOnDeliv {
				cost = 0 // cost_on delivered: recorded by the DELIVRD receipt
			}
			rate, hasRate := t.rates.Lookup(m.c.Account, m.c.Dest, m.c.Network, now)
			var key store.AccountMonth
			if acct != nil {
				key = store.AccountMonth{Account: acct.name, Month: monthKey(now, acct.loc)}
			}
			for i := range m.parts {
				p := &m.parts[i]
				if p.state == store.Submitted || p.state == store.Unknown {
					parts = append(parts, store.PartRow{MessageID: m.c.ID, Part: int16(i + 1), Attempt: attempt,
						Operator: m.operator, SMSCID: p.smscID, SMSCKey: smscKey(p.smscID), State: p.state,
						SubmittedAt: p.submittedAt})
					ev.SMSCIDs = append(ev.SMSCIDs, p.smscID)
				}
				// Charge on submit: an accepted part is billed now; an
				// unknown one only when a receipt proves it (§5).
				if p.state == store.Submitted && op != nil && !op.chargeOnDeliv && hasRate && acct != nil {
					ledger = append(ledger, store.LedgerRow{MessageID: m.c.ID, Part: int16(i + 1), Attempt: attempt,
						Account: m.c.Account, Operator: m.operator, Destination: m.c.Dest,
						CountryPrefix: router.CountryPrefix(m.c.Dest), Network: m.c.Network, SubmittedAt: p.submittedAt, Status: "submitted",
						Cost: cost, CostCurrency: costCur, Currency: rate.Currency, Month: key.Month})
					bills = append(bills, pendingBill{li: len(ledger) - 1, ei: len(evs), rate: rate, key: key})
					ev.Cost += cost
					ev.Currency = rate.Currency
				}
			}
			ev.Status = o.state.String()
			if o.reason != "" {
				ev.Reason, ev.Code, ev.Detail = o.reason, o.code, o.detail
			}
			ups = append(ups, store.MessageUpdate{ID: m.c.ID, State: o.state, Operator: m.operator, Tried: m.c.Tried,
				ErrorReason: o.reason, ErrorCode: o.code, ErrorDetail: o.detail})
			// A rerouted message published `submitted` on its first attempt.
			evs = append(evs, evIdx{o: o, ev: ev, silent: m.c.Rerouted > 0 && o.state == store.Submitted})
		}
		if err := store.CopyParts(ctx, tx, parts); err != nil {
			return err
		}
		dups, err := store.UpdateMessages(ctx, tx, ups)
		if err != nil {
			return err
		}
		if len(bills) > 0 {
			ks := make([]store.AccountMonth, 0, len(keys))
			for k := range keys {
				ks = append(ks, k)
			}
			counts, err := store.MonthCounts(ctx, tx, ks)
			if err != nil {
				return err
			}
			for _, b := range bills { // in batch order: tier ordinals follow billing order
				price := b.rate.PriceFor(counts[b.key] + added[b.key])
				added[b.key]++
				ledger[b.li].Price = price
				evs[b.ei].ev.Price += price
			}
		}
		if _, err := store.InsertLedger(ctx, tx, ledger); err != nil {
			return err
		}
		g.countLosses(ledger)
		if err := store.AddMonthCounts(ctx, tx, added); err != nil {
			return err
		}
		for i := range evs {
			if evs[i].silent {
				continue
			}
			e := &evs[i].ev
			events = append(events, store.OutboxRow{Topic: store.TopicStatus, Key: e.ID, Payload: e.appendJSON(nil)})
			for n := dups[e.ID]; n > 0; n-- {
				d := *e
				d.Duplicate = true
				events = append(events, store.OutboxRow{Topic: store.TopicStatus, Key: e.ID, Payload: d.appendJSON(nil)})
			}
		}
		return store.InsertOutbox(ctx, tx, events)
	})
}

// smscKey is the canonical form of a submit_sm_resp message id under which
// receipts look it up.
func smscKey(id string) string {
	if id == "" {
		return ""
	}
	return dlr.CanonicalSubmitID(id)
}

// routeCost finds the cost of sending to dest through operator at t.
func routeCost(t *tables, dest, network, operator string, at time.Time) (billing.Amount, string, bool) {
	var buf [16]router.Candidate
	for _, c := range t.routes.Candidates(buf[:0], dest, network, at) {
		if c.Route.Operator == operator {
			return c.Route.Cost, c.Route.Currency, c.Route.CostOnDelivered
		}
	}
	return 0, "", false
}

// monthKey is the billing month of t in loc, e.g. "2026-11".
func monthKey(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01")
}
