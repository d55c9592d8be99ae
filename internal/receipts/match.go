package receipts

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/smsgate/smsgate/internal/message"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/smpp/pdu"
)

// match is the stage's front: it parses each deliver_sm and matches
// receipts in memory. A receipt whose part's outcome is not published yet
// waits for it (its status event must not overtake "submitted"); one
// whose part is not in memory goes to the lane to be matched in Postgres.
// Early receipts (matched nowhere yet) are probed again after each
// published outcome batch and every EarlyProbe.
func (s *Stage) match(ctx context.Context) {
	var waiting []*item
	probe := time.NewTicker(s.o.EarlyProbe)
	defer probe.Stop()
	adopt := time.NewTicker(adoptEvery)
	defer adopt.Stop()
	recheck := time.NewTimer(time.Hour)
	defer recheck.Stop()
	armed := false // recheck set to fire soon; not pushed back by every arrival
	for {
		select {
		case <-ctx.Done():
			for _, it := range waiting {
				if it.ack != nil {
					it.ack(pdu.ErrSysErr)
				}
			}
			return
		case in := <-s.in:
			it := s.classify(in)
			if it == nil {
				continue
			}
			if !s.ready(it) {
				waiting = append(waiting, it)
				if !armed {
					recheck.Reset(5 * time.Millisecond)
					armed = true
				}
				continue
			}
			s.lane.Submit(ctx, it)
		case <-s.kick:
			waiting = s.release(ctx, waiting)
			s.earlyInMemory(ctx)
		case <-recheck.C:
			armed = false
			waiting = s.release(ctx, waiting)
			if len(waiting) > 0 {
				recheck.Reset(5 * time.Millisecond)
				armed = true
			}
		case <-probe.C:
			waiting = s.release(ctx, waiting)
			s.earlyInMemory(ctx)
			s.earlyInPostgres(ctx)
		case <-adopt.C:
			if err := s.loadEarly(ctx, time.Now().Add(-adoptAfter)); err != nil && ctx.Err() == nil {
				s.log.Warn("early receipts not adopted", zap.Error(err))
			}
		}
	}
}

// classify parses one deliver_sm into an item (nil: handled here).
func (s *Stage) classify(in inbound) *item {
	if in.sm.IsReceipt() {
		rc, ok := parseReceipt(in.op, in.sm, in.at)
		if !ok {
			s.m.receipts.WithLabelValues(in.op.Name, "unparsable").Inc()
			s.log.Warn("receipt not parsable; acknowledged", zap.String("operator", in.op.Name),
				zap.String("text", message.SanitizeBytes(in.sm.Text())))
			in.ack(pdu.StatusOK) // redelivery would not make it parsable
			return nil
		}
		if s.o.KeepText {
			rc.text = keptText(in.sm.Text(), s.o.ShowText)
		}
		return &item{kind: kReceipt, op: in.op, ack: in.ack, at: in.at, rc: rc} // looked up by ready
	}
	p, err := decodeMO(in.op, in.sm, in.at)
	if err != nil {
		s.log.Warn("MO not decodable; acknowledged and dropped", zap.String("operator", in.op.Name), zap.Error(err))
		s.m.mo.WithLabelValues(in.op.Name, "undecodable").Inc()
		in.ack(pdu.StatusOK)
		return nil
	}
	return &item{kind: kMO, op: in.op, ack: in.ack, at: in.at, mo: p}
}

// ready reports whether a receipt may go to the lane. One matched in
// memory waits until its part's outcome is written (its events are
// ordered after the outcome's by the publisher), or OutcomeWait (then it
// is matched in Postgres instead); one not found waits LookupWait for the
// part to be indexed. A receipt waits here unacknowledged for a few
// milliseconds: the outcome lane's linger and commit.
func (s *Stage) ready(it *item) bool {
	if it.kind != kReceipt {
		return true
	}
	if it.part == nil {
		if it.early != 0 {
			return true // from the early set: Postgres matches it
		}
		// Not indexed yet, or not this instance's: look again for a
		// moment before Postgres (and the early table) take it.
		if it.part = s.d.Index.Lookup(it.op.Name, it.rc.keys); it.part == nil {
			return time.Since(it.at) > s.o.LookupWait
		}
	}
	m := it.part.Msg
	m.Lock()
	written := m.Batch != 0
	m.Unlock()
	if written {
		return true
	}
	if time.Since(it.at) > s.o.OutcomeWait {
		it.part = nil
		return true
	}
	return false
}

func (s *Stage) release(ctx context.Context, waiting []*item) []*item {
	kept := waiting[:0]
	for _, it := range waiting {
		if s.ready(it) {
			s.lane.Submit(ctx, it)
			continue
		}
		kept = append(kept, it)
	}
	clear(waiting[len(kept):])
	return kept
}

// earlySet holds early receipts in memory (they are in early_receipts
// too, so a restart loses none).
type earlySet struct {
	mu    sync.Mutex
	items map[int64]*earlyItem
}

type earlyItem struct {
	id       int64
	rc       receipt
	received time.Time
	queued   bool // handed to the lane; removed when applied
}

