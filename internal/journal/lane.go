// Package journal is the group-commit engine the pipeline's writers share.
// A Lane collects items from its stage, writes each batch in one Postgres
// transaction (the stage's named store operations), and after the commit
// runs the batch's effects and hands its events to the lane's publisher,
// in commit order. A batch that fails on data is split until the bad item
// is alone; that item goes to the stage's Poison handler and the rest
// proceeds. Other errors (Postgres away) are retried with back-off while
// the lane reports itself blocked.
package journal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/internal/health"
	"github.com/smsgate/smsgate/internal/store"
)

// Effects is what a committed batch causes: events to publish (in order)
// and in-memory changes, which must not happen before the commit.
type Effects struct {
	Events []*kgo.Record
	After  func()
	// Depends: produce Events only after the named lanes' events up to
	// these batches were produced (a receipt's status after the outcome
	// that said "submitted", written by another lane of this instance).
	Depends map[string]int64
}

// Add appends another batch's effects (used when a stage writes several
// kinds of items in one transaction).
func (e *Effects) Add(o Effects) {
	e.Events = append(e.Events, o.Events...)
	for l, b := range o.Depends {
		if e.Depends == nil {
			e.Depends = map[string]int64{}
		}
		e.Depends[l] = max(e.Depends[l], b)
	}
	if o.After != nil {
		if prev := e.After; prev != nil {
			e.After = func() { prev(); o.After() }
		} else {
			e.After = o.After
		}
	}
}

// Writer writes one batch in tx and returns its effects.
type Writer[T any] func(ctx context.Context, tx pgx.Tx, batch int64, items []T) (Effects, error)

// Options configure a lane.
type Options[T any] struct {
	// ID names the lane in Postgres (instance/kind); Kind is its stage.
	ID, Instance, Kind string
	// Size is the most items per batch; Linger how long a batch waits to
	// fill after its first item (defaults 2000, 2ms).
	Size   int
	Linger time.Duration
	// Queue is the channel capacity (default 4×Size): senders block when
	// it is full, which is the back-pressure on the stage.
	Queue int
	Pool  *pgxpool.Pool
	Write Writer[T]
	// Poison takes an item that fails alone on data (a value Postgres
	// refuses); the stage rejects or acknowledges it, logs it, counts it.
	Poison    func(item T, err error)
	Publisher *Publisher
	Progress  *health.Stage
	Logger    *zap.Logger
	Metrics   *Metrics
}

// Lane is one group-commit writer.
type Lane[T any] struct {
	o  Options[T]
	in chan T
	// conn is held by the lane's goroutine across batches: one backend
	// keeps the lane's tables, indexes and plans warm (rotating through
	// the pool's backends measured ~25% more Postgres CPU per row).
	conn *pgxpool.Conn
	// inDoubt is a batch whose COMMIT got no answer (the connection broke
	// under it): it may have committed. Before its items are written again
	// the lane asks Postgres; a committed batch gets its effects then,
	// instead of a second write that would collide with its own rows.
	inDoubt *doubtful
}

type doubtful struct {
	batch int64
	eff   Effects
}

