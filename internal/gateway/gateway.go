// Package gateway is the pipeline that joins Kafka, Postgres and the SMPP
// binds: ingest (sms.submit → Postgres), one dispatcher per operator
// (Postgres → binds), the outcome writer (results → Postgres + ledger +
// outbox), the inbound processor (receipts and MO → Postgres + outbox), the
// publisher (outbox → sms.status / sms.mo) and housekeeping.
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/smpp"
)

// Options tune the pipeline. Zero values take the documented defaults.
type Options struct {
	// InstanceID names this process in Postgres claims; default host-random.
	InstanceID string
	// IngestBatch records per ingest transaction (default 2000) and how long
	// a batch waits to fill (IngestLinger, default 5ms).
	IngestBatch  int
	IngestLinger time.Duration
	// ClaimBatch is the most messages one claim takes (default 500).
	ClaimBatch int
	// OutcomeBatch / OutcomeLinger: outcomes per transaction (default 2000, 5ms).
	OutcomeBatch  int
	OutcomeLinger time.Duration
	// InboundBatch / InboundLinger: deliver_sm per transaction (default 1000, 5ms).
	InboundBatch  int
	InboundLinger time.Duration
	// PublishBatch: outbox rows per Kafka produce (default 5000).
	PublishBatch int
	// OutcomeWriters is how many outcome transactions run at once (default 2).
	OutcomeWriters int
	// HousekeepingEvery is the base period of timers (default 500ms).
	HousekeepingEvery time.Duration
	// OrphanAfter: claims of an instance silent this long are recovered (default 15s).
	OrphanAfter time.Duration
	Logger      *zap.Logger
	Registerer  prometheus.Registerer

	// Filled from the config by New.
	Brokers        []string
	Group          string
	SessionTimeout time.Duration
	Topics         config.Topics
}

func (o *Options) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.IngestBatch, 2000)
	def(&o.ClaimBatch, 500)
	def(&o.OutcomeBatch, 2000)
	def(&o.InboundBatch, 1000)
	def(&o.PublishBatch, 5000)
	def(&o.OutcomeWriters, 2)
	defD(&o.IngestLinger, 5*time.Millisecond)
	defD(&o.OutcomeLinger, 5*time.Millisecond)
	defD(&o.InboundLinger, 5*time.Millisecond)
	defD(&o.HousekeepingEvery, 500*time.Millisecond)
	defD(&o.OrphanAfter, 15*time.Second)
	if o.InstanceID == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		o.InstanceID = host + "-" + hex.EncodeToString(b[:])
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
}

// Gateway is the running pipeline.
type Gateway struct {
	opts    Options
	log     *zap.Logger
	store   *store.Store
	metrics *metrics
	started time.Time
	// earlyKick wakes earlyMatcher (cap 1).
	earlyKick chan struct{}
	// submitLag is the last sampled sms.submit lag of the group (lag.go).
	submitLag atomic.Int64

	tables    atomic.Pointer[tables]
	operators map[string]*operatorRT
	pools     map[string]*smpp.Pool
	disp      map[string]*dispatcher
	outcomes  *outcomeWriter
	inbound   *inbound
	publisher *publisher
	dlqWriter *kafka.Writer

	slots    *slotLeaser
	controls atomic.Pointer[map[string]string] // operator → drained | disabled
	protect  *protection
	nets     *networks // nil without numbering

	downMu    sync.Mutex
	downSince map[string]time.Time
}

// New builds the pipeline from a validated config.
func New(cfg *config.Config, st *store.Store, o Options) (*Gateway, error) {
	o.Brokers, o.Group, o.SessionTimeout, o.Topics = cfg.Kafka.Brokers, cfg.Kafka.Group, cfg.Kafka.SessionTimeout, cfg.Kafka.Topics
	o.defaults()
	g := &Gateway{opts: o, log: o.Logger, store: st, metrics: newMetrics(o.Registerer), started: time.Now(), earlyKick: make(chan struct{}, 1),
		operators: map[string]*operatorRT{}, pools: map[string]*smpp.Pool{}, disp: map[string]*dispatcher{},
		downSince: map[string]time.Time{}}
	t, err := buildTables(cfg)
	if err != nil {
		return nil, err
	}
	withQuality(t, cfg, nil)
	g.tables.Store(t)
	if o.Registerer != nil {
		o.Registerer.MustRegister(qualityCollector{g})
	}
	g.inbound = &inbound{g: g, ch: make(chan inboundItem, 4*o.InboundBatch)}
	smppMetrics := smpp.NewMetrics(o.Registerer)
	for i := range cfg.Operators {
		oc := &cfg.Operators[i]
		rt, err := operatorFromConfig(oc)
		if err != nil {
			return nil, err
		}
		g.operators[rt.name] = rt
		pool := smpp.NewPool(poolOptions(oc, rt, g.inbound, o.Logger, smppMetrics))
		g.pools[rt.name] = pool
		g.disp[rt.name] = newDispatcher(g, rt, pool)
	}
	noControls := map[string]string{}
	g.controls.Store(&noControls)
	if g.protect, err = newProtection(g, cfg, o.Registerer); err != nil {
		return nil, err
	}
	if g.nets, err = newNetworks(g, cfg, o.Registerer); err != nil {
		return nil, err
	}
	g.slots = newSlotLeaser(g)
	g.outcomes = newOutcomeWriter(g, o.OutcomeBatch) // small: outcomes waiting here are what a crash turns into unknown
	g.publisher = &publisher{g: g, wake: make(chan struct{}, 1),
		status: newWriter(o.Brokers, o.Topics.Status), mo: newWriter(o.Brokers, o.Topics.MO)}
	g.dlqWriter = newWriter(o.Brokers, o.Topics.DLQ)
	return g, nil
}