func (e *earlySet) add(id int64, rc receipt, at time.Time, max int) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.items) >= max {
		return false
	}
	e.items[id] = &earlyItem{id: id, rc: rc, received: at}
	return true
}

func (e *earlySet) remove(ids []int64) {
	e.mu.Lock()
	for _, id := range ids {
		delete(e.items, id)
	}
	e.mu.Unlock()
}

// earlyInMemory hands early receipts whose part dispatch now holds (and
// whose outcome is published) to the lane.
func (s *Stage) earlyInMemory(ctx context.Context) {
	s.early.mu.Lock()
	var todo []*item
	for _, e := range s.early.items {
		if e.queued {
			continue
		}
		p := s.d.Index.Lookup(e.rc.op.Name, e.rc.keys)
		if p == nil {
			continue
		}
		it := &item{kind: kReceipt, op: e.rc.op, at: e.received, rc: e.rc, part: p, early: e.id}
		if !s.ready(it) {
			continue
		}
		e.queued = true
		todo = append(todo, it)
	}
	s.early.mu.Unlock()
	for _, it := range todo {
		s.m.receipts.WithLabelValues(it.op.Name, "late_matched").Inc()
		s.lane.Submit(ctx, it)
	}
}

// earlyInPostgres looks early receipts up in Postgres (parts written by
// another instance, or evicted from memory), and orphans those that
// waited longer than dlr.early_hold.
func (s *Stage) earlyInPostgres(ctx context.Context) {
	hold := s.d.Tables().EarlyHold
	now := time.Now()
	s.early.mu.Lock()
	var ls []store.ReceiptLookup
	var cand []*earlyItem
	var orphans []int64
	for _, e := range s.early.items {
		if e.queued {
			continue
		}
		if hold > 0 && now.Sub(e.received) > hold {
			orphans = append(orphans, e.id)
			continue
		}
		ls = append(ls, store.ReceiptLookup{Operator: e.rc.op.Name, Keys: e.rc.keys})
		cand = append(cand, e)
		if len(cand) >= 5000 {
			break
		}
	}
	s.early.mu.Unlock()
	if len(orphans) > 0 {
		octx, cancel := context.WithTimeout(ctx, 5*time.Second)
		n, err := store.OrphanEarly(octx, s.d.Store.Pool, orphans)
		cancel()
		if err == nil {
			s.early.remove(orphans)
			for op, c := range n {
				s.m.receipts.WithLabelValues(op, "orphan").Add(float64(c))
			}
		}
	}
	if len(ls) == 0 {
		return
	}
	mctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	matches, err := store.MatchParts(mctx, s.d.Store.Pool, ls)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("early receipt lookup failed", zap.Error(err))
		}
		return
	}
	for i, m := range matches {
		if !m.Published {
			continue // its "submitted" is not out yet
		}
		e := cand[i]
		s.early.mu.Lock()
		if e.queued {
			s.early.mu.Unlock()
			continue
		}
		e.queued = true
		s.early.mu.Unlock()
		s.m.receipts.WithLabelValues(e.rc.op.Name, "late_matched").Inc()
		s.lane.Submit(ctx, &item{kind: kReceipt, op: e.rc.op, at: e.received, rc: e.rc, early: e.id})
	}
}

// adoptEvery and adoptAfter: every adoptEvery, early receipts that have
// waited adoptAfter are loaded from Postgres by every instance that does
// not hold them, so a receipt acknowledged by an instance that died is
// still applied. Whoever matches it first applies it; the others find the
// part final and change nothing.
const (
	adoptEvery = 2 * time.Second
	adoptAfter = 3 * time.Second
)

// loadEarly takes the early receipts received within dlr.early_hold and
// before before that this instance does not hold: at start, what its
// earlier run left waiting; later, what other instances (dead ones) did.
func (s *Stage) loadEarly(ctx context.Context, before time.Time) error {
	hold := s.d.Tables().EarlyHold
	if hold <= 0 {
		return nil
	}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	rows, err := store.LoadEarly(lctx, s.d.Store.Pool, time.Now().Add(-hold), before, s.o.MaxEarly)
	if err != nil {
		return err
	}
	s.early.mu.Lock()
	held := len(s.early.items)
	s.early.mu.Unlock()
	if held >= s.o.MaxEarly {
		return nil
	}
	for _, r := range rows {
		s.early.mu.Lock()
		_, have := s.early.items[r.ID]
		s.early.mu.Unlock()
		if have {
			continue
		}
		op := s.d.Operators[r.Operator]
		if op == nil {
			continue
		}
		rc := receipt{op: op, raw: r.SMSCRaw, state: r.State, keys: r.Keys, doneAt: r.DoneAt}
		rc.r.ID, rc.r.Err, rc.r.Stat = r.SMSCID, r.Err, r.Stat
		rc.r.State, _ = parseStat(r.Stat)
		s.early.add(r.ID, rc, r.ReceivedAt, s.o.MaxEarly)
	}
	return nil
}
