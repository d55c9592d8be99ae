package events

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/internal/message"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/router"
)

// Producer produces records synchronously (acks all).
type Producer interface {
	ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults
}

// Recovery repairs what a dead instance (or this instance's previous
// life) left: intents without outcome become unknown (they may have
// reached an SMSC: never sent again blindly, invariant 4), and the events
// of batches committed but not published are published again from the
// rows. Any live instance may run it; a lane is repaired by one at a time.
type Recovery struct {
	Pool         *pgxpool.Pool
	Producer     Producer
	Topics       Topics
	LastPartOnly LastPartOnly
	// Instance is this instance's id, Lanes its current lanes (not to be
	// repaired), Lane the lane recovery writes its own rows with.
	Instance string
	Lanes    []string
	Lane     string
	// DeadAfter: an instance without a heartbeat this long is dead.
	DeadAfter time.Duration
	Logger    *zap.Logger
	// Recovered counts messages made unknown.
	Recovered func(n int)
}

// Run repairs every dead lane it can lock; it returns the first error.
func (r *Recovery) Run(ctx context.Context) error {
	// Recovery's own rows (unknown attempts) are a lane too: if this
	// instance dies between writing them and publishing their events,
	// whoever repairs it publishes them.
	if err := store.RegisterLane(ctx, r.Pool, r.Lane, r.Instance, "recovery"); err != nil {
		return err
	}
	lanes, err := store.DeadLanes(ctx, r.Pool, r.Instance, r.Lanes, r.DeadAfter)
	if err != nil {
		return err
	}
	for _, l := range lanes {
		if err := r.repair(ctx, l); err != nil {
			return fmt.Errorf("repair lane %s: %w", l.ID, err)
		}
	}
	return nil
}

func (r *Recovery) repair(ctx context.Context, l store.LaneInfo) error {
	conn, err := r.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	// A session-level advisory lock held for the whole repair: produce
	// happens outside any transaction.
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended('lane:' || $1, 0))`, l.ID).Scan(&locked); err != nil {
		return err
	}
	if !locked {
		return nil
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtextextended('lane:' || $1, 0))`, l.ID) //nolint:errcheck // released with the session anyway
	if l.Kind == "intents" {
		n, err := r.unknowns(ctx, l)
		if err != nil {
			return err
		}
		if n > 0 {
			r.Logger.Warn("intents of a dead instance without outcome resolved as unknown", zap.String("lane", l.ID), zap.Int("messages", n))
			if r.Recovered != nil {
				r.Recovered(n)
			}
		}
	}
	from := l.Published
	for {
		batches, err := store.LaneBatches(ctx, r.Pool, l.ID, from, 500)
		if err != nil {
			return err
		}
		if len(batches) == 0 {
			break
		}
		recs, err := Republish(ctx, r.Pool, r.Topics, r.LastPartOnly, batches)
		if err != nil {
			return err
		}
		if err := r.produceCurrent(ctx, recs); err != nil {
			return err
		}
		from = batches[len(batches)-1]
		if err := store.SetPublished(ctx, r.Pool, l.ID, from); err != nil {
			return err
		}
	}
	return store.MarkRecovered(ctx, r.Pool, l.ID)
}

