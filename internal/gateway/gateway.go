// Package gateway wires the pipeline's stages together: ingest
// (sms.submit → operator queues, or parked, rejected, DLQ), dispatch
// (journal → binds → outcomes), receipts (deliver_sm → receipts, MO), the
// event publisher, housekeeping and recovery. It owns the goroutines'
// start and shutdown order and the cluster-wide operator controls; the
// stages own their work.
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
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/correlate"
	"github.com/smsgate/smsgate/internal/dispatch"
	"github.com/smsgate/smsgate/internal/events"
	"github.com/smsgate/smsgate/internal/health"
	"github.com/smsgate/smsgate/internal/ingest"
	"github.com/smsgate/smsgate/internal/journal"
	"github.com/smsgate/smsgate/internal/message"
	"github.com/smsgate/smsgate/internal/policy"
	"github.com/smsgate/smsgate/internal/receipts"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/smpp"
)

// Options tune the pipeline. Zero values take the documented defaults.
type Options struct {
	// InstanceID names this process in Postgres (lanes, bind slots);
	// default host-random.
	InstanceID string
	// HousekeepingEvery is the base period of timers (default 500ms).
	HousekeepingEvery time.Duration
	// OrphanAfter: an instance silent this long is dead; its journal is
	// repaired (default 15s).
	OrphanAfter time.Duration
	// StallAfter: a stage with work waiting and no progress this long
	// makes /readyz not ready (default 30s).
	StallAfter time.Duration
	Logger     *zap.Logger
	Registerer prometheus.Registerer
	// Stage knobs (zero: the stages' defaults).
	Ingest   ingest.Options
	Dispatch dispatch.Options
	Receipts receipts.Options
}

func (o *Options) defaults() {
	if o.HousekeepingEvery <= 0 {
		o.HousekeepingEvery = 500 * time.Millisecond
	}
	if o.OrphanAfter <= 0 {
		o.OrphanAfter = 15 * time.Second
	}
	if o.StallAfter <= 0 {
		o.StallAfter = 30 * time.Second
	}
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
	cfg     *config.Config
	log     *zap.Logger
	store   *store.Store
	metrics *metrics
	started time.Time
	health  *health.Registry
	// submitLag is the last sampled sms.submit lag of the group (lag.go).
	submitLag atomic.Int64

	tables    atomic.Pointer[policy.Tables]
	operators map[string]*policy.Operator
	pools     map[string]*smpp.Pool
	index     *correlate.Index
	topics    events.Topics
	producer  *kgo.Client
	publisher *journal.Publisher
	ingest    *ingest.Stage
	dispatch  *dispatch.Stage
	receipts  *receipts.Stage

	controls atomic.Pointer[map[string]string] // operator → drained | disabled
	protect  *protection
	nets     *networks // nil without numbering

	accountRates  *accountRates
	accountGauges *accountGauges
	heldShort     atomic.Pointer[map[string]int64] // account → held for funds, as last sampled
}

