// Package ingest reads sms.submit: it decodes and validates each record,
// resolves its network and route, applies traffic protection, and hands
// it on — to its operator's queue in memory, to the journal to be parked
// (scheduled, held, or its operator busy or away) or rejected, or to
// sms.dlq when it is not a valid record. It commits a partition's offset
// only up to the first record that is not settled yet (invariant 1), and
// stops reading while too many records are unsettled (invariant 6).
package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/internal/health"
	"github.com/smsgate/smsgate/internal/message"
	"github.com/smsgate/smsgate/internal/policy"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/protect"
)

// Queues is the dispatch side: the per-operator queues in memory.
type Queues interface {
	// Offer puts m in its operator's queue when this instance sends for
	// that operator and there is room, waiting up to wait for room while
	// the queue drains. settle runs once m is journaled or parked. False:
	// the caller parks m.
	Offer(ctx context.Context, m *message.Message, settle func(), wait time.Duration) bool
}

// Journal writes parked and rejected messages; settle[i] runs once row i
// is committed (or found to be a replay or duplicate).
type Journal interface {
	Write(ctx context.Context, rows []store.IntentRow, settle []func())
}

// Producer produces records synchronously (acks all).
type Producer interface {
	ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults
}

// Networks resolves destinations to networks (nil: numbering is off).
type Networks interface {
	Prefetch(dests []string)
	Network(dest string) string
}

// Guard is traffic protection at ingest.
type Guard interface {
	Check(m *protect.Message, now time.Time) protect.Verdict
}

// Health tells whether an operator may take new messages (bound in the
// cluster and accepting work).
type Health interface {
	Usable(op string) bool
	Known(op string) bool
}

// Options configure the stage. Zero values take the documented defaults.
type Options struct {
	Brokers        []string
	Group          string
	SessionTimeout time.Duration
	Topic          string // sms.submit
	DLQTopic       string
	StatusTopic    string
	// MaxUnsettled bounds records read and not settled (default 40,000).
	MaxUnsettled int
	// PollRecords is the most records one poll returns (default 2,000).
	PollRecords int
	// CommitEvery is how often settled offsets are committed (default 200ms).
	CommitEvery time.Duration
	// QueueWait is how long a record waits for room in a busy operator's
	// queue before it is parked (default 100ms).
	QueueWait time.Duration
	Logger    *zap.Logger
	Metrics   *Metrics
}

