package gateway

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/dlr"
	"github.com/smsgate/smsgate/internal/store"
)

// housekeeping runs the periodic jobs of this instance: heartbeat, promote
// scheduled messages, match early receipts, recover dead instances'
// claims, expire receipts past dlr.timeout, flush timed-out MO, reroute
// the backlog of operators that are down, and sample queue gauges. Every
// job is idempotent and safe to run on several instances at once.
func (g *Gateway) housekeeping(ctx context.Context) error {
	tick := time.NewTicker(g.opts.HousekeepingEvery)
	defer tick.Stop()
	var n int
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		n++
		g.job(ctx, "heartbeat", func() error { return store.Heartbeat(ctx, g.store.Pool, g.opts.InstanceID) })
		g.job(ctx, "scheduled", g.promoteScheduled)
		if n%4 == 0 {
			g.job(ctx, "orphaned claims", g.recoverOrphans)
			g.job(ctx, "reroute", g.rerouteDown)
		}
		if n%10 == 0 {
			g.job(ctx, "queue gauges", g.sampleQueues)
			g.job(ctx, "kafka lag", g.sampleKafkaLag)
			g.job(ctx, "billing gauges", g.sampleBilling)
		}
		if n%20 == 0 {
			g.job(ctx, "dlr timeout", g.expireReceipts)
			g.job(ctx, "mo timeout", g.sweepMO)
		}
	}
}

func (g *Gateway) job(ctx context.Context, name string, f func() error) {
	if err := f(); err != nil && ctx.Err() == nil {
		g.log.Warn("housekeeping job failed", zap.String("job", name), zap.Error(err))
	}
}

func (g *Gateway) promoteScheduled() error {
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		n, err := store.PromoteScheduled(ctx, g.store.Pool, time.Now(), 5000)
		if err != nil {
			return err
		}
		if n > 0 {
			g.notifyDispatchers()
		}
		if n < 5000 {
			return nil
		}
	}
	return nil
}

// earlyMatcher runs matchEarly when the outcome writer stored parts (a
// receipt that came before its submit_sm_resp was written may match now)
// and on every housekeeping tick, at most every earlyMatchGap. Apart from
// the other jobs, so slow gauges or sweeps never delay a receipt's status.
func (g *Gateway) earlyMatcher(ctx context.Context) error {
	tick := time.NewTicker(g.opts.HousekeepingEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-g.earlyKick:
		}
		g.job(ctx, "early receipts", g.matchEarly)
		if !sleepCtx(ctx, earlyMatchGap) {
			return nil
		}
	}
}

// earlyMatchGap bounds matchEarly to 10 runs a second: with thousands of
// early receipts waiting, one run costs a probe per receipt.
const earlyMatchGap = 100 * time.Millisecond

// kickEarlyMatcher asks for a matchEarly run soon.
func (g *Gateway) kickEarlyMatcher() {
	select {
	case g.earlyKick <- struct{}{}:
	default:
	}
}

// matchEarly applies receipts that arrived before their submit_sm_resp
// once their part exists, and gives up on those older than dlr.early_hold
// (orphans, counted).
func (g *Gateway) matchEarly() error {
	ctx := context.Background()
	t := g.tables.Load()
	orphans, err := store.OrphanEarly(ctx, g.store.Pool, t.earlyHold)
	if err != nil {
		return err
	}
	for op, n := range orphans {
		g.metrics.receipts.WithLabelValues(op, "orphan").Add(float64(n))
	}
	return pgx.BeginFunc(ctx, g.store.Pool, func(tx pgx.Tx) error {
		pending, err := store.PendingEarly(ctx, tx, 1000)
		if err != nil || len(pending) == 0 {
			return err
		}
		rs := make([]parsedReceipt, 0, len(pending))
		ids := make([]int64, 0, len(pending))
		for _, e := range pending {
			ids = append(ids, e.ID)
			op := g.operators[e.Operator]
			if op == nil {
				continue
			}
			st, _ := dlr.ParseState(e.Stat)
			rs = append(rs, parsedReceipt{op: op, r: dlr.Receipt{ID: e.SMSCID, Err: e.Err, State: st}, state: e.State, keys: e.Keys, doneAt: e.DoneAt})
			g.metrics.receipts.WithLabelValues(e.Operator, "late_matched").Inc()
		}
		events, err := g.applyReceipts(ctx, tx, rs, time.Now(), true)
		if err != nil {
			return err
		}
		if err := store.ResolveEarly(ctx, tx, ids, nil); err != nil {
			return err
		}
		if len(events) > 0 {
			defer g.publisher.kick()
		}
		return store.InsertOutbox(ctx, tx, events)
	})
}

// recoverOrphans resolves claims of instances that stopped heart-beating:
// their messages may be on the wire, so they become Unknown (invariant 4)
// and wait for a receipt or dlr.timeout.
func (g *Gateway) recoverOrphans() error {
	ctx := context.Background()
	ids, err := store.Orphaned(ctx, g.store.Pool, g.opts.InstanceID, g.started, g.opts.OrphanAfter, 5000)
	if err != nil || len(ids) == 0 {
		return err
	}
	return pgx.BeginFunc(ctx, g.store.Pool, func(tx pgx.Tx) error {
		moved, err := store.MarkUnknown(ctx, tx, ids)
		if err != nil || len(moved) == 0 {
			return err
		}
		views, err := store.LoadStatus(ctx, tx, moved)
		if err != nil {
			return err
		}
		now := time.Now()
		events := make([]store.OutboxRow, 0, len(moved))
		for _, id := range moved {
			if v, ok := views[id]; ok {
				ev := g.eventFromView(v, now)
				ev.Reason, ev.Detail = "", ""
				events = append(events, store.OutboxRow{Topic: store.TopicStatus, Key: id, Payload: ev.appendJSON(nil)})
			}
		}
		g.metrics.recovered.WithLabelValues("unknown").Add(float64(len(moved)))
		g.log.Warn("claims of a dead instance resolved as unknown", zap.Int("messages", len(moved)))
		defer g.publisher.kick()
		return store.InsertOutbox(ctx, tx, events)
	})
}