// New builds the pipeline from a validated config.
func New(cfg *config.Config, st *store.Store, o Options) (*Gateway, error) {
	o.defaults()
	g := &Gateway{opts: o, cfg: cfg, log: o.Logger, store: st, metrics: newMetrics(o.Registerer), started: time.Now(),
		health: health.NewRegistry(), operators: map[string]*policy.Operator{}, pools: map[string]*smpp.Pool{},
		topics: events.Topics{StatusTopic: cfg.Kafka.Topics.Status, MOTopic: cfg.Kafka.Topics.MO}}
	t, err := policy.Build(cfg)
	if err != nil {
		return nil, err
	}
	t.WithQuality(cfg, nil)
	g.tables.Store(t)
	noControls := map[string]string{}
	g.controls.Store(&noControls)
	g.accountRates, g.accountGauges = newAccountRates(o.Registerer), newAccountGauges(o.Registerer)
	if o.Registerer != nil {
		o.Registerer.MustRegister(qualityCollector{g}, stallCollector{g}, limitsCollector{g})
	}
	if g.protect, err = newProtection(g, cfg, o.Registerer); err != nil {
		return nil, err
	}
	if g.nets, err = newNetworks(g, cfg, o.Registerer); err != nil {
		return nil, err
	}
	g.producer, err = kgo.NewClient(
		kgo.SeedBrokers(cfg.Kafka.Brokers...),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.AllowAutoTopicCreation(),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.ProducerBatchMaxBytes(16<<20),
		kgo.MaxBufferedRecords(200000),
		kgo.RecordDeliveryTimeout(60*time.Second),
	)
	if err != nil {
		return nil, fmt.Errorf("kafka producer: %w", err)
	}
	g.index = correlate.New(500000, 10*time.Minute)
	jm := journal.NewMetrics(o.Registerer)
	lastPart := g.lastPartOnly
	g.publisher = journal.NewPublisher(journal.PublisherOptions{Producer: g.producer, Pool: st.Pool,
		Republish: func(ctx context.Context, batches []int64) ([]*kgo.Record, error) {
			return events.Republish(ctx, st.Pool, g.topics, lastPart, batches)
		},
		Recheck: func(ctx context.Context, recs []*kgo.Record) ([]*kgo.Record, error) {
			return events.Recheck(ctx, st.Pool, g.topics, lastPart, recs)
		},
		Progress: g.health.Stage("publish"), Logger: o.Logger, Metrics: journal.NewPublisherMetrics(o.Registerer)})

	ro := o.Receipts
	ro.InstanceID, ro.Logger, ro.OutcomeLane = o.InstanceID, o.Logger, o.InstanceID+"/outcomes"
	ro.KeepText, ro.ShowText = cfg.DLR.KeepText, cfg.HTTP.ShowMessageText
	var dsp *dispatch.Stage
	rcv := receipts.New(ro, receipts.Deps{Store: st, Tables: g.tables.Load, Operators: g.operators, Index: g.index, Topics: g.topics,
		Publisher: g.publisher, Guard: g.protect.guard, Usable: g.Usable, Reparked: func() { dsp.KickUnpark() },
		Networks: g.nets.networkFunc(), Health: g.health, Registry: o.Registerer, Journal: jm})
	g.receipts = rcv
	smppMetrics := smpp.NewMetrics(o.Registerer)
	for i := range cfg.Operators {
		oc := &cfg.Operators[i]
		pol, err := policy.OperatorFromConfig(oc)
		if err != nil {
			return nil, err
		}
		g.operators[pol.Name] = pol
		g.pools[pol.Name] = smpp.NewPool(poolOptions(oc, rcv.HandlerFor(pol), o.Logger, smppMetrics))
	}
	do := o.Dispatch
	do.InstanceID, do.Logger = o.InstanceID, o.Logger
	do.OnPoison = g.poisoned
	if prev := do.OnSent; prev != nil {
		do.OnSent = func(account string, parts int) { g.accountRates.sent(account, parts); prev(account, parts) }
	} else {
		do.OnSent = g.accountRates.sent
	}
	do.OnLeaseRound = func(ctx context.Context) {
		if err := g.refreshControls(ctx); err != nil && ctx.Err() == nil {
			g.log.Warn("operator controls not read", zap.Error(err))
		}
	}
	dsp = dispatch.New(do, dispatch.Deps{Store: st, Tables: g.tables.Load, Operators: g.operators, Pools: g.pools, Controls: g,
		Index: g.index, Topics: g.topics, Publisher: g.publisher, Health: g.health, Registry: o.Registerer, Journal: jm})
	g.dispatch = dsp

	io := o.Ingest
	io.Brokers, io.Group, io.SessionTimeout = cfg.Kafka.Brokers, cfg.Kafka.Group, cfg.Kafka.SessionTimeout
	io.Topic, io.DLQTopic, io.StatusTopic = cfg.Kafka.Topics.Submit, cfg.Kafka.Topics.DLQ, cfg.Kafka.Topics.Status
	io.Logger, io.Metrics = o.Logger, ingest.NewMetrics(o.Registerer)
	var nets ingest.Networks
	if g.nets != nil {
		nets = g.nets
	}
	g.ingest = ingest.New(io, g.tables.Load, dsp, dsp, g.producer, nets, g.protect.guard, g, g.health.Stage("ingest"))
	return g, nil
}

// Run runs the pipeline until ctx ends, then shuts down in this order:
// stop reading Kafka → stop journaling and sending (what was not sent is
// parked) → drain windows and unbind → write the last outcomes and
// receipts → hand back bind slots → publish the last events.
func (g *Gateway) Run(ctx context.Context) error {
	if err := g.startup(ctx); err != nil {
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
	ingestS, dispatchS, poolsS, inboundS, leaseS, houseS, pubS := newStage(), newStage(), newStage(), newStage(), newStage(), newStage(), newStage()
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
	poolsDone := make(chan struct{})
	goRun(pubS, "publisher", g.publisher.Run)
	goRun(inboundS, "receipts", g.receipts.Run)
	goRun(dispatchS, "dispatch", func(c context.Context) error { return g.dispatch.Run(c, poolsDone) })
	// The leaser outlives the pools at shutdown: it renews while binds
	// drain and hands the slots back once they are closed.
	goRun(leaseS, "bind slots", g.dispatch.Slots().Run)
	for name, p := range g.pools {
		goRun(poolsS, "operator "+name, p.Run)
	}
	goRun(houseS, "housekeeping", g.housekeeping)
	goRun(houseS, "protection", g.protect.run)
	goRun(houseS, "networks", g.nets.run)
	goRun(ingestS, "ingest", func(c context.Context) error {
		// Binds first (bounded): records read before any bind is up would
		// all be parked, to be taken back a moment later.
		wctx, cancel := context.WithTimeout(c, startBindWait)
		g.dispatch.WaitBound(wctx)
		cancel()
		return g.ingest.Run(c)
	})

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
		g.log.Error("pipeline component failed; shutting down", zap.Error(runErr))
	}
	g.log.Info("shutting down")
	ingestS.cancel()
	ingestS.wg.Wait()
	// Dispatch stops journaling and sending; then the pools drain their
	// windows; dispatch's collectors and lanes finish once the pools are
	// done (poolsDone), and its Run returns.
	dispatchS.cancel()
	poolsS.cancel()
	poolsS.wg.Wait()
	close(poolsDone)
	dispatchS.wg.Wait()
	inboundS.cancel()
	inboundS.wg.Wait()
	leaseS.cancel()
	leaseS.wg.Wait()
	houseS.cancel()
	houseS.wg.Wait()
	pubS.cancel()
	pubS.wg.Wait()
	g.producer.Close()
	return runErr
}

