package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/dlr"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/router"
	"github.com/smsgate/smsgate/smpp"
	"github.com/smsgate/smsgate/smpp/coding"
	"github.com/smsgate/smsgate/smpp/pdu"
)

// inboundItem is one deliver_sm waiting to be made durable. Its
// deliver_sm_resp is sent (ack) only after the batch holding it commits
// (invariant 2).
type inboundItem struct {
	op  *operatorRT
	sm  *pdu.SM
	ack func(pdu.Status)
	at  time.Time
}

// inbound batches receipts and MO from every bind into transactions.
type inbound struct {
	g    *Gateway
	ch   chan inboundItem
	stop atomic.Pointer[context.Context] // set by run; deliver gives up when it ends
}

func (in *inbound) ctx() context.Context {
	if c := in.stop.Load(); c != nil {
		return *c
	}
	return context.Background()
}

// deliver is called by a bind's reader; blocking here is back-pressure on
// that bind only (the SMSC's own window bounds it).
func (in *inbound) deliver(ctx context.Context, it inboundItem) {
	select {
	case in.ch <- it:
	case <-ctx.Done():
		// Shutting down: tell the SMSC to redeliver later.
		it.ack(pdu.ErrSysErr)
	}
}

func (in *inbound) run(ctx context.Context) error {
	in.stop.Store(&ctx)
	b := newBatcher(in.ch, in.g.opts.InboundBatch, in.g.opts.InboundLinger)
	for {
		batch, ok := b.next(ctx)
		if !ok {
			in.nackQueued()
			return nil
		}
		start := time.Now()
		err := in.process(ctx, batch)
		status := pdu.StatusOK
		if err != nil {
			// Not durable: a temporary error makes the SMSC redeliver.
			status = pdu.ErrSysErr
			if ctx.Err() == nil {
				in.g.log.Warn("inbound batch not stored; SMSC will redeliver", zap.Int("pdus", len(batch)), zap.Error(err))
			}
		} else {
			in.g.metrics.dbBatch.WithLabelValues("inbound").Observe(time.Since(start).Seconds())
			in.g.publisher.kick()
		}
		for _, it := range batch {
			it.ack(status)
		}
	}
}

func (in *inbound) nackQueued() {
	for {
		select {
		case it := <-in.ch:
			it.ack(pdu.ErrSysErr)
		default:
			return
		}
	}
}

// parsedReceipt is a receipt ready for correlation.
type parsedReceipt struct {
	op     *operatorRT
	r      dlr.Receipt
	state  store.State // Delivered/Undeliverable/Expired; Submitted for intermediate
	keys   []string
	doneAt time.Time
	sup    *supplierError // its code in the operator's error_map (supplier.go)
	// unmapped: a failed receipt with a code its operator's error_map lacks.
	unmapped bool
}

func (in *inbound) process(ctx context.Context, batch []inboundItem) error {
	g := in.g
	now := time.Now()
	var receipts []parsedReceipt
	var mos []dlr.MOPart
	for _, it := range batch {
		if it.sm.IsReceipt() {
			pr, ok := parseReceipt(it)
			if !ok {
				g.metrics.receipts.WithLabelValues(it.op.name, "unparsable").Inc()
				continue // acknowledged: redelivery would not make it parsable
			}
			receipts = append(receipts, pr)
			continue
		}
		p, err := decodeMO(it, now)
		if err != nil {
			g.log.Warn("MO not decodable; acknowledged and dropped", zap.String("operator", it.op.name), zap.Error(err))
			g.metrics.mo.WithLabelValues(it.op.name, "undecodable").Inc()
			continue
		}
		mos = append(mos, p)
	}
	return pgx.BeginFunc(ctx, g.store.Pool, func(tx pgx.Tx) error {
		var events []store.OutboxRow
		if len(receipts) > 0 {
			ev, err := g.applyReceipts(ctx, tx, receipts, now, false)
			if err != nil {
				return err
			}
			events = append(events, ev...)
		}
		if len(mos) > 0 {
			ev, err := g.applyMO(ctx, tx, mos, now)
			if err != nil {
				return err
			}
			events = append(events, ev...)
		}
		return store.InsertOutbox(ctx, tx, events)
	})
}

