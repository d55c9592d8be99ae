package dispatch

import (
	"context"
	"math"
	"slices"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/smpp"
)

// Bind slot leasing: an operator's `binds` and `tps` are for the whole
// cluster. Each bind needs a slot leased in Postgres (bind_slots); the
// instance opens only the binds it holds leases for, and its TPS gate gets
// tps × held / binds, so neither the bind count nor the rate at the SMSC
// can exceed the contract whatever the number of instances.
//
// Safety: a lease lasts slotTTL on the database clock and is renewed every
// slotEvery. An instance that has not renewed for slotFenceAfter (Postgres
// unreachable or too slow: a round is cut off at that moment) closes its
// binds within slotFenceClose, before the lease can lapse and another
// instance take the slot. A slot is handed back only
// after the bind it covered is closed. A killed instance's slots are free
// again slotTTL after its last renewal; peers take them on their next round.
const (
	slotTTL        = 7 * time.Second
	slotEvery      = time.Second
	slotRoundMax   = 2500 * time.Millisecond // a slow Postgres is not yet a dead one
	slotFenceAfter = 4 * time.Second
	slotFenceClose = 2500 * time.Millisecond
	// bindCloseTimeout bounds a bind's drain and unbind otherwise (shutdown,
	// rebalancing).
	bindCloseTimeout = 10 * time.Second
)

// slotSpec is one pool of slots: an operator's transmitting binds or its
// receivers.
type slotSpec struct {
	key  store.SlotKey
	n    int // the operator's total for the cluster
	tps  float64
	pool *smpp.Pool
	op   *operator // nil for receivers
}

// slotLeaser owns the bind-slot leases of this instance; one goroutine.
type slotLeaser struct {
	s      *Stage
	specs  []slotSpec
	lastOK time.Time
	fenced bool
	// lastWarn rate-limits the log of failing rounds.
	lastWarn time.Time
	// clusterUp maps operators on which some instance has a bind up.
	clusterUp atomic.Pointer[map[string]bool]
	// held is the number of tx slots held per operator, for the page.
	held atomic.Pointer[map[string]int]
}

func newSlotLeaser(s *Stage) *slotLeaser {
	l := &slotLeaser{s: s}
	for name, op := range s.ops {
		p := op.pool
		l.specs = append(l.specs, slotSpec{key: store.SlotKey{Operator: name, Kind: "tx"}, n: op.pol.Binds, tps: op.pol.TPS, pool: p, op: op})
		if op.pol.Receivers > 0 {
			l.specs = append(l.specs, slotSpec{key: store.SlotKey{Operator: name, Kind: "rx"}, n: op.pol.Receivers, pool: p})
		}
		// Nothing is bound until a lease says so.
		p.SetBinds(0)
		p.SetReceivers(0)
		op.setBinds(0)
	}
	slices.SortFunc(l.specs, func(a, b slotSpec) int {
		if a.key.Operator != b.key.Operator {
			return compareStr(a.key.Operator, b.key.Operator)
		}
		return compareStr(a.key.Kind, b.key.Kind)
	})
	empty := map[string]bool{}
	l.clusterUp.Store(&empty)
	noHeld := map[string]int{}
	l.held.Store(&noHeld)
	return l
}

func compareStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Run renews and rebalances leases every slotEvery until ctx ends, then
// (the pools have closed their binds by then: see Gateway.Run's stage
// order) hands every slot back so a restart or a peer binds at once.
func (l *slotLeaser) Run(ctx context.Context) error {
	pg := l.s.st.Pool
	for _, s := range l.specs {
		if err := store.EnsureSlots(ctx, pg, s.key, s.n); err != nil {
			return err
		}
	}
	l.lastOK = time.Now()
	tick := time.NewTicker(slotEvery)
	defer tick.Stop()
	for {
		l.round(ctx)
		select {
		case <-ctx.Done():
			for _, s := range l.specs {
				if tx, rx := s.pool.OpenBinds(); tx+rx > 0 {
					// Run's stage order closes pools first; if a bind is
					// somehow still open, its lease must run out instead.
					l.s.log.Warn("binds still open at shutdown; leaving slots to expire", zap.String("operator", s.key.Operator))
					return nil
				}
			}
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			if err := store.ReleaseAllSlots(rctx, pg, l.s.o.InstanceID); err != nil {
				l.s.log.Warn("could not hand back bind slots; they expire on their own", zap.Error(err))
			}
			return nil
		case <-tick.C:
		}
	}
}