// startBindWait bounds how long ingest waits for the binds at start.
const startBindWait = 10 * time.Second

// startup prepares what the first record needs: this instance's
// heartbeat, partitions, blocklist, pumping holds, ported numbers and
// operator controls.
func (g *Gateway) startup(ctx context.Context) error {
	if err := store.Heartbeat(ctx, g.store.Pool, g.opts.InstanceID); err != nil {
		return err
	}
	now := time.Now()
	if err := g.store.EnsurePartitions(ctx, now.Add(-24*time.Hour), now.Add(8*24*time.Hour)); err != nil {
		return err
	}
	if err := g.protect.load(ctx); err != nil {
		return err
	}
	if err := g.nets.load(ctx); err != nil {
		return err
	}
	// A restart with a stable instance id finds its own lanes of the last
	// life: repair them (unknown intents, unpublished events) before the
	// new life writes under the same ids. Dead peers are repaired too.
	if err := g.recovery(nil).Run(ctx); err != nil {
		return err
	}
	return g.refreshControls(ctx)
}

// recovery repairs dead lanes; current are this life's lanes (nil at
// start: every lane of this instance id is from an earlier life).
func (g *Gateway) recovery(current []string) *events.Recovery {
	return &events.Recovery{Pool: g.store.Pool, Producer: g.producer, Topics: g.topics, LastPartOnly: g.lastPartOnly,
		Instance: g.opts.InstanceID, Lane: g.opts.InstanceID + "/recovery", DeadAfter: g.opts.OrphanAfter, Logger: g.log,
		Lanes: current, Recovered: func(n int) { g.metrics.recovered.WithLabelValues("unknown").Add(float64(n)) }}
}

// lastPartOnly tells whether an operator sends receipts for the last part
// of a multipart message only.
func (g *Gateway) lastPartOnly(op string) bool {
	o := g.operators[op]
	return o != nil && o.LastPartDLR
}

// poisoned handles a message whose journal row Postgres refused: it goes
// to sms.dlq (its fields as accepted) with a rejected event.
func (g *Gateway) poisoned(m *message.Message, err error) {
	g.log.Error("message refused by the journal; rejected", zap.String("id", message.Sanitize(m.ID)), zap.Error(err))
	now := time.Now()
	ev := message.Event{ID: m.ID, Account: m.Account, Status: "rejected", Reason: "invalid",
		Detail: "refused by the journal: " + message.Sanitize(err.Error()), At: now, Meta: m.Meta}
	body, _ := jsonMarshal(map[string]any{"reason": ev.Detail, "topic": g.cfg.Kafka.Topics.Submit, "partition": m.Partition,
		"offset": m.Offset, "key": message.Sanitize(m.ID), "value": message.Sanitize(m.Body), "truncated": false, "at": now.UTC()})
	recs := []*kgo.Record{{Topic: g.cfg.Kafka.Topics.DLQ, Key: []byte(m.ID), Value: body}, g.topics.Status(&ev)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := g.producer.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		g.log.Error("dlq produce of a refused message failed", zap.Error(err))
	}
}

func (g *Gateway) rand() float64 { return mrand.Float64() }

// Usable reports whether new messages should be routed to op: it is bound
// somewhere in the cluster and accepting work.
func (g *Gateway) Usable(op string) bool {
	return g.dispatch.ClusterUp(op) && g.Accepting(op)
}

// Known reports whether op is a configured operator.
func (g *Gateway) Known(op string) bool { _, ok := g.operators[op]; return ok }

// Accepting is false while op is drained or disabled, or in one of its
// maintenance windows.
func (g *Gateway) Accepting(op string) bool {
	return (*g.controls.Load())[op] == "" && !g.maintenanceNow(op)
}

// Disabled reports whether op is disabled (its binds close).
func (g *Gateway) Disabled(op string) bool { return (*g.controls.Load())[op] == controlDisabled }

// maintenanceNow is InMaintenance on the current tables now.
func (g *Gateway) maintenanceNow(op string) bool {
	t := g.tables.Load()
	if len(t.Maintenance) == 0 {
		return false
	}
	return t.InMaintenance(op, time.Now())
}
