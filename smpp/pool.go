package smpp

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/smsgate/smsgate/smpp/pdu"
)

// PoolOptions configures the binds of one operator.
type PoolOptions struct {
	// Session is the template of every bind. Its Mode chooses the layout:
	// Transceiver (Binds transceivers) or Transmitter (Binds transmitters
	// plus Receivers receivers). BindIndex is set per bind; OnThrottle is
	// chained after the pool's own.
	Session SessionOptions
	// Binds is the number of transmitting binds (transmitter or
	// transceiver). Default 1; 0 is allowed only via SetBinds.
	Binds int
	// Receivers is the number of extra receiver binds. Default 0.
	Receivers int
	// TPS caps submit_sm (message parts) per second over all binds of this
	// instance; <= 0 means no cap.
	TPS float64
	// BackoffMin and BackoffMax bound the jittered exponential back-off
	// between reconnects. Defaults 1s and 60s. A bind refused for wrong
	// credentials waits BackoffMax.
	BackoffMin, BackoffMax time.Duration
	// CloseTimeout bounds the graceful close of each bind when Run ends or
	// a bind is removed. Default 10s.
	CloseTimeout time.Duration
}

// PoolStats is a snapshot of a Pool.
type PoolStats struct {
	BindsUp, BindsWanted         int     // transmitting binds
	ReceiversUp, ReceiversWanted int     // receiver-only binds
	InFlight, WindowCap          int     // over the transmitting binds that are up
	Throttled                    bool    // in a throttle back-off (Gate.Backoff)
	TPSLimit, TPSRate            float64 // configured cap, current AIMD rate
	Reconnects                   int64   // binds lost since NewPool
}

// Pool keeps the binds of one operator up and spreads submits over them
// under one TPS gate. Its methods are safe for concurrent use.
type Pool struct {
	o    PoolOptions
	log  *zap.Logger
	m    opMetrics
	gate *Gate

	reconf     chan struct{} // cap 1: wanted bind counts changed
	reconnects atomic.Int64
	// openTx and openRx count the bind keepers running (connecting, up or
	// closing): a bind slot may be handed back only once they fall.
	openTx, openRx atomic.Int32
	closeTimeout   atomic.Int64 // nanoseconds; see SetCloseTimeout

	mu      sync.Mutex
	wantTx  int
	wantRx  int
	binds   map[bindKey]*bindState // one per running keeper, for Binds
	tx      []*Session             // transmitting sessions that are up
	rxUp    int
	changed chan struct{} // closed (and replaced) when tx changes
}

// NewPool returns a pool; Run brings the binds up.
func NewPool(o PoolOptions) *Pool {
	if o.Binds <= 0 {
		o.Binds = 1
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 60 * time.Second
	}
	o.BackoffMax = max(o.BackoffMax, o.BackoffMin)
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = 10 * time.Second
	}
	log := o.Session.Logger
	if log == nil {
		log = zap.NewNop()
	}
	p := &Pool{
		o:       o,
		log:     log.With(zap.String("operator", o.Session.Operator)),
		m:       o.Session.Metrics.forOperator(o.Session.Operator),
		gate:    NewGate(o.TPS, gateBurst(o.TPS, o.Session.Window)),
		reconf:  make(chan struct{}, 1),
		wantTx:  o.Binds,
		wantRx:  o.Receivers,
		changed: make(chan struct{}),
	}
	p.closeTimeout.Store(int64(o.CloseTimeout))
	return p
}

// gateBurst lets 50 ms worth of parts pass at once (so a busy gate wakes
// waiters in batches), never more than one window: an SMSC counting per
// second sees at most tps + window.
func gateBurst(tps float64, window int) int {
	if window <= 0 {
		window = 10
	}
	return min(max(int(tps/20), 1), window)
}

// Gate returns the pool's TPS gate.
func (p *Pool) Gate() *Gate { return p.gate }

// Run keeps the wanted binds up, reconnecting with jittered exponential
// back-off, until ctx ends; then it closes every bind gracefully (each
// bounded by CloseTimeout) and returns nil. It returns an error at once
// for invalid options.
func (p *Pool) Run(ctx context.Context) error {
	tmpl := p.o.Session
	if _, err := tmpl.withDefaults(); err != nil {
		return err
	}
	if tmpl.Mode == Receiver {
		return fmt.Errorf("smpp: PoolOptions.Session.Mode must be transceiver or transmitter")
	}
	if p.o.Receivers > 0 && tmpl.Handler == nil {
		return fmt.Errorf("smpp: PoolOptions.Session.Handler is required with Receivers")
	}
	type slot struct {
		cancel context.CancelFunc
		done   chan struct{}
	}
	var tx, rx []slot
	start := func(mode BindMode, index int) slot {
		kctx, cancel := context.WithCancel(ctx)
		sl := slot{cancel: cancel, done: make(chan struct{})}
		o := tmpl
		o.Mode = mode
		o.BindIndex = index
		userHook := tmpl.OnThrottle
		o.OnThrottle = func(st pdu.Status) {
			p.gate.Throttled()
			if userHook != nil {
				userHook(st)
			}
		}
		go func() {
			defer close(sl.done)
			p.keep(kctx, o)
		}()
		return sl
	}
	resize := func(slots []slot, want int, mode BindMode, base int) []slot {
		for len(slots) < want {
			slots = append(slots, start(mode, base+len(slots)))
		}
		for len(slots) > want {
			last := slots[len(slots)-1]
			last.cancel()
			<-last.done
			slots = slots[:len(slots)-1]
		}
		return slots
	}
	for {
		p.mu.Lock()
		wantTx, wantRx := p.wantTx, p.wantRx
		p.mu.Unlock()
		tx = resize(tx, wantTx, tmpl.Mode, 0)
		p.openTx.Store(int32(len(tx)))
		// Receiver indexes follow the transmitters' so logs tell them apart.
		rx = resize(rx, wantRx, Receiver, 1000)
		p.openRx.Store(int32(len(rx)))
		select {
		case <-ctx.Done():
			// Keepers see ctx and close their sessions concurrently.
			for _, sl := range append(tx, rx...) {
				<-sl.done
			}
			p.openTx.Store(0)
			p.openRx.Store(0)
			return nil
		case <-p.reconf:
		}
	}
}

