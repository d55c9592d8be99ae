package gateway

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/smsgate/smsgate/internal/events"
	"github.com/smsgate/smsgate/internal/store"
)

// housekeeping runs the periodic jobs of this instance: heartbeat, the
// duplicate-event sweep, recovery of dead instances' journals, the
// dlr.timeout sweep, timed-out MO, partitions and retention, and the
// gauges. Every job is idempotent and safe on several instances at once.
func (g *Gateway) housekeeping(ctx context.Context) error {
	tick := time.NewTicker(g.opts.HousekeepingEvery)
	defer tick.Stop()
	id := g.opts.InstanceID
	rec := g.recovery([]string{id + "/intents", id + "/outcomes", id + "/inbound", id + "/control", id + "/recovery"})
	g.job(ctx, "v1 outbox", func() error {
		n, err := events.DrainOutbox(ctx, g.store.Pool, g.producer, g.topics)
		if n > 0 {
			g.log.Info("events left by a v1 gateway published", zap.Int("events", n))
		}
		return err
	})
	timeoutFrom := time.Time{}
	var n int
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-g.dispatch.DuplicateKick():
			g.job(ctx, "duplicates", func() error { return g.sweepDuplicates(ctx) })
			continue
		}
		n++
		g.job(ctx, "heartbeat", func() error { return store.Heartbeat(ctx, g.store.Pool, g.opts.InstanceID) })
		g.job(ctx, "duplicates", func() error { return g.sweepDuplicates(ctx) })
		if n%4 == 0 {
			g.job(ctx, "recovery", func() error { return rec.Run(ctx) })
		}
		if n%10 == 0 {
			g.job(ctx, "queue gauges", g.sampleQueues)
			g.job(ctx, "kafka lag", g.sampleKafkaLag)
			g.job(ctx, "billing gauges", g.sampleBilling)
			g.job(ctx, "account gauges", g.sampleAccounts)
		}
		if n%20 == 0 {
			g.job(ctx, "dlr timeout", func() error { return g.expireReceipts(ctx, &timeoutFrom) })
			g.receipts.SweepMO(ctx)
		}
		if n%7200 == 1 {
			g.job(ctx, "partitions", func() error { return g.maintainPartitions(ctx) })
		}
	}
}

func (g *Gateway) job(ctx context.Context, name string, f func() error) {
	if err := f(); err != nil && ctx.Err() == nil {
		g.log.Warn("housekeeping job failed", zap.String("job", name), zap.Error(err))
	}
}

func (g *Gateway) sweepDuplicates(ctx context.Context) error {
	for i := 0; i < 10; i++ {
		n, err := events.SweepDuplicates(ctx, g.store.Pool, g.producer, g.topics, g.lastPartOnly)
		if err != nil || n == 0 {
			return err
		}
		g.metrics.duplicates.Add(float64(n))
	}
	return nil
}

// expireReceipts ends parts without a final receipt after dlr.timeout: it
// reads parts submitted before now − timeout (from where the last sweep of
// this instance stopped, at most a day further back at start) and hands
// them to the receipts stage, which writes the expired verdicts.
func (g *Gateway) expireReceipts(ctx context.Context, from *time.Time) error {
	t := g.tables.Load()
	to := time.Now().Add(-t.DLRTimeout)
	if from.IsZero() || from.After(to) {
		*from = to.Add(-24 * time.Hour)
	}
	parts, err := store.AwaitingReceipts(ctx, g.store.Pool, *from, to, 5000)
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		*from = to
		return nil
	}
	g.receipts.Expire(ctx, parts)
	g.metrics.dlrTimeouts.Add(float64(len(parts)))
	if len(parts) < 5000 {
		*from = to
	} else {
		*from = parts[len(parts)-1].SubmittedAt
	}
	return nil
}

// maintainPartitions creates the coming days' partitions and drops those
// past retention.
func (g *Gateway) maintainPartitions(ctx context.Context) error {
	now := time.Now()
	if err := g.store.EnsurePartitions(ctx, now.Add(-24*time.Hour), now.Add(8*24*time.Hour)); err != nil {
		return err
	}
	r, err := g.store.DropExpired(ctx, now, g.cfg.Retention.Messages, g.cfg.Retention.Ledger)
	if len(r.Partitions) > 0 || r.Moved > 0 {
		g.log.Info("retention: partitions dropped", zap.Strings("partitions", r.Partitions), zap.Int64("parked_carried", r.Moved))
	}
	return err
}

// sampleQueues sets the queue gauges: messages in memory per operator and
// parked per operator and state. Every operator × state gets a value (0
// when empty), so the series never disappear from dashboards.
func (g *Gateway) sampleQueues() error {
	depth, err := store.ParkedDepth(context.Background(), g.store.Pool)
	if err != nil {
		return err
	}
	for op := range g.operators {
		info := g.dispatch.Info(op)
		g.metrics.queueDepth.WithLabelValues(op, "queued").Set(float64(info.Queued) + float64(depth[[2]string{op, "queued"}]))
		g.metrics.queueDepth.WithLabelValues(op, "sending").Set(float64(info.Journaled + info.InFlight))
		for _, st := range []string{"scheduled", "held"} {
			g.metrics.queueDepth.WithLabelValues(op, st).Set(float64(depth[[2]string{op, st}]))
		}
	}
	return nil
}
