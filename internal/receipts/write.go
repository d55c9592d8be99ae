package receipts

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/dlr"
	"github.com/smsgate/smsgate/internal/correlate"
	"github.com/smsgate/smsgate/internal/journal"
	"github.com/smsgate/smsgate/internal/message"
	"github.com/smsgate/smsgate/internal/policy"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/router"
	"github.com/smsgate/smsgate/smpp/pdu"
)

// msgWork is one message a batch's receipts change: its parts as they
// were before the batch and as they become. Nothing in memory changes
// before the commit: the tracks of the index are updated in After.
type msgWork struct {
	id          string
	gen         int32
	attempt     int16
	account     string
	dest        string
	network     string
	operator    string
	forced      string
	tried       []string
	rerouted    bool
	meta        []byte
	parts       []partWork
	before      message.State
	wasFinal    bool
	chargePrice billing.Amount // charges made after submit (stored, and this batch's)
	chargeCost  billing.Amount
	chargeCur   string
	track       *correlate.Msg // nil: read from Postgres
	word        string         // stat word of the last failed receipt applied
	sup         *policy.SupplierError
	reason      string // dlr_timeout
	changed     bool
}

type partWork struct {
	state       message.State
	final       bool
	day         int32
	smscID      []byte
	submittedAt time.Time
	charged     bool
	price, cost billing.Amount
	cur         string
	reason      string
	code        string
	stat        string
}

// write is the inbound lane's transaction.
func (s *Stage) write(ctx context.Context, tx pgx.Tx, batch int64, items []*item) (journal.Effects, error) {
	now := time.Now()
	t := s.d.Tables()
	var eff journal.Effects
	var rs, mos []*item
	sweep := false
	for _, it := range items {
		switch it.kind {
		case kReceipt, kTimeout:
			rs = append(rs, it)
		case kMO:
			mos = append(mos, it)
		case kSweep:
			sweep = true
		}
	}
	if len(rs) > 0 {
		e, err := s.applyReceipts(ctx, tx, batch, t, rs, now)
		if err != nil {
			return eff, err
		}
		eff.Add(e)
	}
	if len(mos) > 0 || sweep {
		e, err := s.applyMO(ctx, tx, batch, t, mos, sweep, now)
		if err != nil {
			return eff, err
		}
		eff.Add(e)
	}
	eff.Add(journal.Effects{After: func() {
		for _, it := range items {
			if it.ack != nil {
				it.ack(pdu.StatusOK)
			}
		}
	}})
	return eff, nil
}

// poison handles an item Postgres refused alone: a deliver_sm is answered
// with a permanent error (the SMSC must not deliver it again and again)
// and logged; the rest of its batch went on.
func (s *Stage) poison(it *item, err error) {
	s.log.Error("deliver_sm refused by Postgres; answered ESME_RDELIVERYFAILURE", zap.String("operator", opName(it)), zap.Error(err))
	s.m.poison.WithLabelValues(opName(it)).Inc()
	if it.ack != nil {
		it.ack(pdu.ErrDeliveryFailure)
	}
	if it.early != 0 {
		s.early.remove([]int64{it.early})
	}
}

func opName(it *item) string {
	if it.op != nil {
		return it.op.Name
	}
	return ""
}

