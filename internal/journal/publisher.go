package journal

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/internal/health"
	"github.com/smsgate/smsgate/internal/store"
)

// Publisher produces the events of committed batches to Kafka, per lane in
// commit order (so one message's events keep their order), and keeps each
// lane's published watermark: the last batch whose events, and every
// earlier batch's, were produced. There is no outbox: when events cannot
// be kept in memory (Kafka away long enough for the queue to fill), they
// are dropped and republished from the journal rows once Kafka is back —
// the same repair a crash between commit and produce gets.
type Publisher struct {
	o     PublisherOptions
	mu    sync.Mutex
	lanes map[string]*lanePub
	wake  chan struct{}
}

// PublisherOptions configure a Publisher.
type PublisherOptions struct {
	Producer interface {
		ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults
	}
	Pool *pgxpool.Pool
	// Republish rebuilds the events of a lane's batches from the journal
	// (current status of each message touched, MO as stored).
	Republish func(ctx context.Context, batches []int64) ([]*kgo.Record, error)
	// Recheck, when set, returns events for the messages of rebuilt records
	// whose status moved on while they were produced (events.Recheck).
	Recheck func(ctx context.Context, recs []*kgo.Record) ([]*kgo.Record, error)
	// LaneBatches lists a lane's batches after a given one, in order
	// (default: from the journal in Pool).
	LaneBatches func(ctx context.Context, lane string, after int64, limit int) ([]int64, error)
	// QueueBatches and QueueEvents bound what is kept in memory per lane
	// (defaults 4,096 batches, 50,000 events); beyond, the lane's events are
	// dropped and republished from the journal.
	QueueBatches int
	QueueEvents  int
	// TopicLabel names a record's topic in smsgate_events_published_total
	// (default: the topic).
	TopicLabel func(topic string) string
	Progress   *health.Stage
	Logger     *zap.Logger
	Metrics    *PublisherMetrics
}

type pending struct {
	batch  int64
	events []*kgo.Record
	deps   map[string]int64
}

type lanePub struct {
	queue  []pending
	events int // in queue
	// published: every batch of the lane up to it is produced (in memory;
	// stored in lanes.published every 200 ms, stored is what was).
	published int64
	stored    int64
	// behind: events of batches after published were dropped; republish
	// from the journal before producing anything newer. dropped is the
	// newest batch dropped.
	behind  bool
	dropped int64
	// droppedDeps: the dependencies of the dropped batches (newest batch
	// per lane). Republishing waits for them as the batches would have:
	// a receipt's "delivered" rebuilt from the journal must not overtake
	// the "submitted" another lane still holds.
	droppedDeps map[string]int64
}

