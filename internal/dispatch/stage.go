// Package dispatch sends messages to the SMSCs: per operator a queue in
// memory, a journaler that writes each message's intent row in one group
// commit before the wire (the dedupe on id), a sender that hands parts to
// the operator's binds under its window and TPS, and a collector that
// turns submit_sm_resp into outcomes. Outcomes are written by the outcome
// lane (attempt rows = ledger rows, month aggregates once per batch). What
// cannot go soon is parked in Postgres and taken back when due. Bind
// slots are leased in Postgres so an operator's binds and TPS hold for the
// whole cluster.
package dispatch

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/internal/correlate"
	"github.com/smsgate/smsgate/internal/events"
	"github.com/smsgate/smsgate/internal/health"
	"github.com/smsgate/smsgate/internal/journal"
	"github.com/smsgate/smsgate/internal/message"
	"github.com/smsgate/smsgate/internal/policy"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/smpp"
)

// Controls is what dispatch needs to know about operators beyond its own
// binds: cluster state and operator controls.
type Controls interface {
	// Accepting is false while op is drained, disabled or in maintenance.
	Accepting(op string) bool
	// Disabled: op's binds are to be closed.
	Disabled(op string) bool
	// Usable: op can take new messages somewhere in the cluster.
	Usable(op string) bool
}

// Options configure the stage.
type Options struct {
	InstanceID string
	// QueueMax bounds an operator's in-memory queue (default: half a
	// second of its TPS share, at least 2,000, at most 50,000).
	QueueMax int
	// JournalBatch and JournalLinger size the intent lane's batches
	// (defaults 2,000, 1ms); OutcomeBatch and OutcomeLinger the outcome
	// lane's (2,000, 2ms).
	JournalBatch  int
	JournalLinger time.Duration
	OutcomeBatch  int
	OutcomeLinger time.Duration
	// ParkLease is how long a parked row taken into memory stays this
	// instance's (default 60s).
	ParkLease time.Duration
	// UnparkEvery is how often due parked rows are looked for (default 250ms).
	UnparkEvery time.Duration
	// OnPoison handles a message whose row Postgres refused: the gateway
	// sends it to sms.dlq with a rejected event.
	OnPoison func(m *message.Message, err error)
	// OnSent, when set, learns the parts of each message accepted or
	// unknown at the SMSC, by account, after their outcome is written
	// (the account's rate on the status page and API).
	OnSent func(account string, parts int)
	// OnLeaseRound runs after each bind-slot round (the gateway reads the
	// cluster's operator controls there).
	OnLeaseRound func(ctx context.Context)
	Logger       *zap.Logger
}

func (o *Options) defaults() {
	if o.JournalBatch <= 0 {
		o.JournalBatch = 2000
	}
	if o.JournalLinger <= 0 {
		o.JournalLinger = time.Millisecond
	}
	if o.OutcomeBatch <= 0 {
		o.OutcomeBatch = 2000
	}
	if o.OutcomeLinger <= 0 {
		o.OutcomeLinger = 2 * time.Millisecond
	}
	if o.ParkLease <= 0 {
		o.ParkLease = 60 * time.Second
	}
	if o.UnparkEvery <= 0 {
		o.UnparkEvery = 250 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
}

// Stage is the dispatch stage of one instance.
type Stage struct {
	o        Options
	log      *zap.Logger
	st       *store.Store
	tables   func() *policy.Tables
	controls Controls
	index    *correlate.Index
	topics   events.Topics
	m        *metrics

	ops      map[string]*operator
	gates    *accountGates
	intents  *journal.Lane[intentItem]
	outcomes *journal.Lane[*outcome]
	slots    *slotLeaser

	unsettled  *batchCounter
	dupKick    chan struct{}
	unparkKick chan struct{}
	dupSweeper func(ctx context.Context) error
}

// Deps are the stage's collaborators, built by the gateway.
type Deps struct {
	Store     *store.Store
	Tables    func() *policy.Tables
	Operators map[string]*policy.Operator
	Pools     map[string]*smpp.Pool
	Controls  Controls
	Index     *correlate.Index
	Topics    events.Topics
	Publisher *journal.Publisher
	Health    *health.Registry
	Registry  prometheus.Registerer
	Journal   *journal.Metrics
}

// New builds the stage.
func New(o Options, d Deps) *Stage {
	o.defaults()
	s := &Stage{o: o, log: o.Logger, st: d.Store, tables: d.Tables, controls: d.Controls, index: d.Index, topics: d.Topics,
		m: newMetrics(d.Registry), ops: map[string]*operator{}, unsettled: newBatchCounter(),
		dupKick: make(chan struct{}, 1), unparkKick: make(chan struct{}, 1)}
	s.gates = newAccountGates(d.Tables, s.m.throttled)
	s.intents = journal.NewLane(journal.Options[intentItem]{ID: o.InstanceID + "/intents", Instance: o.InstanceID, Kind: "intents",
		Size: o.JournalBatch, Linger: o.JournalLinger, Pool: d.Store.Pool, Write: s.writeIntents, Poison: s.poisonIntent,
		Publisher: d.Publisher, Progress: d.Health.Stage("intents"), Logger: o.Logger, Metrics: d.Journal})
	s.outcomes = journal.NewLane(journal.Options[*outcome]{ID: o.InstanceID + "/outcomes", Instance: o.InstanceID, Kind: "outcomes",
		Size: o.OutcomeBatch, Linger: o.OutcomeLinger, Pool: d.Store.Pool, Write: s.writeOutcomes, Poison: s.poisonOutcome,
		Publisher: d.Publisher, Progress: d.Health.Stage("outcomes"), Logger: o.Logger, Metrics: d.Journal})
	for name, pol := range d.Operators {
		s.ops[name] = newOperator(s, pol, d.Pools[name], d.Health.Stage("dispatch "+name))
	}
	s.slots = newSlotLeaser(s)
	return s
}

// Offer is ingest's entry (ingest.Queues): m goes into its operator's
// queue when this instance sends for that operator and the queue has room
// within wait. False: the caller parks it.
func (s *Stage) Offer(ctx context.Context, m *message.Message, settle func(), wait time.Duration) bool {
	op := s.ops[m.Operator]
	if op == nil || !op.takesWork() {
		return false
	}
	now := time.Now()
	if op.q.tryPush(queued{m: m, settle: settle}, now) {
		return true
	}
	// An account holding its share of a full queue is parked at once:
	// waiting for room would hold up the records behind this one in its
	// partition, other accounts' among them (head-of-line blocking). A
	// queue that has been full for a while is not draining: park at once.
	if op.q.overShare(m.Account) || op.q.stuckFor(now) > wait {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return op.q.tryPush(queued{m: m, settle: settle}, time.Now())
		case <-op.q.room:
			if op.q.tryPush(queued{m: m, settle: settle}, time.Now()) {
				return true
			}
		}
	}
}

