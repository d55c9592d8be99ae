package gateway

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/protect"
	"github.com/smsgate/smsgate/router"
)

// protection wires the protect.Guard (pure, in memory) to Postgres: the
// blocklist is loaded at start and followed by seq every second (API
// changes and imports reach every instance); pumping holds are persisted
// when they start and restored at start, so a restart or a peer keeps
// them; holds are counted, logged and alerted on.
type protection struct {
	g      *Gateway
	guard  *protect.Guard
	holds  chan protect.RangeHold // bounded: the guard's callback must not block
	lost   prometheus.Counter
	ranges *prometheus.CounterVec // mode, cause

	syncMu   sync.Mutex
	blockSeq int64
}

func newProtection(g *Gateway, cfg *config.Config, reg prometheus.Registerer) (*protection, error) {
	p := &protection{g: g, holds: make(chan protect.RangeHold, 1024),
		lost: prometheus.NewCounter(prometheus.CounterOpts{Name: "smsgate_protection_hold_events_dropped_total",
			Help: "Range holds not persisted because the queue was full (the hold still applies on this instance)."}),
		ranges: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_protection_range_holds_total",
			Help: "Pumping guard triggers per mode (block holds the range, monitor only counts) and cause."}, []string{"mode", "cause"}),
	}
	rules, err := protect.RulesFromConfig(cfg.Protection)
	if err != nil {
		return nil, err
	}
	p.guard, err = protect.New(rules, protect.Options{OnHold: func(h protect.RangeHold) {
		p.ranges.WithLabelValues(h.Mode.String(), string(h.Cause)).Inc()
		select {
		case p.holds <- h:
		default:
			p.lost.Inc()
		}
	}})
	if err != nil {
		return nil, err
	}
	if reg != nil {
		reg.MustRegister(p.lost, p.ranges, protectionCollector{p.guard})
	}
	return p, nil
}

// load reads the blocklist and the persisted pumping holds (at start,
// before ingest).
func (p *protection) load(ctx context.Context) error {
	if err := p.syncBlocklist(ctx); err != nil {
		return err
	}
	holds, err := store.PumpingHolds(ctx, p.g.store.Pool)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, h := range holds {
		p.guard.Restore(protect.RangeHold{Account: h.Account, Range: h.Range, Cause: protect.Cause(h.Reason),
			Strikes: h.Level, Since: h.Since, Until: h.Until}, now)
	}
	return nil
}

// syncBlocklist applies blocklist changes since the last call.
func (p *protection) syncBlocklist(ctx context.Context) error {
	p.syncMu.Lock()
	defer p.syncMu.Unlock()
	bl := p.guard.Blocklist()
	for {
		changes, err := store.BlocklistChanges(ctx, p.g.store.Pool, p.blockSeq, 100000)
		if err != nil {
			return err
		}
		for _, c := range changes {
			if c.Blocked {
				_, _ = bl.Add(c.Number)
			} else {
				_, _ = bl.Remove(c.Number)
			}
			p.blockSeq = c.Seq
		}
		if len(changes) < 100000 {
			return nil
		}
	}
}

// run follows the blocklist and persists range holds until ctx ends.
func (p *protection) run(ctx context.Context) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case h := <-p.holds:
			p.persist(ctx, h)
		case <-tick.C:
			if err := p.syncBlocklist(ctx); err != nil && ctx.Err() == nil {
				p.g.log.Warn("blocklist sync failed", zap.Error(err))
			}
		}
	}
}

func (p *protection) persist(ctx context.Context, h protect.RangeHold) {
	// Logged: every hold is an operator decision to review.
	p.g.log.Warn("pumping guard triggered", zap.String("account", h.Account), zap.String("range", h.Range),
		zap.String("mode", h.Mode.String()), zap.String("cause", string(h.Cause)), zap.Int("strikes", h.Strikes),
		zap.Time("until", h.Until))
	if h.Mode != protect.ModeBlock {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := store.SavePumpingHold(wctx, p.g.store.Pool, store.PumpingHold{Account: h.Account, Range: h.Range,
		Reason: string(h.Cause), Level: h.Strikes, Since: h.Since, Until: h.Until}); err != nil && ctx.Err() == nil {
		p.g.log.Warn("pumping hold not persisted (applies on this instance only)", zap.Error(err))
	}
}

// protectionCollector exports the guard's counters.
type protectionCollector struct{ g *protect.Guard }

var (
	protDecisions = prometheus.NewDesc("smsgate_protection_messages_total",
		"Messages by protection decision: action (rejected, held, monitored, replaced) and reason.", []string{"action", "reason"}, nil)
	protBlocklist = prometheus.NewDesc("smsgate_protection_blocklist_numbers", "Numbers in the in-memory blocklist.", nil, nil)
	protEvicted   = prometheus.NewDesc("smsgate_protection_state_evicted_total",
		"Loop pairs and pumping ranges dropped for room (bounded memory).", []string{"kind"}, nil)
)

func (c protectionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- protDecisions
	ch <- protBlocklist
	ch <- protEvicted
}

func (c protectionCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.g.Stats()
	for _, v := range []struct {
		action, reason string
		n              uint64
	}{
		{"rejected", "blocked", s.Blocked}, {"rejected", "sender_not_allowed", s.SenderRejected},
		{"replaced", "sender_not_allowed", s.SenderReplaced}, {"rejected", "content", s.ContentRejected},
		{"held", "content", s.ContentHeld}, {"rejected", "loop", s.Loop}, {"held", "fraud_hold", s.FraudHeld},
		{"monitored", "fraud_hold", s.FraudMonitored},
	} {
		ch <- prometheus.MustNewConstMetric(protDecisions, prometheus.CounterValue, float64(v.n), v.action, v.reason)
	}
	ch <- prometheus.MustNewConstMetric(protBlocklist, prometheus.GaugeValue, float64(s.BlocklistSize))
	ch <- prometheus.MustNewConstMetric(protEvicted, prometheus.CounterValue, float64(s.LoopEvicted), "loop")
	ch <- prometheus.MustNewConstMetric(protEvicted, prometheus.CounterValue, float64(s.RangesEvicted), "range")
}

// SetBlocked adds or removes a number (E.164 digits, '+' accepted) from
// the blocklist; every instance applies it within a second.
func (g *Gateway) SetBlocked(ctx context.Context, number string, blocked bool) error {
	digits := number
	if len(digits) > 0 && digits[0] == '+' {
		digits = digits[1:]
	}
	n, err := router.NormalizeMSISDN("+"+digits, "")
	if err != nil || n != digits {
		return fmt.Errorf("number %q: want E.164 digits: %w", number, errBadRequest)
	}
	if err := store.SetBlocked(ctx, g.store.Pool, n, blocked); err != nil {
		return err
	}
	return g.protect.syncBlocklist(ctx)
}