func (s *Stage) applyReceipts(ctx context.Context, tx pgx.Tx, batch int64, t *policy.Tables, rs []*item, now time.Time) (journal.Effects, error) {
	// Correlate what memory did not.
	type target struct {
		w    *msgWork
		part int // index into w.parts
		att  int16
	}
	targets := make([]target, len(rs))
	var lookups []store.ReceiptLookup
	var lookupIdx []int
	for _, it := range rs {
		// Memory decides single-part messages only: the parts of a
		// multipart one may get their receipts on several instances, and
		// only Postgres (under LockMessages) sees them all.
		if it.part != nil && len(it.part.Msg.Parts) > 1 {
			it.part, it.track = nil, it.part.Msg
		}
	}
	for i, it := range rs {
		if it.kind == kReceipt && it.part == nil {
			lookups = append(lookups, store.ReceiptLookup{Operator: it.op.Name, Keys: it.rc.keys})
			lookupIdx = append(lookupIdx, i)
		}
	}
	matches, err := store.MatchParts(ctx, tx, lookups)
	if err != nil {
		return journal.Effects{}, err
	}
	var ids []string
	dbIDs := map[string]bool{}
	for k, i := range lookupIdx {
		if m, ok := matches[k]; ok && (m.Published || rs[i].track != nil) && !dbIDs[m.MessageID] {
			dbIDs[m.MessageID] = true
			ids = append(ids, m.MessageID)
		}
	}
	for _, it := range rs {
		if it.kind == kTimeout && !dbIDs[it.await.MessageID] {
			dbIDs[it.await.MessageID] = true
			ids = append(ids, it.await.MessageID)
		}
	}
	// Batches on several instances touching one message serialise here.
	if err := store.LockMessages(ctx, tx, ids); err != nil {
		return journal.Effects{}, err
	}
	views, err := store.LoadViews(ctx, tx, ids)
	if err != nil {
		return journal.Effects{}, err
	}
	works := map[string]*msgWork{}
	var order []*msgWork
	workFor := func(id string) *msgWork {
		if w := works[id]; w != nil {
			return w
		}
		v := views[id]
		if v == nil || len(v.Latest) == 0 {
			return nil
		}
		w := &msgWork{id: v.ID, gen: v.Gen, attempt: v.Latest[0].Attempt, account: v.Account, dest: v.Dest, network: v.Network,
			operator: v.Operator, forced: v.ForcedRoute, tried: v.Tried, rerouted: v.Rerouted, meta: v.Meta,
			chargePrice: v.ChargedPrice, chargeCost: v.ChargedCost, chargeCur: v.ChargeCurrency}
		w.parts = make([]partWork, v.Parts)
		for _, p := range v.Latest {
			if int(p.Part) < 1 || int(p.Part) > len(w.parts) {
				continue
			}
			w.parts[p.Part-1] = partWork{state: p.State, final: p.Final, day: p.Day, smscID: p.SMSCID, submittedAt: p.SubmittedAt,
				charged: p.Charged, price: p.Price, cost: p.Cost, cur: p.Currency, reason: p.Reason, code: p.Code, stat: p.Stat}
		}
		w.before, w.wasFinal = s.aggregate(w), v.RowState == message.Sending && v.Attempt == w.attempt && s.aggregate(w).Final()
		works[id] = w
		order = append(order, w)
		return w
	}
	trackWork := func(m *correlate.Msg) *msgWork {
		if w := works[m.ID]; w != nil {
			return w
		}
		m.Lock()
		w := &msgWork{id: m.ID, gen: m.Gen, attempt: m.Attempt, account: m.Account, dest: m.Dest, network: m.Network,
			operator: m.Operator, forced: m.ForcedRoute, tried: m.Tried, rerouted: m.Rerouted, meta: m.Meta, track: m,
			wasFinal: m.Final}
		w.parts = make([]partWork, len(m.Parts))
		for i, p := range m.Parts {
			w.parts[i] = partWork{state: p.State, final: p.State.Final(), day: store.Day(p.SubmittedAt), smscID: p.SMSCID,
				submittedAt: p.SubmittedAt, charged: p.Charged, price: p.Price, cost: p.Cost, cur: p.Cur, reason: p.Reason, code: p.Code, stat: p.Stat}
		}
		m.Unlock()
		w.before = s.aggregate(w)
		works[m.ID] = w
		order = append(order, w)
		return w
	}
	var early []store.EarlyReceipt
	var earlyItems []*item
	var applied []int64 // early rows applied
	for k, i := range lookupIdx {
		m, ok := matches[k]
		if ok && !m.Published && rs[i].track == nil {
			// Its "submitted" is not out yet (another instance's outcome
			// batch): the receipt waits as an early one.
			ok = false
		}
		if !ok {
			if rs[i].early == 0 {
				it := rs[i]
				early = append(early, store.EarlyReceipt{Operator: it.op.Name, Keys: it.rc.keys, SMSCID: message.Sanitize(it.rc.r.ID),
					SMSCRaw: it.rc.raw, State: it.rc.state, Stat: it.rc.word(), Err: it.rc.r.Err, DoneAt: it.rc.doneAt, ReceivedAt: it.at})
				earlyItems = append(earlyItems, it)
			}
			continue
		}
		if w := workFor(m.MessageID); w != nil && m.Attempt == w.attempt {
			targets[i] = target{w: w, part: int(m.Part) - 1, att: m.Attempt}
		}
	}
	for i, it := range rs {
		switch {
		case it.kind == kReceipt && it.part != nil:
			w := trackWork(it.part.Msg)
			targets[i] = target{w: w, part: int(it.part.Part) - 1, att: w.attempt}
		case it.kind == kTimeout:
			if w := workFor(it.await.MessageID); w != nil && it.await.Attempt == w.attempt {
				targets[i] = target{w: w, part: int(it.await.Part) - 1, att: it.await.Attempt}
			}
		}
	}
	// Apply, in arrival order.
	rows := make([]store.ReceiptRow, 0, len(rs))
	var charges []store.ChargeRow
	var chargeWork []*msgWork
	type chargeBill struct {
		idx  int
		rate billing.Rate
		key  store.AccountMonth
	}
	var bills []chargeBill
	keys := map[store.AccountMonth]struct{}{}
	latency := make([]float64, 0, len(rs))
	latencyOp := make([]string, 0, len(rs))
	var supplierHits []string // operator|reason
	var funds []store.FundsDelta
	for i, it := range rs {
		tg := targets[i]
		if tg.w == nil || tg.part < 0 || tg.part >= len(tg.w.parts) {
			continue
		}
		w, p := tg.w, &tg.w.parts[tg.part]
		if it.early != 0 {
			applied = append(applied, it.early)
		}
		if p.final {
			continue // a part's first final receipt decides; repeats change nothing
		}
		op := s.d.Operators[w.operator]
		if op == nil {
			continue
		}
		st := it.rc.state
		row := store.ReceiptRow{MessageID: w.id, Part: int16(tg.part + 1), Attempt: tg.att, Day: p.day, Operator: w.operator,
			ReceivedAt: it.at, Raw: it.rc.text}
		if p.day == 0 {
			row.Day = store.Day(now)
		}
		if it.kind == kTimeout {
			st = message.Expired
			row.State, row.Stat, row.Reason, row.DoneAt = message.Expired, "", "dlr_timeout", now
			w.reason = "dlr_timeout"
		} else {
			var se *policy.SupplierError
			var unmapped bool
			st, se, unmapped = t.MapReceipt(w.operator, &it.rc.r, st)
			row.SMSCID, row.State, row.Stat, row.Err, row.DoneAt = it.rc.raw, st, it.rc.word(), it.rc.r.Err, it.rc.doneAt
			if se != nil {
				row.Reason, row.Code = se.Rule.Reason, se.Code
				w.sup = se
				supplierHits = append(supplierHits, w.operator+"|"+se.Rule.Reason)
			} else if unmapped {
				supplierHits = append(supplierHits, w.operator+"|unmapped")
			}
			if st.Final() && st != message.Delivered {
				w.word = it.rc.word()
			}
			if !p.submittedAt.IsZero() {
				latency, latencyOp = append(latency, now.Sub(p.submittedAt).Seconds()), append(latencyOp, w.operator)
			}
		}
		if st == message.Submitted && p.state != message.Unknown {
			continue // intermediate receipt for a part already known
		}
		rows = append(rows, row)
		was := p.state
		p.state, p.final, p.stat, p.reason, p.code = st, st.Final(), row.Stat, row.Reason, row.Code
		w.changed = true
		// Billing on receipts: charge_on delivered bills delivered parts;
		// charge_on submit bills an unknown part once a receipt proves the
		// SMSC took it; cost_on delivered adds the cost when delivered.
		acct := t.Accounts[w.account]
		rate, hasRate := t.Rates.Lookup(w.account, w.dest, w.network, now)
		cost, costCur, costOnDeliv := t.RouteCost(w.dest, w.network, w.operator, p.submittedAt)
		if costOnDeliv && st != message.Delivered {
			cost = 0
		}
		mkCharge := func(kind int16, price, cost billing.Amount, cur string) store.ChargeRow {
			month := policy.MonthKey(now, nil)
			if acct != nil {
				month = policy.MonthKey(now, acct.Loc)
			}
			return store.ChargeRow{MessageID: w.id, Part: int16(tg.part + 1), Attempt: tg.att, Day: row.Day, Kind: kind,
				Account: w.account, Operator: w.operator, Destination: w.dest, CountryPrefix: router.CountryPrefix(w.dest),
				Network: w.network, SubmittedAt: p.submittedAt, Status: st.String(), Cost: cost, CostCurrency: costCur,
				Price: price, Currency: cur, Month: month}
		}
		// What the outcome left committed against a funded account's
		// balance for this part is released once the receipt decides it.
		if hasRate && acct != nil && acct.Funded() && awaitsReceipt(op.ChargeOnDeliv, was, p.charged) && !awaitsReceipt(op.ChargeOnDeliv, st, false) {
			funds = append(funds, store.FundsDelta{Account: w.account, Awaiting: -rate.MaxPrice()})
		}
		switch {
		case hasRate && acct != nil && ((op.ChargeOnDeliv && st == message.Delivered) || (!op.ChargeOnDeliv && was == message.Unknown && !p.charged)):
			charges = append(charges, mkCharge(store.ChargeOnReceipt, 0, cost, rate.Currency))
			chargeWork = append(chargeWork, w)
			key := store.AccountMonth{Account: acct.Name, Month: policy.MonthKey(now, acct.Loc)}
			bills = append(bills, chargeBill{idx: len(charges) - 1, rate: rate, key: key})
			keys[key] = struct{}{}
		case !op.ChargeOnDeliv && st == message.Delivered && p.charged && costOnDeliv && cost != 0:
			charges = append(charges, mkCharge(store.ChargeCostOnDeliv, 0, cost, p.cur))
			chargeWork = append(chargeWork, w)
		}
	}
	// Price this batch's charges (volume tiers, the account's month
	// counter locked) before the events that show them.
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
		for _, b := range bills {
			charges[b.idx].Price = b.rate.PriceFor(counts[b.key] + added[b.key])
			added[b.key]++
		}
	}
	for i, c := range charges {
		w := chargeWork[i]
		w.chargePrice += c.Price
		w.chargeCost += c.Cost
		if c.Kind == store.ChargeOnReceipt {
			w.chargeCur = c.Currency
		}
	}
	// Decide each changed message: a final failure may be rerouted.
	var reroutes []store.ParkedKey
	events := make([]*kgo.Record, 0, len(order))
	type obs struct {
		op, net, account, dest string
		delivered              bool
		first                  time.Time
	}
	observes := make([]obs, 0, len(order))
	var finals []*msgWork
	for _, w := range order {
		if !w.changed || w.wasFinal {
			continue
		}
		agg := s.aggregate(w)
		if agg == w.before || !w.before.Advances(agg) {
			continue
		}
		if agg.Final() {
			first := time.Time{}
			for _, p := range w.parts {
				if !p.submittedAt.IsZero() && (first.IsZero() || p.submittedAt.Before(first)) {
					first = p.submittedAt
				}
			}
			observes = append(observes, obs{op: w.operator, net: w.network, account: w.account, dest: w.dest, delivered: agg == message.Delivered, first: first})
			if next := t.RerouteTarget(w.dest, w.network, w.forced, int(w.attempt), append(append([]string{}, w.tried...), w.operator),
				agg, w.word, w.sup, now, s.d.Usable, rand.Float64()); next != "" {
				// Not final: the whole message goes again on the next route.
				reroutes = append(reroutes, store.ParkedKey{ID: w.id, Gen: w.gen, Operator: next, Attempt: w.attempt + 1,
					Tried: append(append([]string{}, w.tried...), w.operator), Rerouted: true})
				charges = append(charges, s.rerouteCharges(t, w, agg, now)...)
				s.m.reroutes.WithLabelValues(w.operator, w.word).Inc()
				continue
			}
			finals = append(finals, w)
		}
		ev := s.event(w, agg, now)
		events = append(events, s.d.Topics.Status(&ev))
	}
	if err := store.AppendReceipts(ctx, tx, batch, rows); err != nil {
		return journal.Effects{}, err
	}
	newCharges, err := store.AppendCharges(ctx, tx, batch, charges)
	if err != nil {
		return journal.Effects{}, err
	}
	if err := store.AddMonth(ctx, tx, monthDeltas(charges, newCharges), funds...); err != nil {
		return journal.Effects{}, err
	}
	if _, err := store.Repark(ctx, tx, batch, reroutes, message.Queued, time.Time{}); err != nil {
		return journal.Effects{}, err
	}
	earlyIDs, err := store.InsertEarly(ctx, tx, early)
	if err != nil {
		return journal.Effects{}, err
	}
	if err := store.DeleteEarly(ctx, tx, applied); err != nil {
		return journal.Effects{}, err
	}
	// Events of receipts matched in memory follow their outcomes' events.
	var dep int64
	for _, it := range rs {
		m := it.track
		if it.part != nil {
			m = it.part.Msg
		}
		if m != nil {
			m.Lock()
			dep = max(dep, m.Batch)
			m.Unlock()
		}
	}
	var depends map[string]int64
	if dep > 0 {
		depends = map[string]int64{s.o.OutcomeLane: dep}
	}
	return journal.Effects{Events: events, Depends: depends, After: func() {
		s.afterReceipts(rs, order, finals, earlyIDs, earlyItems, applied)
		for i, sec := range latency {
			s.m.latency.WithLabelValues(latencyOp[i]).Observe(sec)
		}
		for _, h := range supplierHits {
			op, reason := splitPair(h)
			s.m.supplier.WithLabelValues(op, reason).Inc()
		}
		for _, o := range observes {
			t.ObserveFinal(o.op, o.net, o.delivered, o.first, now)
			if s.d.Guard != nil {
				s.d.Guard.ObserveReceipt(o.account, o.dest, o.delivered, now)
			}
		}
		if len(reroutes) > 0 && s.d.Reparked != nil {
			s.d.Reparked()
		}
	}}, nil
}