// newWriter is a kafka-go writer set up for durability and low latency:
// RequiredAcks all, a short BatchTimeout (the 1 s default stalls every
// small write), keys hashed so one message's events share a partition.
func newWriter(brokers []string, topic string) *kafka.Writer {
	return &kafka.Writer{
		Addr:                   kafka.TCP(brokers...),
		Topic:                  topic,
		Balancer:               &kafka.Hash{},
		RequiredAcks:           kafka.RequireAll,
		BatchTimeout:           2 * time.Millisecond,
		BatchSize:              5000,
		BatchBytes:             16 << 20,
		WriteTimeout:           10 * time.Second,
		ReadTimeout:            10 * time.Second,
		MaxAttempts:            3,
		AllowAutoTopicCreation: true,
	}
}

// Run runs the pipeline until ctx ends, then shuts down in the order of
// docs/DESIGN.md: stop reading Kafka → stop claiming → drain windows and
// unbind → write the last outcomes → publish the last events.
func (g *Gateway) Run(ctx context.Context) error {
	if err := store.Heartbeat(ctx, g.store.Pool, g.opts.InstanceID); err != nil {
		return err
	}
	// Before ingest: a blocked number or a held range must apply to the
	// first record read, and drained operators to the first claim.
	if err := g.protect.load(ctx); err != nil {
		return err
	}
	if err := g.nets.load(ctx); err != nil {
		return err
	}
	if err := g.refreshControls(ctx); err != nil {
		return err
	}
	type stage struct {
		ctx    context.Context
		cancel context.CancelFunc
		wg     sync.WaitGroup
	}
	newStage := func() *stage {
		c, cancel := context.WithCancel(context.WithoutCancel(ctx))
		return &stage{ctx: c, cancel: cancel}
	}
	ingest, claim, pools, lease, collect, inb, writer, house, pub := newStage(), newStage(), newStage(), newStage(), newStage(), newStage(), newStage(), newStage(), newStage()
	errc := make(chan error, 64)
	goRun := func(s *stage, name string, f func(context.Context) error) {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := f(s.ctx); err != nil && !errors.Is(err, context.Canceled) {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	goRun(pub, "publisher", g.publisher.run)
	// Two writers: one Postgres backend uses one core, and the outcome
	// transaction is the pipeline's bottleneck. Batches never share a
	// message, and the rows both may lock (tier counters, month
	// aggregates) are locked in key order.
	for i := 0; i < g.opts.OutcomeWriters; i++ {
		goRun(writer, "outcome writer", g.outcomes.run)
	}
	goRun(inb, "inbound", g.inbound.run)
	goRun(house, "housekeeping", g.housekeeping)
	goRun(house, "early receipts", g.earlyMatcher)
	goRun(house, "protection", g.protect.run)
	goRun(house, "networks", g.nets.run)
	// The leaser outlives the pools at shutdown: it renews while binds
	// drain and hands the slots back once they are closed.
	goRun(lease, "bind slots", g.slots.run)
	for name, p := range g.pools {
		goRun(pools, "operator "+name, p.Run)
	}
	for name, d := range g.disp {
		goRun(collect, "collector "+name, d.collect)
		goRun(claim, "dispatcher "+name, d.run)
	}
	goRun(ingest, "ingest", g.ingestLoop)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
		g.log.Error("pipeline component failed; shutting down", zap.Error(runErr))
	}
	g.log.Info("shutting down")
	for _, s := range []*stage{ingest, claim, pools, lease, collect, inb, writer, house, pub} {
		s.cancel()
		s.wg.Wait()
	}
	for _, w := range []*kafka.Writer{g.publisher.status, g.publisher.mo, g.dlqWriter} {
		_ = w.Close()
	}
	return runErr
}

// notifyDispatchers wakes every dispatcher (new work was queued).
func (g *Gateway) notifyDispatchers() {
	for _, d := range g.disp {
		d.kick()
	}
}

// usableForNew reports whether new messages should be routed to op.
func (g *Gateway) usableForNew(op string) bool {
	return g.operatorUp(op) && g.acceptingWork(op)
}

func (g *Gateway) rand() float64 { return mrand.Float64() }

// hasNextRoute reports whether a route other than those tried exists.
func (g *Gateway) hasNextRoute(m *inflightMsg) bool {
	if m.c.ForcedRoute != "" {
		return false
	}
	tried := append(append([]string{}, m.c.Tried...), m.operator)
	return g.nextOperator(g.tables.Load(), m, tried, time.Now()) != ""
}

// nextOperator picks the best usable route not yet tried ("" if none).
func (g *Gateway) nextOperator(t *tables, m *inflightMsg, tried []string, now time.Time) string {
	if m.c.ForcedRoute != "" {
		return ""
	}
	c, err := t.routes.Choose(m.c.Dest, m.c.Network, "", now, g.usableForNew, tried, g.rand())
	if err != nil {
		return ""
	}
	return c.Route.Operator
}

// eventFromView renders a stored status as an event.
func (g *Gateway) eventFromView(v store.StatusView, now time.Time) statusEvent {
	ev := statusEvent{ID: v.ID, Account: v.Account, Status: v.State.String(), Operator: v.Operator, Network: v.Network, Parts: v.Parts,
		PartsDone: v.PartsDone, SMSCIDs: v.SMSCIDs, Reason: v.ErrorReason, Code: v.ErrorCode, Detail: v.ErrorDetail,
		Cost: v.Cost, Price: v.Price, Currency: v.Currency, At: now, Meta: v.Meta}
	return ev
}