// unknowns writes unknown attempt rows for the lane's intents without
// outcome (batches after its settled watermark) and publishes their
// "unknown" events, a chunk at a time.
func (r *Recovery) unknowns(ctx context.Context, l store.LaneInfo) (int, error) {
	total := 0
	from := l.Settled
	for {
		batches, err := store.LaneBatches(ctx, r.Pool, l.ID, from, 500)
		if err != nil || len(batches) == 0 {
			return total, err
		}
		from = batches[len(batches)-1]
		open, err := store.IntentsWithoutOutcome(ctx, r.Pool, batches)
		if err != nil {
			return total, err
		}
		if len(open) == 0 {
			if err := store.SetSettled(ctx, r.Pool, l.ID, from); err != nil {
				return total, err
			}
			continue
		}
		now := time.Now()
		var b int64
		err = pgx.BeginFunc(ctx, r.Pool, func(tx pgx.Tx) error {
			var err error
			if b, err = store.BeginBatch(ctx, tx, r.Lane); err != nil {
				return err
			}
			var rows []store.AttemptRow
			// Their receipts cannot be correlated (no SMSC ids were
			// stored), so no charge follows: what they reserved is free.
			var release []store.FundsDelta
			for _, u := range open {
				if u.Reserved != 0 {
					release = append(release, store.FundsDelta{Account: u.Account, Reserved: -billing.Amount(u.Reserved)})
				}
				for p := int16(1); p <= max(u.Parts, 1); p++ {
					rows = append(rows, store.AttemptRow{MessageID: u.ID, Gen: u.Gen, Part: p, Attempt: max(u.Attempt, 1),
						Parts: max(u.Parts, 1), Operator: u.Operator, State: message.Unknown, SubmittedAt: now,
						Account: u.Account, Destination: u.Dest, CountryPrefix: router.CountryPrefix(u.Dest), Network: u.Network,
						Month: now.UTC().Format("2006-01")})
				}
			}
			if err := store.AppendAttempts(ctx, tx, b, rows); err != nil {
				return err
			}
			return store.MoveFunds(ctx, tx, release)
		})
		if err != nil {
			return total, err
		}
		total += len(open)
		ids := make([]string, len(open))
		for i, u := range open {
			ids[i] = u.ID
		}
		if err := r.publishCurrent(ctx, ids); err != nil {
			return total, err
		}
		if err := store.SetPublished(ctx, r.Pool, r.Lane, b); err != nil {
			return total, err
		}
		if err := store.SetSettled(ctx, r.Pool, l.ID, from); err != nil {
			return total, err
		}
	}
}

// publishCurrent publishes the current status of ids.
func (r *Recovery) publishCurrent(ctx context.Context, ids []string) error {
	recs, err := currentEvents(ctx, r.Pool, r.Topics, r.LastPartOnly, ids, nil)
	if err != nil {
		return err
	}
	return r.produceCurrent(ctx, recs)
}

// produceCurrent produces events rebuilt from the rows, then the status of
// those messages that moved on meanwhile (see Recheck).
func (r *Recovery) produceCurrent(ctx context.Context, recs []*kgo.Record) error {
	if err := r.produce(ctx, recs); err != nil {
		return err
	}
	fix, err := Recheck(ctx, r.Pool, r.Topics, r.LastPartOnly, recs)
	if err != nil {
		return err
	}
	return r.produce(ctx, fix)
}

func (r *Recovery) produce(ctx context.Context, recs []*kgo.Record) error {
	if len(recs) == 0 {
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	return r.Producer.ProduceSync(pctx, recs...).FirstErr()
}

// DrainOutbox publishes the events a v1 gateway left in its outbox (the
// table exists only in a database upgraded from v1) and deletes them. It
// returns how many it published.
func DrainOutbox(ctx context.Context, pool *pgxpool.Pool, p Producer, t Topics) (int, error) {
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('outbox') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		return 0, err
	}
	total := 0
	for {
		rows, err := pool.Query(ctx, `SELECT seq, topic, key, payload FROM outbox ORDER BY seq LIMIT 5000`)
		if err != nil {
			return total, err
		}
		var seqs []int64
		var recs []*kgo.Record
		var seq int64
		var topic int16
		var key string
		var payload []byte
		if _, err := pgx.ForEachRow(rows, []any{&seq, &topic, &key, &payload}, func() error {
			to := t.StatusTopic
			if topic == 2 {
				to = t.MOTopic
			}
			seqs = append(seqs, seq)
			recs = append(recs, &kgo.Record{Topic: to, Key: []byte(key), Value: append([]byte(nil), payload...)})
			return nil
		}); err != nil {
			return total, err
		}
		if len(recs) == 0 {
			return total, nil
		}
		pctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		err = p.ProduceSync(pctx, recs...).FirstErr()
		cancel()
		if err != nil {
			return total, err
		}
		if _, err := pool.Exec(ctx, `DELETE FROM outbox WHERE seq = ANY($1)`, seqs); err != nil {
			return total, err
		}
		total += len(recs)
	}
}
