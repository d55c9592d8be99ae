package gateway

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/internal/store"
)

// publisher moves events from the Postgres outbox to Kafka: read the oldest
// rows, produce them (RequiredAcks all, in seq order so one message's events
// keep their order), delete them. A crash between produce and delete
// publishes a batch twice; consumers see a repeated event, never a lost or
// reordered one. In a cluster one publisher at a time holds the outbox.
type publisher struct {
	g      *Gateway
	wake   chan struct{}
	status *kafka.Writer
	mo     *kafka.Writer
}

func (p *publisher) kick() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *publisher) run(ctx context.Context) error {
	idle := time.NewTimer(time.Hour)
	defer idle.Stop()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		n, err := p.publishOnce(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			p.g.log.Warn("publishing events failed; retrying", zap.Error(err))
			sleepCtx(ctx, backoff)
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if n == p.g.opts.PublishBatch {
			continue // more waiting
		}
		idle.Reset(250 * time.Millisecond)
		select {
		case <-ctx.Done():
		case <-p.wake:
		case <-idle.C:
		}
		idle.Stop()
	}
	// Final flush on shutdown, bounded.
	fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		n, err := p.publishOnce(fctx)
		if err != nil || n < p.g.opts.PublishBatch {
			return nil
		}
	}
}

// outboxLock is the advisory lock one publisher of the cluster holds per
// batch: two instances publishing the same rows would repeat them, and a
// slow one could publish a message's older event after a newer one.
const outboxLock = 7243002

func (p *publisher) publishOnce(ctx context.Context) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, p.g.store.Pool, func(tx pgx.Tx) error {
		var leader bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, outboxLock).Scan(&leader); err != nil {
			return err
		}
		if !leader {
			return nil // another instance is publishing this batch
		}
		rows, err := store.ReadOutbox(ctx, tx, p.g.opts.PublishBatch)
		if err != nil || len(rows) == 0 {
			return err
		}
		var status, mo []kafka.Message
		seqs := make([]int64, len(rows))
		for i, r := range rows {
			seqs[i] = r.Seq
			m := kafka.Message{Key: []byte(r.Key), Value: r.Payload}
			if r.Topic == store.TopicMO {
				mo = append(mo, m)
			} else {
				status = append(status, m)
			}
		}
		if len(status) > 0 {
			if err := p.g.produce(ctx, p.status, status); err != nil {
				return err
			}
			p.g.metrics.published.WithLabelValues("status").Add(float64(len(status)))
		}
		if len(mo) > 0 {
			if err := p.g.produce(ctx, p.mo, mo); err != nil {
				return err
			}
			p.g.metrics.published.WithLabelValues("mo").Add(float64(len(mo)))
		}
		if _, err := tx.Exec(ctx, `DELETE FROM outbox WHERE seq = ANY($1)`, seqs); err != nil {
			return err
		}
		n = len(rows)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