// parseReceipt reads a receipt from text and TLVs (TLVs win).
func parseReceipt(it inboundItem) (parsedReceipt, bool) {
	r, err := dlr.ParseReceiptText(it.sm.Text())
	rid, hasRID := it.sm.TLVs.CString(pdu.TagReceiptedMessageID)
	ms, hasMS := it.sm.TLVs.Uint(pdu.TagMessageState)
	nerr, _ := it.sm.TLVs.Get(pdu.TagNetworkErrorCode)
	if err != nil && !hasRID {
		return parsedReceipt{}, false
	}
	dlr.ApplyTLVs(&r, rid, byte(ms), hasMS, nerr)
	if r.ID == "" {
		return parsedReceipt{}, false
	}
	pr := parsedReceipt{op: it.op, r: r, doneAt: r.DoneDate}
	if pr.doneAt.IsZero() {
		pr.doneAt = it.at
	}
	ps, ok := r.State.PartStatus()
	if !ok {
		return parsedReceipt{}, false
	}
	switch ps {
	case dlr.PartDelivered:
		pr.state = store.Delivered
	case dlr.PartUndeliverable:
		pr.state = store.Undeliverable
	case dlr.PartExpired:
		pr.state = store.Expired
	default:
		pr.state = store.Submitted // intermediate: proves the SMSC took it
	}
	pr.keys = dlr.LookupKeys(nil, r.ID, it.op.idMode)
	return pr, true
}