// NewLane returns a lane; Run writes until its context ends.
func NewLane[T any](o Options[T]) *Lane[T] {
	if o.Size <= 0 {
		o.Size = 2000
	}
	if o.Linger <= 0 {
		o.Linger = 2 * time.Millisecond
	}
	if o.Queue <= 0 {
		o.Queue = 4 * o.Size
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Progress == nil {
		o.Progress = health.NewRegistry().Stage(o.Kind)
	}
	return &Lane[T]{o: o, in: make(chan T, o.Queue)}
}

// Submit queues an item; it blocks while the lane is full (back-pressure)
// and returns false when ctx ends first.
func (l *Lane[T]) Submit(ctx context.Context, it T) bool {
	select {
	case l.in <- it:
		return true
	default:
	}
	l.o.Progress.Waiting(true)
	select {
	case l.in <- it:
		return true
	case <-ctx.Done():
		return false
	}
}

// Len is the number of items waiting.
func (l *Lane[T]) Len() int { return len(l.in) }

// Run writes batches until ctx ends, then writes what is queued (bounded
// by 10s) and returns.
func (l *Lane[T]) Run(ctx context.Context) error {
	if err := l.register(ctx); err != nil {
		return err
	}
	buf := make([]T, 0, l.o.Size)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer func() {
		if l.conn != nil {
			l.conn.Release()
			l.conn = nil
		}
	}()
	for {
		buf = buf[:0]
		select {
		case <-ctx.Done():
			return l.flush()
		case it := <-l.in:
			buf = append(buf, it)
		}
		timer.Reset(l.o.Linger)
	fill:
		for len(buf) < cap(buf) {
			select {
			case it := <-l.in:
				buf = append(buf, it)
			case <-timer.C:
				break fill
			}
		}
		timer.Stop()
		l.write(ctx, buf)
		l.o.Progress.Waiting(len(l.in) > 0)
	}
}

func (l *Lane[T]) register(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := store.RegisterLane(rctx, l.o.Pool, l.o.ID, l.o.Instance, l.o.Kind)
		cancel()
		if err == nil || ctx.Err() != nil {
			return nil
		}
		l.o.Progress.Blocked(err.Error())
		l.o.Logger.Warn("journal lane not registered yet; retrying", zap.String("lane", l.o.ID), zap.Error(err))
		if !sleepCtx(ctx, backoff) {
			return nil
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// flush writes what is still queued at shutdown.
func (l *Lane[T]) flush() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		buf := make([]T, 0, l.o.Size)
	drain:
		for len(buf) < cap(buf) {
			select {
			case it := <-l.in:
				buf = append(buf, it)
			default:
				break drain
			}
		}
		if len(buf) == 0 {
			return nil
		}
		l.write(ctx, buf)
	}
	return nil
}

// write commits items, splitting around data errors, retrying the rest
// until it is written or ctx ends. The transaction itself is not cut by
// shutdown: only retries stop.
func (l *Lane[T]) write(ctx context.Context, items []T) {
	backoff := 100 * time.Millisecond
	for {
		err := l.commit(ctx, items)
		if err == nil {
			l.o.Progress.Blocked("")
			l.o.Progress.Advanced()
			return
		}
		if IsDataError(err) {
			l.o.Metrics.splits.WithLabelValues(l.o.Kind).Inc()
			if len(items) == 1 {
				l.o.Metrics.poison.WithLabelValues(l.o.Kind).Inc()
				l.o.Logger.Warn("journal item refused by Postgres; isolated", zap.String("lane", l.o.ID), zap.Error(err))
				if l.o.Poison != nil {
					l.o.Poison(items[0], err)
				}
				return
			}
			half := len(items) / 2
			l.write(ctx, items[:half])
			l.write(ctx, items[half:])
			return
		}
		l.o.Metrics.retries.WithLabelValues(l.o.Kind).Inc()
		l.o.Progress.Waiting(true)
		l.o.Progress.Blocked(err.Error())
		l.o.Logger.Warn("journal batch not written; retrying", zap.String("lane", l.o.ID), zap.Int("items", len(items)), zap.Error(err))
		if ctx.Err() != nil && !sleepCtx(context.Background(), backoff) {
			return
		}
		if !sleepCtx(ctx, backoff) {
			// Shutting down: one more try below the flush deadline is made
			// by flush's own context; give up here.
			return
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (l *Lane[T]) commit(ctx context.Context, items []T) error {
	start := time.Now()
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if l.inDoubt != nil {
		committed, err := store.BatchExists(wctx, l.o.Pool, l.inDoubt.batch)
		if err != nil {
			return fmt.Errorf("batch %d of %s in doubt: %w", l.inDoubt.batch, l.o.ID, err)
		}
		d := l.inDoubt
		l.inDoubt = nil
		if committed {
			l.o.Logger.Info("journal batch in doubt had committed", zap.String("lane", l.o.ID), zap.Int64("batch", d.batch))
			l.applied(d.batch, d.eff, len(items), start)
			return nil
		}
	}
	var eff Effects
	var batch int64
	wrote := false
	if l.conn == nil {
		c, err := l.o.Pool.Acquire(wctx)
		if err != nil {
			return err
		}
		l.conn = c
	}
	err := pgx.BeginFunc(wctx, l.conn, func(tx pgx.Tx) error {
		var err error
		batch, err = store.BeginBatch(wctx, tx, l.o.ID)
		if err != nil {
			return err
		}
		eff, err = l.o.Write(wctx, tx, batch, items)
		wrote = err == nil
		return err
	})
	if err != nil {
		var pe *pgconn.PgError
		if !errors.As(err, &pe) {
			// The connection may be broken: the pool checks it on release
			// and the next batch takes another.
			l.conn.Release()
			l.conn = nil
			if wrote {
				// Failed at or after COMMIT without an answer.
				l.inDoubt = &doubtful{batch: batch, eff: eff}
			}
		}
		return err
	}
	l.applied(batch, eff, len(items), start)
	return nil
}

// applied runs a committed batch's effects and hands its events on.
func (l *Lane[T]) applied(batch int64, eff Effects, n int, start time.Time) {
	l.o.Metrics.batch.WithLabelValues(l.o.Kind).Observe(time.Since(start).Seconds())
	l.o.Metrics.items.WithLabelValues(l.o.Kind).Add(float64(n))
	if eff.After != nil {
		eff.After()
	}
	l.o.Publisher.Enqueue(l.o.ID, batch, eff.Events, eff.Depends)
}

// IsDataError reports whether Postgres refused the data itself (classes
// 22 data exception and 23 integrity constraint violation): retrying the
// same batch would fail the same way, so it is split instead.
func IsDataError(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return len(pe.Code) == 5 && (pe.Code[:2] == "22" || pe.Code[:2] == "23")
	}
	var de *DataError
	return errors.As(err, &de)
}

// DataError is a stage's own refusal of an item's data (found while
// building the batch), handled as Postgres data errors are.
type DataError struct{ Err error }

func (e *DataError) Error() string { return e.Err.Error() }
func (e *DataError) Unwrap() error { return e.Err }

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Metrics of the lanes.
type Metrics struct {
	batch   *prometheus.HistogramVec
	items   *prometheus.CounterVec
	retries *prometheus.CounterVec
	splits  *prometheus.CounterVec
	poison  *prometheus.CounterVec
}

// NewMetrics registers the lanes' metrics with reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		batch: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "smsgate_postgres_batch_seconds",
			Help: "Duration of journal transactions by lane kind.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, []string{"kind"}),
		items: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_journal_items_total",
			Help: "Items written by journal lanes."}, []string{"kind"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_journal_retries_total",
			Help: "Journal batches retried after an error that was not about their data (Postgres unreachable)."}, []string{"kind"}),
		splits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_journal_splits_total",
			Help: "Journal batches split to isolate an item Postgres refused."}, []string{"kind"}),
		poison: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_journal_poison_total",
			Help: "Items Postgres refused alone, handed to their stage (rejected, DLQ, or acknowledged with an error)."}, []string{"kind"}),
	}
	if reg != nil {
		reg.MustRegister(m.batch, m.items, m.retries, m.splits, m.poison)
	}
	return m
}