// Run runs the stage until ctx ends. Shutdown: journalers stop and give
// their queues back to the parked set, senders stop, the pools drain
// their windows and unbind (the gateway stops them), collectors write the
// last outcomes, the lanes flush.
func (s *Stage) Run(ctx context.Context, poolsDone <-chan struct{}) error {
	var wg sync.WaitGroup
	lanes, stopLanes := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLanes()
	var laneWG sync.WaitGroup
	laneWG.Add(2)
	go func() { defer laneWG.Done(); _ = s.intents.Run(lanes) }()
	go func() { defer laneWG.Done(); _ = s.outcomes.Run(lanes) }()
	collectors, stopCollectors := context.WithCancel(context.WithoutCancel(ctx))
	defer stopCollectors()
	var colWG sync.WaitGroup
	for _, op := range s.ops {
		colWG.Add(1)
		go func() { defer colWG.Done(); op.collect(collectors) }()
		wg.Add(1)
		go func() { defer wg.Done(); op.run(ctx) }()
	}
	wg.Add(2)
	go func() { defer wg.Done(); s.unparkLoop(ctx) }()
	go func() { defer wg.Done(); s.settledLoop(ctx) }()
	<-ctx.Done()
	wg.Wait()
	// The pools close (the gateway cancels them after this stage's senders
	// stopped); wait for them so every submitted part has its result.
	<-poolsDone
	stopCollectors()
	colWG.Wait()
	stopLanes()
	laneWG.Wait()
	return nil
}

// WaitBound waits until every operator whose bind slots this instance
// holds has a usable bind, or ctx ends: ingest starts after it, so the
// first records read find their queues open instead of being parked.
func (s *Stage) WaitBound(ctx context.Context) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		held := s.SlotsHeld()
		bound := len(held) > 0 || len(s.ops) == 0
		for name, n := range held {
			if n > 0 && !s.ops[name].pool.Usable() {
				bound = false
			}
		}
		if bound {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Slots is the bind-slot leaser (run by the gateway in its own stage).
func (s *Stage) Slots() *slotLeaser { return s.slots }

func (s *Stage) kickDuplicates() { signal(s.dupKick) }

// DuplicateKick is signalled when duplicates were recorded.
func (s *Stage) DuplicateKick() <-chan struct{} { return s.dupKick }

// KickUnpark asks for a look at due parked rows soon (a release, a new
// scheduled due).
func (s *Stage) KickUnpark() { signal(s.unparkKick) }

// OperatorInfo is the live view of one operator for the status page.
type OperatorInfo struct {
	Queued, Journaled, InFlight int
	Capacity                    int
}

// Info returns op's live figures.
func (s *Stage) Info(op string) OperatorInfo {
	o := s.ops[op]
	if o == nil {
		return OperatorInfo{}
	}
	return OperatorInfo{Queued: o.q.len(), Journaled: int(o.journaled.Load()), InFlight: int(o.inflight.Load()), Capacity: int(o.capacity.Load())}
}