// round is one renewal: heartbeat, renew, take a fair share, give back
// what is above it once closed.
func (l *slotLeaser) round(ctx context.Context) {
	start := time.Now()
	deadline := start.Add(slotRoundMax)
	if fence := l.lastOK.Add(slotFenceAfter); !l.fenced && fence.Before(deadline) {
		deadline = fence // so the fence cannot come late
	}
	rctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	pg := l.s.st.Pool
	me := l.s.o.InstanceID

	var opsUp []string
	for name, op := range l.s.ops {
		if op.pool.Usable() {
			opsUp = append(opsUp, name)
		}
	}
	err := store.Heartbeat(rctx, pg, me)
	var live int
	if err == nil {
		live, err = store.LiveInstances(rctx, pg, slotTTL)
	}
	var held map[store.SlotKey][]int
	if err == nil {
		held, err = store.RenewSlots(rctx, pg, me, slotTTL, opsUp)
	}
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		l.s.m.slotErrors.Inc()
		if !l.fenced && time.Since(l.lastOK) >= slotFenceAfter {
			l.fence(err)
		} else if time.Since(l.lastWarn) >= 5*time.Second {
			// A round that keeps failing must be visible: binds stay
			// closed until one succeeds.
			l.lastWarn = time.Now()
			l.s.log.Warn("bind slot lease round failed", zap.Error(err), zap.Bool("fenced", l.fenced))
		}
		return
	}
	l.lastOK = start
	if l.fenced {
		l.s.log.Warn("bind slot leases renewed again; binding")
		l.fenced = false
	}
	live = max(live, 1)
	l.shareAccountCaps(rctx, live)
	heldTx := map[string]int{}
	for _, s := range l.specs {
		want := l.balance(rctx, s, held[s.key], live)
		l.s.m.slotsHeld.WithLabelValues(s.key.Operator, s.key.Kind).Set(float64(want))
		if s.key.Kind == "tx" {
			heldTx[s.key.Operator] = want
		}
	}
	l.held.Store(&heldTx)
	if up, err := store.OperatorsUp(rctx, pg); err == nil {
		l.clusterUp.Store(&up)
	}
	if l.s.o.OnLeaseRound != nil {
		l.s.o.OnLeaseRound(rctx)
	}
}

// balance applies one spec's leases to its pool and returns the binds it
// may have open.
func (l *slotLeaser) balance(ctx context.Context, s slotSpec, have []int, live int) int {
	slices.Sort(have)
	var valid, surplus []int
	for _, slot := range have {
		if slot < s.n {
			valid = append(valid, slot)
		} else {
			surplus = append(surplus, slot) // `binds` was lowered
		}
	}
	fair := (s.n + live - 1) / live
	if l.s.controls.Disabled(s.key.Operator) {
		fair = 0 // disabled: unbind, and hand the slots back once closed
	}
	if len(valid) < fair {
		got, err := store.AcquireSlots(ctx, l.s.st.Pool, l.s.o.InstanceID, s.key, s.n, fair-len(valid), slotTTL)
		if err != nil {
			l.s.log.Warn("acquire bind slots", zap.Error(err))
		}
		valid = append(valid, got...)
		slices.Sort(valid)
	}
	want := min(len(valid), fair)
	surplus = append(surplus, valid[want:]...)
	l.apply(s, want)
	// Hand back surplus slots only once their binds are closed: the pool
	// closes the highest binds first, asynchronously.
	tx, rx := s.pool.OpenBinds()
	open := tx
	if s.key.Kind == "rx" {
		open = rx
	}
	// Held now: want + len(surplus); the open binds need max(open, want).
	canRelease := want + len(surplus) - max(open, want)
	if canRelease > 0 {
		release := surplus[len(surplus)-min(canRelease, len(surplus)):]
		if err := store.ReleaseSlots(ctx, l.s.st.Pool, l.s.o.InstanceID, s.key, release); err != nil {
			l.s.log.Warn("release bind slots", zap.Error(err))
		}
	}
	return want
}

// apply sets the pool to n binds of this spec and the matching TPS share.
func (l *slotLeaser) apply(s slotSpec, n int) {
	s.pool.SetCloseTimeout(bindCloseTimeout)
	if s.key.Kind == "rx" {
		s.pool.SetReceivers(n)
		return
	}
	s.pool.SetBinds(n)
	if n > 0 && s.tps > 0 {
		s.pool.SetTPS(s.tps * float64(n) / float64(s.n))
	}
	s.op.setBinds(n)
}

// fence closes every bind quickly: leases could not be renewed, so they
// may lapse and be taken by another instance.
func (l *slotLeaser) fence(err error) {
	l.fenced = true
	l.s.log.Error("cannot renew bind slot leases; closing binds before they lapse", zap.Error(err))
	for _, s := range l.specs {
		s.pool.SetCloseTimeout(slotFenceClose)
		if s.key.Kind == "rx" {
			s.pool.SetReceivers(0)
		} else {
			s.pool.SetBinds(0)
			s.op.setBinds(0)
		}
	}
}

// ClusterUp reports whether some instance of the cluster (this one
// included) has a bind of op up.
func (s *Stage) ClusterUp(op string) bool {
	if o, ok := s.ops[op]; ok && o.pool.Usable() {
		return true
	}
	return (*s.slots.clusterUp.Load())[op]
}

// SlotsHeld is the number of transmitting bind slots this instance holds
// per operator.
func (s *Stage) SlotsHeld() map[string]int { return *s.slots.held.Load() }

// shareAccountCaps reports this instance's demand for each capped account
// and sets its part of the cap from the cluster's (accounts.go).
func (l *slotLeaser) shareAccountCaps(ctx context.Context, live int) {
	queued := map[string]int{}
	for _, op := range l.s.ops {
		op.q.queuedByAccount(queued)
	}
	mine := l.s.gates.demands(queued)
	var totals map[string]int64
	if len(mine) > 0 {
		var err error
		if totals, err = store.ShareAccountDemand(ctx, l.s.st.Pool, l.s.o.InstanceID, slotTTL, mine); err != nil {
			totals = nil // tps ÷ live until a round succeeds
			if ctx.Err() == nil && time.Since(l.lastWarn) >= 5*time.Second {
				l.lastWarn = time.Now()
				l.s.log.Warn("account demand round failed; account caps shared evenly", zap.Error(err))
			}
		}
	}
	l.s.gates.refresh(live, mine, totals, time.Now())
	l.s.gates.each(func(g *acctGate) {
		l.s.m.accountShare.WithLabelValues(g.name).Set(math.Float64frombits(g.share.Load()))
	})
}