func splitPair(s string) (string, string) {
	for i := 0; i < len(s); i++ {
		if s[i] == '|' {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// afterReceipts applies a committed batch in memory: the index's tracks,
// the early set, metrics.
func (s *Stage) afterReceipts(rs []*item, order []*msgWork, finals []*msgWork, earlyIDs []int64, earlyItems []*item, applied []int64) {
	for _, w := range order {
		if w.track == nil {
			continue
		}
		w.track.Lock()
		for i, p := range w.parts {
			if i < len(w.track.Parts) {
				tp := w.track.Parts[i]
				tp.State, tp.Stat, tp.Reason, tp.Code = p.state, p.stat, p.reason, p.code
			}
		}
		w.track.Unlock()
	}
	for _, w := range finals {
		if w.track != nil {
			w.track.Lock()
			w.track.Final = true
			w.track.Unlock()
			s.d.Index.Remove(w.track)
		}
		s.m.finals.WithLabelValues(w.operator, s.aggregate(w).String()).Inc()
	}
	for _, it := range rs {
		if it.kind != kReceipt {
			continue
		}
		if it.part != nil {
			s.m.receipts.WithLabelValues(it.op.Name, "matched").Inc()
		}
	}
	s.early.remove(applied)
	for i, id := range earlyIDs {
		it := earlyItems[i]
		s.m.receipts.WithLabelValues(it.op.Name, "early").Inc()
		s.early.add(id, it.rc, it.at, s.o.MaxEarly)
	}
	// Early items that came back from the set and still matched nothing
	// wait for the next probe.
	s.early.mu.Lock()
	for _, it := range rs {
		if it.early != 0 {
			if e := s.early.items[it.early]; e != nil {
				e.queued = false
			}
		}
	}
	s.early.mu.Unlock()
}

// aggregate is a message's state from its parts.
func (s *Stage) aggregate(w *msgWork) message.State {
	states := make([]message.State, len(w.parts))
	for i, p := range w.parts {
		states[i] = p.state
	}
	op := s.d.Operators[w.operator]
	return message.Aggregate(states, op != nil && op.LastPartDLR)
}

// event renders the status event of a message after this batch.
func (s *Stage) event(w *msgWork, agg message.State, now time.Time) message.Event {
	ev := message.Event{ID: w.id, Account: w.account, Status: agg.String(), Operator: w.operator, Network: w.network,
		Parts: len(w.parts), At: now, Meta: w.meta}
	for _, p := range w.parts {
		ev.SMSCIDs = append(ev.SMSCIDs, message.SanitizeBytes(p.smscID))
		if p.final {
			ev.PartsDone++
		}
		if p.charged {
			ev.Price += p.price
			ev.Cost += p.cost
			ev.Currency = p.cur
		}
	}
	ev.Price += w.chargePrice
	ev.Cost += w.chargeCost
	if ev.Currency == "" {
		ev.Currency = w.chargeCur
	}
	if agg.Final() && agg != message.Delivered {
		switch {
		case w.reason != "":
			ev.Reason = w.reason
		case w.sup != nil:
			ev.Reason, ev.Code = w.sup.Rule.Reason, w.sup.Code
		}
	}
	return ev
}

// rerouteCharges are the ledger entries of a failed attempt sent again:
// charge_on submit refunds its charged parts (the customer pays for the
// attempt that is final); charge_on delivered records the operator cost
// (cost_on submit) with price 0.
func (s *Stage) rerouteCharges(t *policy.Tables, w *msgWork, failed message.State, now time.Time) []store.ChargeRow {
	op := s.d.Operators[w.operator]
	var out []store.ChargeRow
	for i, p := range w.parts {
		base := store.ChargeRow{MessageID: w.id, Part: int16(i + 1), Attempt: w.attempt, Day: p.day, Account: w.account,
			Operator: w.operator, Destination: w.dest, CountryPrefix: router.CountryPrefix(w.dest), Network: w.network,
			SubmittedAt: p.submittedAt, Status: failed.String(), Month: policy.MonthKey(now, accountLoc(t, w.account))}
		switch {
		case p.charged:
			base.Kind, base.Price, base.Currency, base.CostCurrency = store.ChargeRefund, p.price, p.cur, p.cur
			out = append(out, base)
		case op != nil && op.ChargeOnDeliv && p.state != message.Rejected:
			cost, cur, onDeliv := t.RouteCost(w.dest, w.network, w.operator, p.submittedAt)
			if onDeliv || cost == 0 {
				continue
			}
			rate, _ := t.Rates.Lookup(w.account, w.dest, w.network, now)
			base.Kind, base.Cost, base.CostCurrency, base.Currency = store.ChargeCostOnly, cost, cur, rate.Currency
			out = append(out, base)
		}
	}
	return out
}

func accountLoc(t *policy.Tables, account string) *time.Location {
	if a := t.Accounts[account]; a != nil {
		return a.Loc
	}
	return time.UTC
}

// monthDeltas turns the charges written (new[i]) into month aggregates:
// a charge adds a part and its price, a refund removes them, a cost adds
// a cost.
func monthDeltas(cs []store.ChargeRow, isNew []bool) []store.MonthDelta {
	m := map[[4]string]*store.MonthDelta{}
	for i, c := range cs {
		if i >= len(isNew) || !isNew[i] {
			continue
		}
		k := [4]string{c.Account, c.Month, c.Operator, c.Currency}
		d := m[k]
		if d == nil {
			d = &store.MonthDelta{Account: c.Account, Month: c.Month, Operator: c.Operator, Currency: c.Currency}
			m[k] = d
		}
		switch c.Kind {
		case store.ChargeOnReceipt:
			d.Parts++
			d.Revenue += c.Price
		case store.ChargeRefund:
			d.Parts--
			d.Revenue -= c.Price
		}
		if c.CostCurrency == c.Currency {
			if c.Kind == store.ChargeRefund {
				continue
			}
			d.Cost += c.Cost
		}
	}
	out := make([]store.MonthDelta, 0, len(m))
	for _, d := range m {
		out = append(out, *d)
	}
	return out
}

// parseStat reads a stored stat word back.
func parseStat(w string) (dlr.State, bool) { return dlr.ParseState(w) }

// awaitsReceipt reports whether a part in state st leaves its charge to a
// receipt: any accepted part under charge_on delivered until its final
// receipt, an unknown uncharged part under charge_on submit.
func awaitsReceipt(chargeOnDeliv bool, st message.State, charged bool) bool {
	if chargeOnDeliv {
		return st == message.Submitted || st == message.Unknown
	}
	return st == message.Unknown && !charged
}