func (o *Options) defaults() {
	if o.MaxUnsettled <= 0 {
		o.MaxUnsettled = 40000
	}
	if o.PollRecords <= 0 {
		o.PollRecords = 2000
	}
	if o.CommitEvery <= 0 {
		o.CommitEvery = 200 * time.Millisecond
	}
	if o.QueueWait <= 0 {
		o.QueueWait = 100 * time.Millisecond
	}
	if o.SessionTimeout <= 0 {
		o.SessionTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
}

// Stage is the ingest stage.
type Stage struct {
	o        Options
	log      *zap.Logger
	m        *Metrics
	tables   func() *policy.Tables
	queues   Queues
	journal  Journal
	producer Producer
	nets     Networks
	guard    Guard
	health   Health
	progress *health.Stage
}

// New builds the stage; Run reads until its context ends.
func New(o Options, tables func() *policy.Tables, q Queues, j Journal, p Producer, nets Networks, g Guard, h Health, progress *health.Stage) *Stage {
	o.defaults()
	return &Stage{o: o, log: o.Logger, m: o.Metrics, tables: tables, queues: q, journal: j, producer: p, nets: nets, guard: g,
		health: h, progress: progress}
}

// Run consumes until ctx ends. A broker outage is not fatal: the client
// is closed and built again with back-off, so the binds and receipts carry
// on while Kafka is away, and reading resumes from the committed offsets.
func (s *Stage) Run(ctx context.Context) error {
	backoff := reconnectMin
	for ctx.Err() == nil {
		start := time.Now()
		err := s.consume(ctx)
		if err == nil || ctx.Err() != nil {
			return nil
		}
		if time.Since(start) > 2*reconnectMax {
			backoff = reconnectMin
		}
		s.m.restarts.Inc()
		s.log.Warn("kafka consumer restarting", zap.Error(err), zap.Duration("retry_in", backoff))
		if !sleepCtx(ctx, backoff) {
			return nil
		}
		backoff = min(backoff*2, reconnectMax)
	}
	return nil
}

const (
	reconnectMin = 500 * time.Millisecond
	reconnectMax = 10 * time.Second
	// commitTimeout bounds one offset commit.
	commitTimeout = 10 * time.Second
	// closeTimeout bounds leaving the group at shutdown or a rebuild.
	closeTimeout = 5 * time.Second
)

// consume runs one consumer client until ctx ends (nil) or it fails.
func (s *Stage) consume(ctx context.Context) error {
	tr := newTracker()
	var cl *kgo.Client
	commit := func(cctx context.Context) error {
		offs := tr.committable()
		if len(offs) == 0 || cl == nil {
			return nil
		}
		eo := make(map[int32]kgo.EpochOffset, len(offs))
		for p, off := range offs {
			eo[p] = kgo.EpochOffset{Epoch: -1, Offset: off}
		}
		var cerr error
		cl.CommitOffsetsSync(cctx, map[string]map[int32]kgo.EpochOffset{s.o.Topic: eo}, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			cerr = commitError(resp, err)
		})
		if cerr == nil {
			tr.committed(offs)
			s.m.commits.Inc()
		}
		return cerr
	}
	onRevoked := func(rctx context.Context, _ *kgo.Client, m map[string][]int32) {
		// Commit what is settled of the partitions we hand over, then
		// forget them: records of theirs still queued here may be sent by
		// both owners' dispatchers, and the journal lets only one through.
		cctx, cancel := context.WithTimeout(rctx, commitTimeout)
		if err := commit(cctx); err != nil {
			s.log.Warn("offset commit before a rebalance failed; the new owner reads those records again", zap.Error(err))
		}
		cancel()
		tr.drop(m[s.o.Topic])
	}
	onLost := func(_ context.Context, _ *kgo.Client, m map[string][]int32) { tr.drop(m[s.o.Topic]) }
	var err error
	cl, err = kgo.NewClient(
		kgo.SeedBrokers(s.o.Brokers...),
		kgo.ConsumerGroup(s.o.Group),
		kgo.ConsumeTopics(s.o.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.SessionTimeout(s.o.SessionTimeout),
		kgo.RebalanceTimeout(s.o.SessionTimeout),
		kgo.HeartbeatInterval(max(s.o.SessionTimeout/5, 100*time.Millisecond)),
		kgo.FetchMaxWait(500*time.Millisecond),
		kgo.FetchMaxBytes(16<<20),
		kgo.OnPartitionsRevoked(onRevoked),
		kgo.OnPartitionsLost(onLost),
		kgo.WithLogger(kgoLogger{s.log}),
	)
	if err != nil {
		return fmt.Errorf("kafka consumer: %w", err)
	}
	defer s.close(cl)

	// The committer owns nothing but its ticker; it ends with cctx.
	cctx, stopCommitter := context.WithCancel(ctx)
	committerDone := make(chan struct{})
	go func() {
		defer close(committerDone)
		t := time.NewTicker(s.o.CommitEvery)
		defer t.Stop()
		failures := 0
		for {
			select {
			case <-cctx.Done():
				return
			case <-t.C:
			}
			c, cancel := context.WithTimeout(context.WithoutCancel(cctx), commitTimeout)
			err := commit(c)
			cancel()
			if err != nil {
				failures++
				s.log.Warn("kafka offset commit failed; retrying", zap.Int("failures", failures), zap.Error(err))
				continue
			}
			failures = 0
		}
	}()
	defer func() {
		stopCommitter()
		<-committerDone
		// Last commit of what settled (graceful stop).
		c, cancel := context.WithTimeout(context.Background(), commitTimeout)
		_ = commit(c)
		cancel()
	}()

	for ctx.Err() == nil {
		// Bounded memory: read more only while few records are unsettled.
		for tr.unsettled() >= int64(s.o.MaxUnsettled) {
			s.progress.Waiting(true)
			s.progress.Blocked("waiting for read records to be journaled, parked or rejected")
			if !sleepCtx(ctx, 5*time.Millisecond) {
				return nil
			}
		}
		s.progress.Blocked("")
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fs := cl.PollRecords(pctx, s.o.PollRecords)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if fs.IsClientClosed() {
			return errors.New("kafka client closed")
		}
		var fetchErr error
		fs.EachError(func(t string, p int32, err error) {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return
			}
			fetchErr = fmt.Errorf("fetch %s[%d]: %w", t, p, err)
		})
		if fetchErr != nil {
			s.m.fetchErrors.Inc()
			s.log.Warn("kafka fetch error", zap.Error(fetchErr))
		}
		recs := fs.Records()
		if len(recs) == 0 {
			s.progress.Waiting(tr.unsettled() > 0)
			continue
		}
		s.progress.Waiting(true)
		s.process(ctx, tr, recs)
		s.progress.Advanced()
	}
	return nil
}

func (s *Stage) close(cl *kgo.Client) {
	done := make(chan struct{})
	go func() { // ends when Close returns; may outlive consume if leaving the group hangs
		cl.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(closeTimeout):
		s.log.Warn("kafka consumer did not close within the timeout; going on without it", zap.Duration("timeout", closeTimeout))
	}
}

// sleepCtx sleeps for d unless ctx ends first; it reports whether it slept.
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

// commitError is the first error of an offset commit, from the request or
// from any partition of its response.
func commitError(resp *kmsg.OffsetCommitResponse, err error) error {
	if err != nil {
		return err
	}
	if resp == nil {
		return nil
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if e := kerr.ErrorForCode(p.ErrorCode); e != nil {
				return fmt.Errorf("commit %s[%d]: %w", t.Topic, p.Partition, e)
			}
		}
	}
	return nil
}

// kgoLogger adapts zap to franz-go: errors and warnings at warn, the rest
// at debug (the client is chatty about rebalances).
type kgoLogger struct{ l *zap.Logger }

func (k kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelInfo }

func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	fields := make([]zap.Field, 0, len(keyvals)/2)
	for i := 0; i+1 < len(keyvals); i += 2 {
		key, _ := keyvals[i].(string)
		fields = append(fields, zap.Any(key, keyvals[i+1]))
	}
	l := k.l.Named("kafka")
	if level <= kgo.LogLevelWarn {
		l.Warn(msg, fields...)
	} else {
		l.Debug(msg, fields...)
	}
}