// keep holds one bind up until ctx ends.
func (p *Pool) keep(ctx context.Context, o SessionOptions) {
	log := p.log.With(zap.Int("bind", o.BindIndex), zap.Stringer("mode", o.Mode))
	key := bindKey{o.Mode, o.BindIndex}
	defer p.setBind(key, nil, "", nil, true)
	attempt := 0
	for {
		p.setBind(key, nil, "connecting", nil, false)
		s, err := Dial(ctx, o)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.setBind(key, nil, "backoff", err, false)
			delay := p.backoff(attempt)
			attempt++
			var be *BindError
			if errors.As(err, &be) && !be.Temporary() {
				delay = p.o.BackoffMax
				log.Error("smpp bind refused; retrying after the maximum back-off", zap.Error(err), zap.Duration("retry_in", delay))
			} else {
				log.Warn("smpp bind failed", zap.Error(err), zap.Duration("retry_in", delay))
			}
			if !sleep(ctx, delay) {
				return
			}
			continue
		}
		up := time.Now()
		p.register(s)
		p.setBind(key, s, "up", nil, false)
		select {
		case <-s.Done():
			p.unregister(s)
			p.setBind(key, nil, "backoff", s.Err(), false)
			p.reconnects.Add(1)
			p.m.reconnect()
		case <-ctx.Done():
			p.unregister(s)
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Duration(p.closeTimeout.Load()))
			if err := s.Close(cctx); err != nil {
				log.Warn("smpp close", zap.Error(err))
			}
			cancel()
			return
		}
		// A bind that stayed up a while was healthy: start over from the
		// shortest back-off. One that dies at once keeps backing off, so a
		// flapping SMSC does not get a reconnect storm.
		if time.Since(up) >= p.o.BackoffMax {
			attempt = 0
		}
		delay := p.backoff(attempt)
		attempt++
		if !sleep(ctx, delay) {
			return
		}
	}
}

type bindKey struct {
	mode  BindMode
	index int
}

type bindState struct {
	s       *Session
	state   string
	lastErr string
	since   time.Time
}

// BindStatus is one bind as the status page shows it.
type BindStatus struct {
	Index     int       `json:"index"`
	Mode      string    `json:"mode"`
	State     string    `json:"state"` // connecting, up, backoff
	Since     time.Time `json:"since"`
	InFlight  int       `json:"in_flight"`
	Window    int       `json:"window"`
	LastError string    `json:"last_error,omitempty"` // why it last failed to bind or dropped
}

// setBind records a keeper's state; gone removes it. err keeps the last
// failure (a later success leaves it, so the page can say why it dropped).
func (p *Pool) setBind(k bindKey, s *Session, state string, err error, gone bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if gone {
		delete(p.binds, k)
		return
	}
	if p.binds == nil {
		p.binds = map[bindKey]*bindState{}
	}
	b := p.binds[k]
	if b == nil {
		b = &bindState{}
		p.binds[k] = b
	}
	if b.state != state {
		b.since = time.Now()
	}
	b.s, b.state = s, state
	if err != nil && !errors.Is(err, ErrClosed) {
		b.lastErr = printable(err.Error())
	}
}

// Binds lists the operator's binds here, transmitting ones first.
func (p *Pool) Binds() []BindStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]BindStatus, 0, len(p.binds))
	for k, b := range p.binds {
		st := BindStatus{Index: k.index, Mode: k.mode.String(), State: b.state, Since: b.since.UTC(), LastError: b.lastErr}
		if b.s != nil {
			st.InFlight, st.Window = b.s.InFlight(), b.s.Window()
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Mode != out[j].Mode {
			return out[i].Mode > out[j].Mode // transmitter/transceiver before receiver
		}
		return out[i].Index < out[j].Index
	})
	return out
}

// printable bounds an error text from the network for display: valid
// UTF-8, no control characters, at most 200 bytes.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return s
}