// expireReceipts ends messages without a final receipt after dlr.timeout.
func (g *Gateway) expireReceipts() error {
	ctx := context.Background()
	t := g.tables.Load()
	return pgx.BeginFunc(ctx, g.store.Pool, func(tx pgx.Tx) error {
		ids, err := store.DLRTimedOut(ctx, tx, time.Now().Add(-t.dlrTimeout), 5000)
		if err != nil || len(ids) == 0 {
			return err
		}
		states := make([]int16, len(ids))
		reasons := make([]*string, len(ids))
		reason := "dlr_timeout"
		for i := range ids {
			states[i], reasons[i] = int16(store.Expired), &reason
		}
		if err := store.SetMessageStates(ctx, tx, ids, states, reasons); err != nil {
			return err
		}
		views, err := store.LoadStatus(ctx, tx, ids)
		if err != nil {
			return err
		}
		now := time.Now()
		events := make([]store.OutboxRow, 0, len(ids))
		for _, id := range ids {
			if v, ok := views[id]; ok {
				ev := g.eventFromView(v, now)
				events = append(events, store.OutboxRow{Topic: store.TopicStatus, Key: id, Payload: ev.appendJSON(nil)})
				g.metrics.finals.WithLabelValues(v.Operator, "expired").Inc()
			}
		}
		g.metrics.dlrTimeouts.Add(float64(len(ids)))
		defer g.publisher.kick()
		return store.InsertOutbox(ctx, tx, events)
	})
}

// sweepMO publishes multipart MO whose parts stopped arriving.
func (g *Gateway) sweepMO() error {
	ctx := context.Background()
	t := g.tables.Load()
	return pgx.BeginFunc(ctx, g.store.Pool, func(tx pgx.Tx) error {
		ra := dlr.NewReassembler(store.MOStore{Tx: tx}, t.moTimeout, dlr.ReassemblerOptions{Keywords: t.keywords})
		mos, err := ra.Sweep(ctx, time.Now())
		if err != nil || len(mos) == 0 {
			return err
		}
		done := make([]*dlr.MO, len(mos))
		for i := range mos {
			done[i] = &mos[i]
		}
		events, err := g.publishMO(ctx, tx, ra, done, time.Now())
		if err != nil {
			return err
		}
		defer g.publisher.kick()
		return store.InsertOutbox(ctx, tx, events)
	})
}

// rerouteDown hands the queued backlog of an operator that has been
// unusable for a while to the next usable route (failover of whole
// queues; messages with a forced route wait).
func (g *Gateway) rerouteDown() error {
	ctx := context.Background()
	now := time.Now()
	t := g.tables.Load()
	for name := range g.pools {
		g.downMu.Lock()
		// A drained or disabled operator keeps its queue: it is down on
		// purpose and comes back with enable; so does one in maintenance.
		if g.operatorUp(name) || g.control(name) != "" || t.inMaintenance(name, now) {
			delete(g.downSince, name)
			g.downMu.Unlock()
			continue
		}
		since, ok := g.downSince[name]
		if !ok {
			g.downSince[name] = now
			since = now
		}
		g.downMu.Unlock()
		if now.Sub(since) < 10*time.Second {
			continue
		}
		err := pgx.BeginFunc(ctx, g.store.Pool, func(tx pgx.Tx) error {
			queued, err := store.QueuedFor(ctx, tx, name, 2000)
			if err != nil || len(queued) == 0 {
				return err
			}
			var ids, ops, tried []string
			for i := range queued {
				c := &queued[i]
				if c.ForcedRoute != "" {
					continue
				}
				tr := append(append([]string{}, c.Tried...), name)
				m := &inflightMsg{c: *c, operator: name}
				next := g.nextOperator(t, m, tr, now)
				if next == "" || next == name {
					continue
				}
				ids, ops, tried = append(ids, c.ID), append(ops, next), append(tried, joinTried(tr))
			}
			if len(ids) == 0 {
				return nil
			}
			g.metrics.failovers.WithLabelValues(name).Add(float64(len(ids)))
			return store.Reassign(ctx, tx, ids, ops, tried)
		})
		if err != nil {
			return err
		}
		g.notifyDispatchers()
	}
	return nil
}

func joinTried(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}

func (g *Gateway) sampleQueues() error {
	depth, err := store.QueueDepth(context.Background(), g.store.Pool)
	if err != nil {
		return err
	}
	// Every operator × live state gets a value (0 when empty), so the
	// series never disappear from dashboards.
	for op := range g.operators {
		for _, st := range []store.State{store.Queued, store.Sending, store.Scheduled, store.Held} {
			g.metrics.queueDepth.WithLabelValues(op, st.String()).Set(float64(depth[[2]string{op, st.String()}]))
		}
	}
	return nil
}