// applyReceipts correlates receipts with parts, advances parts and
// messages, bills what the receipts make billable and returns the status
// events. Receipts that match nothing are kept as early receipts (unless
// fromEarly, when the caller keeps them).
func (g *Gateway) applyReceipts(ctx context.Context, tx pgx.Tx, rs []parsedReceipt, now time.Time, fromEarly bool) ([]store.OutboxRow, error) {
	g.mapSupplierErrors(rs)
	lookups := make([]store.ReceiptLookup, len(rs))
	for i := range rs {
		lookups[i] = store.ReceiptLookup{Operator: rs[i].op.name, Keys: rs[i].keys}
	}
	matches, err := store.MatchParts(ctx, tx, lookups)
	if err != nil {
		return nil, err
	}
	var early []store.EarlyReceipt
	var ups []store.PartUpdate
	var ids []string
	seen := map[string]bool{}
	stats := map[string]string{} // message → receipt state word of its last receipt here
	// message → mapped supplier error of its last failed receipt here
	sups := map[string]*supplierError{}
	for i := range rs {
		m, ok := matches[i]
		if !ok {
			if !fromEarly {
				early = append(early, store.EarlyReceipt{Operator: rs[i].op.name, Keys: rs[i].keys, SMSCID: rs[i].r.ID,
					State: rs[i].state, Stat: receiptWord(&rs[i]), Err: rs[i].r.Err, DoneAt: rs[i].doneAt, ReceivedAt: now})
				g.metrics.receipts.WithLabelValues(rs[i].op.name, "early").Inc()
			}
			continue
		}
		g.metrics.receipts.WithLabelValues(rs[i].op.name, "matched").Inc()
		// Counted once matched: an early receipt is mapped again when it matches.
		if rs[i].sup != nil {
			g.metrics.supplierErrors.WithLabelValues(rs[i].op.name, rs[i].sup.rule.reason).Inc()
		} else if rs[i].unmapped {
			g.metrics.supplierErrors.WithLabelValues(rs[i].op.name, "unmapped").Inc()
		}
		g.metrics.receiptLatency.WithLabelValues(rs[i].op.name).Observe(now.Sub(m.SubmittedAt).Seconds())
		st := rs[i].state
		if st == store.Submitted && m.State != store.Unknown {
			continue // intermediate receipt for a part already known
		}
		ups = append(ups, store.PartUpdate{MessageID: m.MessageID, Part: m.Part, Attempt: m.Attempt, State: st,
			DoneAt: rs[i].doneAt, Err: rs[i].r.Err})
		stats[m.MessageID] = receiptWord(&rs[i])
		if rs[i].sup != nil {
			sups[m.MessageID] = rs[i].sup
		}
		if !seen[m.MessageID] {
			seen[m.MessageID] = true
			ids = append(ids, m.MessageID)
		}
	}
	if err := store.InsertEarly(ctx, tx, early); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	// Lock before updating so two batches touching one message serialise.
	before, err := store.LockMessageParts(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	if err := store.UpdateParts(ctx, tx, ups); err != nil {
		return nil, err
	}
	after, err := store.LockMessageParts(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	t := g.tables.Load()
	b, err := g.newBiller(ctx, tx, t, ids, after, now)
	if err != nil {
		return nil, err
	}
	var chIDs []string
	var chStates []int16
	var chReasons []*string
	var reroutes []store.Reroute
	var finals supplierFinals
	for _, id := range ids {
		mp, prev := after[id], before[id]
		if mp == nil || prev == nil {
			continue
		}
		op := g.operators[mp.Operator]
		for p := range mp.PartStates {
			was, cur := prev.PartStates[p], mp.PartStates[p]
			if was == cur || op == nil {
				continue
			}
			// Billing on receipts: charge_on delivered bills delivered parts;
			// charge_on submit bills an unknown part once a receipt proves
			// the SMSC took it.
			if (op.chargeOnDeliv && cur == store.Delivered) || (!op.chargeOnDeliv && was == store.Unknown) {
				b.bill(mp, p, cur)
			} else if !op.chargeOnDeliv && cur == store.Delivered {
				b.deliveredCost(mp, p) // billed at submit; cost_on delivered adds the cost now
			}
		}
		agg := aggregate(mp.PartStates, op != nil && op.lastPartDLR)
		if agg != mp.State && mp.State.Advances(agg) {
			observeQuality(t, mp, agg, now) // before reroute: a failed attempt counts against its route
			if next := g.rerouteTarget(t, mp, agg, stats[id], sups[id], now); next != "" {
				// Not final: the whole message goes again on the next route.
				reroutes = append(reroutes, store.Reroute{ID: id, From: mp.Operator, To: next, Attempt: mp.Attempt, Failed: agg})
				if op != nil && op.chargeOnDeliv {
					// Not charged, but the operator's cost of the failed
					// attempt applies (cost_on submit): a price-0 row each.
					// (charge_on submit rows exist and are refunded.)
					for p, st := range mp.PartStates {
						if st != store.Rejected && st != store.Queued {
							b.costOnly(mp, p, agg)
						}
					}
				}
				g.metrics.reroutes.WithLabelValues(mp.Operator, stats[id]).Inc()
				continue
			}
			if agg.Final() {
				g.metrics.finals.WithLabelValues(mp.Operator, agg.String()).Inc()
				g.protect.guard.ObserveReceipt(mp.Account, mp.Dest, agg == store.Delivered, now)
			}
			chIDs = append(chIDs, id)
			chStates = append(chStates, int16(agg))
			chReasons = append(chReasons, nil)
			finals.add(id, agg, sups[id])
		}
	}
	if err := b.flush(ctx, tx); err != nil {
		return nil, err
	}
	if err := store.RerouteMessages(ctx, tx, reroutes); err != nil {
		return nil, err
	}
	if len(reroutes) > 0 {
		defer g.notifyDispatchers()
	}
	if err := store.SetMessageStates(ctx, tx, chIDs, chStates, chReasons); err != nil {
		return nil, err
	}
	if err := finals.write(ctx, tx); err != nil {
		return nil, err
	}
	if len(chIDs) == 0 {
		return nil, nil
	}
	views, err := store.LoadStatus(ctx, tx, chIDs)
	if err != nil {
		return nil, err
	}
	out := make([]store.OutboxRow, 0, len(chIDs))
	for _, id := range chIDs {
		if v, ok := views[id]; ok {
			ev := g.eventFromView(v, now)
			out = append(out, store.OutboxRow{Topic: store.TopicStatus, Key: id, Payload: ev.appendJSON(nil)})
		}
	}
	return out, nil
}

// aggregate maps part states to the message state with dlr's rules.
func aggregate(parts []store.State, lastPartOnly bool) store.State {
	ps := make([]dlr.PartStatus, len(parts))
	for i, s := range parts {
		switch s {
		case store.Submitted:
			ps[i] = dlr.PartSubmitted
		case store.Unknown:
			ps[i] = dlr.PartUnknown
		case store.Delivered:
			ps[i] = dlr.PartDelivered
		case store.Undeliverable:
			ps[i] = dlr.PartUndeliverable
		case store.Expired:
			ps[i] = dlr.PartExpired
		default:
			ps[i] = dlr.PartPending
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
		return store.Delivered
	case dlr.PartUndeliverable:
		return store.Undeliverable
	case dlr.PartExpired:
		return store.Expired
	case dlr.PartUnknown:
		return store.Unknown
	case dlr.PartSubmitted:
		return store.Submitted
	}
	return store.Sending
}

// decodeMO turns a deliver_sm into an MO part: UDH or SAR concatenation,
// text decoded per data_coding.
func decodeMO(it inboundItem, now time.Time) (dlr.MOPart, error) {
	sm := it.sm
	payload := sm.Text()
	p := dlr.MOPart{Operator: it.op.name, From: digitsOnly(sm.Source), To: sm.Dest, Total: 1, Seq: 1, Received: now}
	fill := 0
	if sm.ESMClass&pdu.ESMUDHI != 0 {
		udh, rest, err := coding.ParseUDH(payload)
		if err != nil {
			return p, err
		}
		if udh.Concat {
			p.Ref, p.Total, p.Seq = udh.Ref, udh.Total, udh.Seq
		}
		udhLen := len(payload) - len(rest)
		fill = (7 - (udhLen*8)%7) % 7
		payload = rest
	} else if ref, ok := sm.TLVs.Uint(pdu.TagSARMsgRefNum); ok {
		total, _ := sm.TLVs.Uint(pdu.TagSARTotalSegments)
		seq, _ := sm.TLVs.Uint(pdu.TagSARSegmentSeqnum)
		p.Ref, p.Total, p.Seq = uint16(ref), uint8(total), uint8(seq)
	}
	text, err := coding.Decode(sm.DataCoding, payload, coding.DecodeOptions{GSM7Packed: it.op.gsm7Packed, FillBits: fill})
	if err != nil {
		return p, err
	}
	p.Text = text
	return p, nil
}

func digitsOnly(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// applyMO reassembles, stores and publishes MO, and applies STOP/START.
func (g *Gateway) applyMO(ctx context.Context, tx pgx.Tx, parts []dlr.MOPart, now time.Time) ([]store.OutboxRow, error) {
	t := g.tables.Load()
	ra := dlr.NewReassembler(store.MOStore{Tx: tx}, t.moTimeout, dlr.ReassemblerOptions{Keywords: t.keywords})
	var done []*dlr.MO
	for _, p := range parts {
		mo, err := ra.Add(ctx, p)
		if err != nil {
			return nil, err
		}
		if mo != nil {
			done = append(done, mo)
		}
	}
	return g.publishMO(ctx, tx, ra, done, now)
}

func (g *Gateway) publishMO(ctx context.Context, tx pgx.Tx, ra *dlr.Reassembler, done []*dlr.MO, now time.Time) ([]store.OutboxRow, error) {
	t := g.tables.Load()
	var rows []store.MORow
	var events []store.OutboxRow
	for _, mo := range done {
		id := newMOID()
		missing := make([]int16, len(mo.PartsMissing))
		for i, v := range mo.PartsMissing {
			missing[i] = int16(v)
		}
		rows = append(rows, store.MORow{ID: id, Operator: mo.Operator, From: mo.From, To: mo.To, Text: mo.Text,
			Parts: int16(mo.Parts), Keyword: mo.Keyword, Incomplete: mo.Incomplete, PartsMissing: missing, ReceivedAt: mo.ReceivedAt})
		mo.ReceivedAt = mo.ReceivedAt.UTC()
		ev := moEvent{ID: id, MO: mo}
		events = append(events, store.OutboxRow{Topic: store.TopicMO, Key: mo.From, Payload: ev.marshal()})
		kind := "single"
		if mo.Incomplete {
			kind = "incomplete"
		} else if mo.Parts > 1 {
			kind = "multipart"
		}
		g.metrics.mo.WithLabelValues(mo.Operator, kind).Inc()
		if err := g.applyKeyword(ctx, tx, t, mo); err != nil {
			return nil, err
		}
		if err := g.autoReply(ctx, tx, t, mo, id); err != nil {
			return nil, err
		}
		if err := ra.Done(ctx, mo); err != nil {
			return nil, err
		}
	}
	if err := store.InsertMO(ctx, tx, rows); err != nil {
		return nil, err
	}
	return events, nil
}

// applyKeyword opts the subscriber out (STOP) or back in (START) for the
// accounts that claim the number they wrote to, or for all when none does.
func (g *Gateway) applyKeyword(ctx context.Context, tx pgx.Tx, t *tables, mo *dlr.MO) error {
	if mo.Keyword == "" || mo.Incomplete {
		return nil
	}
	_, stop := t.stopWords[mo.Keyword]
	_, start := t.startWords[mo.Keyword]
	if !stop && !start {
		return nil
	}
	accts := t.senderOwners[mo.To]
	if len(accts) == 0 {
		accts = []string{"*"}
	}
	msisdn, err := router.NormalizeMSISDN(mo.From, t.defaultCountry)
	if err != nil {
		msisdn = mo.From
	}
	if err := store.SetOptOut(ctx, tx, accts, msisdn, stop); err != nil {
		return err
	}
	action := "start"
	if stop {
		action = "stop"
	}
	g.metrics.optouts.WithLabelValues(action).Inc()
	g.log.Info("opt-out changed by MO keyword", zap.String("action", action), zap.String("keyword", mo.Keyword),
		zap.String("to", mo.To), zap.Strings("accounts", accts))
	return nil
}

func newMOID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "mo-" + hex.EncodeToString(b[:])
}

// handlerFor returns the bind handler of one operator: deliver_sm go into
// the shared inbound batcher; acks come back after the batch commits.
func (in *inbound) handlerFor(op *operatorRT) smpp.InboundHandler {
	return smpp.HandlerFunc(func(_ *smpp.BindInfo, d *pdu.SM, ack func(pdu.Status)) {
		in.deliver(in.ctx(), inboundItem{op: op, sm: d, ack: ack, at: time.Now()})
	})
}

// autoReply queues the configured reply to a keyword MO as a normal
// transactional message of the account that owns the number written to,
// in the transaction that stores the MO (so a redelivered MO cannot reply
// twice: the reply's id derives from the MO's).
func (g *Gateway) autoReply(ctx context.Context, tx pgx.Tx, t *tables, mo *dlr.MO, moID string) error {
	text, ok := t.autoReply[mo.Keyword]
	if !ok || mo.Incomplete {
		return nil
	}
	owners := t.senderOwners[mo.To]
	if len(owners) == 0 {
		g.log.Warn("auto-reply skipped: no account owns the number", zap.String("to", mo.To), zap.String("keyword", mo.Keyword))
		return nil
	}
	acct := t.accounts[owners[0]]
	country := t.defaultCountry
	if acct != nil && acct.country != "" {
		country = acct.country
	}
	dest, err := router.NormalizeMSISDN(mo.From, country)
	if err != nil {
		return nil // not a number we can answer
	}
	enc, err := coding.Choose(text, 0)
	if err != nil {
		return nil
	}
	now := time.Now()
	m := store.Message{ID: "reply-" + moID, Account: owners[0], Sender: mo.To, Dest: dest, Body: text, Encoding: int16(enc),
		DLR: true, Priority: 5, SendAt: now, Parts: int16(coding.CountParts(text, enc, coding.UDH8)), State: store.Queued,
		SrcPartition: -1, Network: g.nets.network(dest)}
	c, err := t.routes.Choose(dest, m.Network, "", now, g.usableForNew, nil, g.rand())
	if err != nil {
		c, err = t.routes.Choose(dest, m.Network, "", now, func(string) bool { return true }, nil, g.rand())
	}
	if err != nil {
		m.State, m.ErrorReason, m.ErrorDetail = store.Rejected, "no_route", "no route for the auto-reply to "+dest
	} else {
		m.Operator = c.Route.Operator
	}
	if _, err := store.InsertMessages(ctx, tx, []store.Message{m}); err != nil {
		return err
	}
	g.notifyDispatchers()
	return nil
}

// receiptWord is the receipt's stat (UNDELIV, REJECTD…) as reroute.on
// names it; receipts kept early only know our state.
func receiptWord(pr *parsedReceipt) string {
	if w := pr.r.State.String(); w != "" {
		return w
	}
	switch pr.state {
	case store.Undeliverable:
		return "UNDELIV"
	case store.Expired:
		return "EXPIRED"
	case store.Delivered:
		return "DELIVRD"
	}
	return ""
}

// rerouteTarget is the operator a failed message goes to next ("" = the
// failure is final): its receipt state is listed in reroute.on (or its
// mapped supplier error says retry, which also overrides reroute.on with
// retry: false), it has attempts left, no forced route, and a route whose
// operator was not tried.
func (g *Gateway) rerouteTarget(t *tables, mp *store.MessageParts, agg store.State, word string, se *supplierError, now time.Time) string {
	r := t.reroute
	if r == nil || !agg.Final() || agg == store.Delivered || !rerouteListed(r, word, se) || int(mp.Attempt) >= r.maxAttempts || mp.ForcedRoute != "" {
		return ""
	}
	tried := append(append([]string{}, mp.Tried...), mp.Operator)
	c, err := t.routes.Choose(mp.Dest, mp.Network, "", now, g.usableForNew, tried, g.rand())
	if err != nil {
		// A usable route may come back; a route that exists but is down
		// or drained still takes the message (it waits in its queue).
		c, err = t.routes.Choose(mp.Dest, mp.Network, "", now, func(string) bool { return true }, tried, g.rand())
	}
	if err != nil {
		// Only routes outside their time window are left: the first to
		// open takes it (the dispatcher holds it until then).
		if w, _, ok := t.routes.NextOpen(mp.Dest, mp.Network, "", now, tried); ok {
			return w.Route.Operator
		}
		return ""
	}
	return c.Route.Operator
}