// backoff is BackoffMin·2^attempt capped at BackoffMax, jittered to
// [d/2, d] so binds that dropped together do not return together.
func (p *Pool) backoff(attempt int) time.Duration {
	d := p.o.BackoffMax
	if attempt < 30 {
		d = min(p.o.BackoffMin<<attempt, p.o.BackoffMax)
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (p *Pool) register(s *Session) {
	p.m.bindUp(1, s.o.Mode.canSubmit())
	p.mu.Lock()
	defer p.mu.Unlock()
	if !s.o.Mode.canSubmit() {
		p.rxUp++
		return
	}
	p.tx = append(p.tx, s)
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *Pool) unregister(s *Session) {
	p.m.bindUp(-1, s.o.Mode.canSubmit())
	p.mu.Lock()
	defer p.mu.Unlock()
	if !s.o.Mode.canSubmit() {
		p.rxUp--
		return
	}
	for i, t := range p.tx {
		if t == s {
			p.tx = slices.Delete(p.tx, i, i+1)
			break
		}
	}
	close(p.changed)
	p.changed = make(chan struct{})
}

// pickRetry is how often a Submit waiting for a usable bind looks again.
const pickRetry = 50 * time.Millisecond

// pick returns the live transmitting session with the fewest outstanding
// submits, or nil and a channel closed when the set of sessions changes.
func (p *Pool) pick() (*Session, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var best *Session
	bestN := 0
	for _, s := range p.tx {
		if s.notAccepting.Load() || s.suspect.Load() {
			continue
		}
		if n := s.InFlight(); best == nil || n < bestN {
			best, bestN = s, n
		}
	}
	if best == nil {
		return nil, p.changed
	}
	return best, nil
}

// Submit waits for a TPS token (one part: each submit_sm is one part) and
// for a bound transmitting session, then submits sm on the least loaded
// one (see Session.Submit for the done contract). While no bind is up it
// blocks until one is, or until ctx ends. It returns an error, and does not
// call done, only when ctx ends first or sm is invalid.
func (p *Pool) Submit(ctx context.Context, sm *pdu.SM, done func(Result)) error {
	if done == nil {
		return ErrNilCallback
	}
	if err := sm.Validate(); err != nil {
		return fmt.Errorf("smpp: submit: %w", err)
	}
	if err := p.gate.Wait(ctx, 1); err != nil {
		return err
	}
	for {
		s, changed := p.pick()
		if s == nil {
			// A suspect bind recovers without a change of the set: look
			// again now and then.
			t := time.NewTimer(pickRetry)
			select {
			case <-changed:
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
			t.Stop()
			continue
		}
		err := s.Submit(ctx, sm, done)
		if errors.Is(err, ErrClosed) {
			// It went down before the PDU was queued: try another.
			continue
		}
		return err
	}
}

// Usable reports whether at least one transmitting bind is up and the
// operator is not in a throttle back-off.
func (p *Pool) Usable() bool {
	s, _ := p.pick()
	return s != nil && !p.gate.Backoff()
}

// Stats returns a snapshot.
func (p *Pool) Stats() PoolStats {
	st := PoolStats{
		Throttled:  p.gate.Backoff(),
		TPSLimit:   p.gate.Limit(),
		TPSRate:    p.gate.Rate(),
		Reconnects: p.reconnects.Load(),
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	st.BindsWanted, st.ReceiversWanted = p.wantTx, p.wantRx
	st.ReceiversUp = p.rxUp
	for _, s := range p.tx {
		if s.dead() {
			continue
		}
		st.BindsUp++
		st.InFlight += s.InFlight()
		st.WindowCap += s.Window()
	}
	return st
}

// SetBinds changes the number of transmitting binds at run time (e.g.
// when this instance gains or loses bind slots in a cluster). Removed
// binds close gracefully.
func (p *Pool) SetBinds(n int) {
	p.mu.Lock()
	p.wantTx = max(n, 0)
	p.mu.Unlock()
	select {
	case p.reconf <- struct{}{}:
	default:
	}
}

// OpenBinds reports how many transmitting and receiving binds may exist
// right now: connecting, up, or still closing after SetBinds lowered the
// count. It is never below the true number.
func (p *Pool) OpenBinds() (tx, rx int) {
	return int(p.openTx.Load()), int(p.openRx.Load())
}

// SetCloseTimeout changes how long a bind being removed may take to drain
// and unbind (default PoolOptions.CloseTimeout); a lost bind slot lease
// needs its binds gone quickly.
func (p *Pool) SetCloseTimeout(d time.Duration) {
	if d > 0 {
		p.closeTimeout.Store(int64(d))
	}
}

// SetReceivers changes the number of receiver binds at run time.
func (p *Pool) SetReceivers(n int) {
	p.mu.Lock()
	p.wantRx = max(n, 0)
	p.mu.Unlock()
	select {
	case p.reconf <- struct{}{}:
	default:
	}
}

// SetTPS changes the instance's share of the operator's TPS cap.
func (p *Pool) SetTPS(tps float64) {
	p.gate.SetLimit(tps)
	p.gate.SetBurst(gateBurst(tps, p.o.Session.Window))
}