// NewPublisher returns a publisher; Run produces until its context ends.
func NewPublisher(o PublisherOptions) *Publisher {
	if o.QueueBatches <= 0 {
		o.QueueBatches = 4096
	}
	if o.QueueEvents <= 0 {
		o.QueueEvents = 50000
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Metrics == nil {
		o.Metrics = NewPublisherMetrics(nil)
	}
	if o.Progress == nil {
		o.Progress = health.NewRegistry().Stage("publish")
	}
	if o.TopicLabel == nil {
		o.TopicLabel = func(t string) string { return t }
	}
	if o.LaneBatches == nil {
		o.LaneBatches = func(ctx context.Context, lane string, after int64, limit int) ([]int64, error) {
			return store.LaneBatches(ctx, o.Pool, lane, after, limit)
		}
	}
	return &Publisher{o: o, lanes: map[string]*lanePub{}, wake: make(chan struct{}, 1)}
}

func (p *Publisher) lane(id string) *lanePub {
	l := p.lanes[id]
	if l == nil {
		l = &lanePub{}
		p.lanes[id] = l
	}
	return l
}

// Watermark is the lane's published watermark: every batch of the lane
// up to it is produced.
func (p *Publisher) Watermark(lane string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lane(lane).published
}

// Enqueue hands a committed batch's events on. It never blocks: past the
// bound the events are dropped and the lane is republished from the
// journal later.
func (p *Publisher) Enqueue(lane string, batch int64, events []*kgo.Record, deps map[string]int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	l := p.lane(lane)
	if !l.behind && (len(l.queue) >= p.o.QueueBatches || l.events+len(events) > p.o.QueueEvents) {
		l.behind = true
		l.events = 0
		for _, q := range l.queue {
			p.o.Metrics.dropped.Add(float64(len(q.events)))
			l.addDroppedDeps(q.deps)
		}
		l.queue = nil
		p.o.Logger.Warn("event queue full (Kafka slow or away); events will be republished from the journal", zap.String("lane", lane))
	}
	if l.behind {
		p.o.Metrics.dropped.Add(float64(len(events)))
		l.dropped = max(l.dropped, batch)
		l.addDroppedDeps(deps)
	} else {
		l.queue = append(l.queue, pending{batch: batch, events: events, deps: deps})
		l.events += len(events)
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (l *lanePub) addDroppedDeps(deps map[string]int64) {
	for lane, b := range deps {
		if l.droppedDeps == nil {
			l.droppedDeps = map[string]int64{}
		}
		l.droppedDeps[lane] = max(l.droppedDeps[lane], b)
	}
}

// Run produces queued events until ctx ends, then produces what is queued
// (bounded) and stores the watermarks.
func (p *Publisher) Run(ctx context.Context) error {
	flush := time.NewTicker(200 * time.Millisecond)
	defer flush.Stop()
	backoff := 100 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			p.drain(fctx)
			p.storeWatermarks(fctx)
			cancel()
			return nil
		case <-p.wake:
		case <-flush.C:
			p.storeWatermarks(ctx)
		}
		if err := p.drain(ctx); err != nil {
			p.o.Progress.Waiting(true)
			p.o.Progress.Blocked(err.Error())
			p.o.Logger.Warn("publishing events failed; retrying", zap.Error(err))
			if !sleepCtx(ctx, backoff) {
				continue
			}
			backoff = min(2*backoff, 5*time.Second)
			select {
			case p.wake <- struct{}{}:
			default:
			}
			continue
		}
		backoff = 100 * time.Millisecond
		p.o.Progress.Blocked("")
		p.o.Progress.Waiting(false)
	}
}

// ready reports whether a pending batch's dependencies were produced
// (under p.mu).
func (p *Publisher) ready(w *pending) bool {
	return p.depsDone(w.deps)
}

func (p *Publisher) depsDone(deps map[string]int64) bool {
	for lane, b := range deps {
		if d := p.lanes[lane]; d == nil || d.published < b {
			return false
		}
	}
	return true
}

// drain produces every lane's queue in order; a lane whose next batch
// waits for another lane's is taken up again once that one is produced.
func (p *Publisher) drain(ctx context.Context) error {
	for {
		p.mu.Lock()
		var id string
		var l *lanePub
		var work []pending
		var behind bool
		for lid, lp := range p.lanes {
			if lp.behind {
				if !p.depsDone(lp.droppedDeps) {
					continue // taken up once those lanes are produced
				}
				id, l, behind = lid, lp, true
				break
			}
			n := 0
			for n < len(lp.queue) && p.ready(&lp.queue[n]) {
				n++
			}
			if n > 0 {
				id, l = lid, lp
				work = append(work, lp.queue[:n]...)
				break
			}
		}
		p.mu.Unlock()
		if l == nil {
			return nil
		}
		if behind {
			if err := p.catchUp(ctx, id, l); err != nil {
				return err
			}
			continue
		}
		// Produce everything queued for the lane in one call: batches are
		// produced in order and acknowledged together.
		var recs []*kgo.Record
		for _, w := range work {
			recs = append(recs, w.events...)
		}
		if len(recs) > 0 {
			pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			err := p.o.Producer.ProduceSync(pctx, recs...).FirstErr()
			cancel()
			if err != nil {
				return err
			}
			p.count(p.o.Metrics.produced, recs)
		}
		last := work[len(work)-1].batch
		p.mu.Lock()
		if !l.behind {
			l.queue = l.queue[len(work):]
			l.events -= len(recs)
			l.published = max(l.published, last)
		}
		p.mu.Unlock()
		p.o.Progress.Advanced()
	}
}

// catchUp republishes a lane's batches after its watermark, up to the
// newest dropped one, from the journal, then resumes from the queue (later
// batches come through it in order).
func (p *Publisher) catchUp(ctx context.Context, id string, l *lanePub) error {
	p.mu.Lock()
	from, target := l.published, l.dropped
	p.mu.Unlock()
	for from < target {
		batches, err := p.o.LaneBatches(ctx, id, from, 500)
		if err != nil {
			return err
		}
		n := 0
		for n < len(batches) && batches[n] <= target {
			n++
		}
		if n == 0 {
			break
		}
		batches = batches[:n]
		recs, err := p.o.Republish(ctx, batches)
		if err != nil {
			return err
		}
		if len(recs) > 0 {
			pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			err = p.o.Producer.ProduceSync(pctx, recs...).FirstErr()
			cancel()
			if err != nil {
				return err
			}
			p.count(p.o.Metrics.republished, recs)
			if p.o.Recheck != nil {
				fix, err := p.o.Recheck(ctx, recs)
				if err != nil {
					return err
				}
				if len(fix) > 0 {
					pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
					err = p.o.Producer.ProduceSync(pctx, fix...).FirstErr()
					cancel()
					if err != nil {
						return err
					}
					p.count(p.o.Metrics.republished, fix)
				}
			}
		}
		from = batches[len(batches)-1]
		p.mu.Lock()
		l.published = max(l.published, from)
		p.mu.Unlock()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if l.dropped > target {
		return nil // dropped while catching up: drain comes back here
	}
	l.published = max(l.published, target)
	l.behind = false
	l.droppedDeps = nil
	return nil
}

// storeWatermarks writes the watermarks of lanes that published since
// their last stored value (idle lanes; busy ones store with each batch).
func (p *Publisher) storeWatermarks(ctx context.Context) {
	if p.o.Pool == nil {
		return // nowhere to store them (tests)
	}
	p.mu.Lock()
	type wm struct {
		id string
		b  int64
	}
	var todo []wm
	for id, l := range p.lanes {
		if l.published > l.stored {
			todo = append(todo, wm{id, l.published})
		}
	}
	p.mu.Unlock()
	for _, w := range todo {
		if err := store.SetPublished(ctx, p.o.Pool, w.id, w.b); err != nil {
			p.o.Logger.Debug("storing a published watermark failed; the next batch stores it", zap.Error(err))
			continue
		}
		p.mu.Lock()
		if l := p.lanes[w.id]; l != nil && w.b > l.stored {
			l.stored = w.b
		}
		p.mu.Unlock()
	}
}

func (p *Publisher) count(c *prometheus.CounterVec, recs []*kgo.Record) {
	var last string
	var n float64
	for _, r := range recs {
		if r.Topic != last && n > 0 {
			c.WithLabelValues(p.o.TopicLabel(last)).Add(n)
			n = 0
		}
		last = r.Topic
		n++
	}
	if n > 0 {
		c.WithLabelValues(p.o.TopicLabel(last)).Add(n)
	}
}

// PublisherMetrics of the event publisher.
type PublisherMetrics struct {
	produced, republished *prometheus.CounterVec // topic
	dropped               prometheus.Counter
}

// NewPublisherMetrics registers the publisher's metrics with reg.
func NewPublisherMetrics(reg prometheus.Registerer) *PublisherMetrics {
	m := &PublisherMetrics{
		produced: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_events_published_total",
			Help: "Events produced after their batch committed, by topic (status, mo)."}, []string{"topic"}),
		republished: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_events_republished_total",
			Help: "Events produced again from the journal (after a crash, or after Kafka was away long enough to drop them from memory), by topic."}, []string{"topic"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "smsgate_events_dropped_from_memory_total",
			Help: "Events dropped from the in-memory queue while Kafka was slow or away; they are republished from the journal."}),
	}
	if reg != nil {
		reg.MustRegister(m.produced, m.republished, m.dropped)
	}
	return m
}
