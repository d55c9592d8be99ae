// Package receipts processes what SMSCs deliver: delivery receipts and
// mobile-originated messages (MO). A receipt is correlated with its part
// in memory when dispatch still holds the part (the usual case), else in
// Postgres, else it waits as an early receipt; its row is appended, the
// message's status is derived and published when it changes, and the
// ledger follows (charge on delivery, proof of an unknown part, reroute
// refunds). MO are reassembled, given ids derived from their PDUs (a
// redelivered MO is neither published nor answered twice), stored and
// published; STOP/START keywords change opt-outs. A deliver_sm is
// acknowledged only after its batch commits (invariant 2).
package receipts

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/dlr"
	"github.com/smsgate/smsgate/internal/correlate"
	"github.com/smsgate/smsgate/internal/events"
	"github.com/smsgate/smsgate/internal/health"
	"github.com/smsgate/smsgate/internal/journal"
	"github.com/smsgate/smsgate/internal/policy"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/smpp"
	"github.com/smsgate/smsgate/smpp/pdu"
)

// Options configure the stage.
type Options struct {
	InstanceID string
	// OutcomeLane is the journal lane that writes this instance's
	// outcomes (the parts the index holds).
	OutcomeLane string
	// Queue bounds deliver_sm waiting to be processed (default 20,000);
	// past it a deliver_sm is answered ESME_RTHROTTLED and the SMSC
	// delivers it again later.
	Queue int
	// Batch and Linger size the inbound lane's batches (2,000, 2ms).
	Batch  int
	Linger time.Duration
	// OutcomeWait bounds how long a receipt matched in memory waits for
	// its part's outcome to be written before it is correlated in
	// Postgres instead (default 5s).
	OutcomeWait time.Duration
	// LookupWait is how long a receipt not found in memory is looked up
	// again before it goes to Postgres (default 50ms): the SMSC sends a
	// receipt right behind its submit_sm_resp, and the dispatcher may not
	// have indexed the part yet.
	LookupWait time.Duration
	// EarlyProbe is how often early receipts are looked for in Postgres
	// (default 250ms).
	EarlyProbe time.Duration
	// MaxEarly bounds early receipts held in memory (default 100,000);
	// past it they wait in Postgres only and are orphaned by age.
	MaxEarly int
	// KeepText stores each receipt's text with its row (dlr.keep_text);
	// ShowText keeps the message excerpt in it (http.show_message_text).
	KeepText, ShowText bool
	Logger             *zap.Logger
}

