package dispatch

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/internal/message"
	"github.com/smsgate/smsgate/internal/store"
)

// unparkLoop takes due parked rows into the queues of the operators this
// instance sends for, as their queues have room; and hands the due
// backlog of operators down in the whole cluster for a while to their
// next route (failover of whole queues; forced routes wait).
func (s *Stage) unparkLoop(ctx context.Context) {
	t := time.NewTicker(s.o.UnparkEvery)
	defer t.Stop()
	downSince := map[string]time.Time{}
	rounds := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.unparkKick:
		}
		for name, op := range s.ops {
			if !op.takesWork() {
				continue
			}
			room := op.q.cap/2 - op.q.len()
			if room <= 0 {
				continue
			}
			n := min(room, 5000)
			tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			msgs, err := store.TakeParked(tctx, s.st.Pool, name, s.o.InstanceID, n, s.o.ParkLease)
			cancel()
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("taking parked messages failed", zap.String("operator", name), zap.Error(err))
				}
				continue
			}
			if len(msgs) == 0 {
				continue
			}
			qs := make([]queued, len(msgs))
			for i, m := range msgs {
				qs[i] = queued{m: m}
			}
			op.q.pushBack(qs)
			s.m.unparked.WithLabelValues(name).Add(float64(len(msgs)))
			if len(msgs) == n {
				signal(s.unparkKick) // more may be due
			}
		}
		rounds++
		if rounds%8 == 0 {
			s.rerouteDown(ctx, downSince)
		}
	}
}

// rerouteDown moves the due parked backlog of operators that have been
// unusable in the whole cluster for downAfter to their next usable route.
// A drained, disabled or in-maintenance operator keeps its backlog: it is
// away on purpose.
func (s *Stage) rerouteDown(ctx context.Context, downSince map[string]time.Time) {
	now := time.Now()
	t := s.tables()
	for name := range s.ops {
		if s.controls.Usable(name) || !s.controls.Accepting(name) {
			delete(downSince, name)
			continue
		}
		since, ok := downSince[name]
		if !ok {
			downSince[name] = now
			continue
		}
		if now.Sub(since) < downAfter {
			continue
		}
		err := pgx.BeginFunc(ctx, s.st.Pool, func(tx pgx.Tx) error {
			keys, dests, nets, err := store.ParkedFor(ctx, tx, name, 2000)
			if err != nil || len(keys) == 0 {
				return err
			}
			moved := keys[:0]
			for i, k := range keys {
				tried := append(append([]string{}, k.Tried...), name)
				next := t.NextOperator(dests[i], nets[i], "", tried, now, s.controls.Usable, rand.Float64())
				if next == "" || next == name {
					continue
				}
				k.Operator, k.Tried = next, tried
				moved = append(moved, k)
			}
			if len(moved) == 0 {
				return nil
			}
			s.m.failovers.WithLabelValues(name).Add(float64(len(moved)))
			return store.Reassign(ctx, tx, moved)
		})
		if err != nil && ctx.Err() == nil {
			s.log.Warn("moving a down operator's backlog failed", zap.String("operator", name), zap.Error(err))
		}
	}
}

// downAfter is how long an operator is down in the whole cluster before
// its parked backlog moves to the next route.
const downAfter = 10 * time.Second

// repark gives messages back to the parked set: intents that did not
// reach the wire and leased parked rows not sent. state is Queued (due)
// or Scheduled (due then).
func (s *Stage) repark(ctx context.Context, ms []*message.Message, state message.State, due time.Time) {
	if len(ms) == 0 {
		return
	}
	keys := make([]store.ParkedKey, len(ms))
	for i, m := range ms {
		keys[i] = store.ParkedKey{ID: m.ID, Gen: m.Gen, Operator: m.Operator, Attempt: max(m.Attempt, 1), Tried: m.Tried}
		s.m.parked.WithLabelValues(m.Operator).Inc()
	}
	backoff := 100 * time.Millisecond
	for {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := pgx.BeginFunc(rctx, s.st.Pool, func(tx pgx.Tx) error {
			if _, err := store.Repark(rctx, tx, 0, keys, state, due); err != nil {
				return err
			}
			return releaseReserved(rctx, tx, ms)
		})
		cancel()
		if err == nil {
			for _, m := range ms {
				m.Reserved = 0
			}
			return
		}
		// Not written: the rows stay journaled (recovered as unknown) or
		// leased (due again when the lease runs out).
		s.log.Warn("parking back failed", zap.Int("messages", len(ms)), zap.Error(err))
		if ctx.Err() != nil || !sleepFor(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

func sleepFor(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// nextRoute is the usable route a message would fail over to ("" none).
func (s *Stage) nextRoute(m *message.Message) string {
	return s.tables().NextOperator(m.Dest, m.Network, m.ForcedRoute, m.Tries(), time.Now(), s.controls.Usable, rand.Float64())
}

// batchCounter counts, per intent batch, the messages whose outcome is not
// written yet: the intent lane's settled watermark is below the oldest.
type batchCounter struct {
	mu   sync.Mutex
	open map[int64]int
	max  int64 // the newest batch seen
}

func newBatchCounter() *batchCounter { return &batchCounter{open: map[int64]int{}} }

func (b *batchCounter) add(batch int64) {
	b.mu.Lock()
	b.open[batch]++
	b.max = max(b.max, batch)
	b.mu.Unlock()
}

func (b *batchCounter) done(batch int64) {
	if batch == 0 {
		return
	}
	b.mu.Lock()
	if n := b.open[batch]; n <= 1 {
		delete(b.open, batch)
	} else {
		b.open[batch] = n - 1
	}
	b.mu.Unlock()
}

// settled is the highest batch below every open one.
func (b *batchCounter) settled() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	low := b.max
	for k := range b.open {
		if k-1 < low {
			low = k - 1
		}
	}
	return low
}

// settledLoop stores the intent lane's settled watermark every second.
func (s *Stage) settledLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var last int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w := s.unsettled.settled()
		if w <= last {
			continue
		}
		if err := store.SetSettled(ctx, s.st.Pool, s.o.InstanceID+"/intents", w); err == nil {
			last = w
		}
	}
}