func (o *Options) defaults() {
	if o.Queue <= 0 {
		o.Queue = 20000
	}
	if o.Batch <= 0 {
		o.Batch = 2000
	}
	if o.Linger <= 0 {
		o.Linger = 2 * time.Millisecond
	}
	if o.OutcomeWait <= 0 {
		o.OutcomeWait = 5 * time.Second
	}
	if o.EarlyProbe <= 0 {
		o.EarlyProbe = 250 * time.Millisecond
	}
	if o.LookupWait <= 0 {
		o.LookupWait = 50 * time.Millisecond
	}
	if o.MaxEarly <= 0 {
		o.MaxEarly = 100000
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
}

// Guard is the part of traffic protection that learns from receipts.
type Guard interface {
	ObserveReceipt(account, dest string, delivered bool, now time.Time)
}

// Deps are the stage's collaborators.
type Deps struct {
	Store     *store.Store
	Tables    func() *policy.Tables
	Operators map[string]*policy.Operator
	Index     *correlate.Index
	Topics    events.Topics
	Publisher *journal.Publisher
	Guard     Guard
	Usable    policy.Usable
	// Reparked is called after a reroute or an auto-reply parked messages
	// (dispatch takes them soon).
	Reparked func()
	// Networks resolves a destination's network ("" unknown; nil: off).
	Networks func(dest string) string
	Health   *health.Registry
	Registry prometheus.Registerer
	Journal  *journal.Metrics
}

// Stage is the receipts and MO stage of one instance.
type Stage struct {
	o     Options
	d     Deps
	log   *zap.Logger
	m     *metrics
	in    chan inbound
	lane  *journal.Lane[*item]
	kick  chan struct{}
	stop  atomic.Pointer[context.Context]
	early earlySet
}

// inbound is one deliver_sm as a bind's reader hands it over.
type inbound struct {
	op  *policy.Operator
	sm  *pdu.SM
	ack func(pdu.Status)
	at  time.Time
}

type itemKind uint8

const (
	kReceipt itemKind = iota
	kMO
	kTimeout
	kSweep // MO groups past the reassembly timeout
)

// item is one unit of the inbound lane.
type item struct {
	kind itemKind
	op   *policy.Operator
	ack  func(pdu.Status) // nil for items that came from Postgres (early, timeout)
	at   time.Time
	rc   receipt
	// part: matched in memory; its outcome is written. track: the same
	// for a multipart message, which is applied from Postgres (its events
	// still wait for the outcome's, see Effects.Depends).
	part  *correlate.Part
	track *correlate.Msg
	// early: the early_receipts row this item came from (deleted when
	// applied).
	early int64
	await store.AwaitingReceipt
	mo    dlr.MOPart
}

// New builds the stage.
func New(o Options, d Deps) *Stage {
	o.defaults()
	s := &Stage{o: o, d: d, log: o.Logger, m: newMetrics(d.Registry), in: make(chan inbound, o.Queue), kick: make(chan struct{}, 1)}
	d.Index.OnWritten = s.Written
	s.early.items = map[int64]*earlyItem{}
	s.lane = journal.NewLane(journal.Options[*item]{ID: o.InstanceID + "/inbound", Instance: o.InstanceID, Kind: "inbound",
		Size: o.Batch, Linger: o.Linger, Pool: d.Store.Pool, Write: s.write, Poison: s.poison, Publisher: d.Publisher,
		Progress: d.Health.Stage("inbound"), Logger: o.Logger, Metrics: d.Journal})
	return s
}

// HandlerFor returns the bind handler of one operator. It never blocks a
// bind's reader: a deliver_sm the stage has no room for is answered
// ESME_RTHROTTLED (temporary: the SMSC delivers it again) and counted.
func (s *Stage) HandlerFor(op *policy.Operator) smpp.InboundHandler {
	return smpp.HandlerFunc(func(_ *smpp.BindInfo, sm *pdu.SM, ack func(pdu.Status)) {
		if c := s.stop.Load(); c != nil && (*c).Err() != nil {
			ack(pdu.ErrSysErr) // shutting down: deliver again later
			return
		}
		select {
		case s.in <- inbound{op: op, sm: sm, ack: ack, at: time.Now()}:
		default:
			s.m.refused.WithLabelValues(op.Name).Inc()
			ack(pdu.ErrThrottled)
		}
	})
}

// Written is called after outcomes were written: receipts waiting for
// their part's outcome may go on.
func (s *Stage) Written() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run processes deliver_sm until ctx ends, then answers what is queued
// ESME_RSYSERR (delivered again later) and flushes the lane.
func (s *Stage) Run(ctx context.Context) error {
	s.stop.Store(&ctx)
	laneCtx, stopLane := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = s.lane.Run(laneCtx) }()
	if err := s.loadEarly(ctx, time.Now()); err != nil && ctx.Err() == nil {
		s.log.Warn("early receipts of an earlier run not loaded; they are matched when their part is looked up again", zap.Error(err))
	}
	s.match(ctx)
	for {
		select {
		case in := <-s.in:
			in.ack(pdu.ErrSysErr)
			continue
		default:
		}
		break
	}
	stopLane()
	wg.Wait()
	return nil
}

// SweepMO queues the MO groups past the reassembly timeout (housekeeping).
func (s *Stage) SweepMO(ctx context.Context) {
	s.lane.Submit(ctx, &item{kind: kSweep, at: time.Now()})
}

// Expire queues parts whose receipt did not come within dlr.timeout.
func (s *Stage) Expire(ctx context.Context, parts []store.AwaitingReceipt) {
	now := time.Now()
	for _, p := range parts {
		op := s.d.Operators[p.Operator]
		if op == nil {
			continue
		}
		if !s.lane.Submit(ctx, &item{kind: kTimeout, op: op, at: now, await: p}) {
			return
		}
	}
}

// Queued is the number of deliver_sm and items waiting.
func (s *Stage) Queued() int { return len(s.in) + s.lane.Len() }
