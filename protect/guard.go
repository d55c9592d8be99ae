package protect

import (
	"fmt"
	"hash/maphash"
	"strings"
	"sync/atomic"
	"time"

	"github.com/smsgate/smsgate/router"
)

// Defaults of Options.
const (
	DefaultMaxLoopPairs = 1 << 19
	DefaultMaxRanges    = 1 << 18
)

// Options configure a Guard; zero fields take the documented default.
type Options struct {
	// OnHold is called when a range is triggered (block or monitor mode),
	// synchronously on the goroutine of Check or ObserveReceipt and
	// outside every lock: it must not block (hand it to a bounded queue
	// and count drops). Default: nothing.
	OnHold func(RangeHold)
	// Blocklist is the set Check consults; default a new empty one (see
	// Guard.Blocklist).
	Blocklist *Blocklist
	// MaxLoopPairs bounds the loop guard's pairs. A pair is kept for two
	// loop windows (10k msg/s of distinct pairs with per 30s would want
	// 600k); past the bound, pairs without a message in the current
	// window go first. Default 1<<19; the heap per pair is in
	// BenchmarkStateMemory (benchmarks/RESULTS.md).
	MaxLoopPairs int
	// MaxRanges bounds the pumping guard's ranges (account × destination
	// range, kept for 2 × RateWindow after their last message or receipt).
	// Default 1<<18; the heap per range is in BenchmarkStateMemory.
	MaxRanges int
	// RateWindow is the window of a range's delivery rate. Default 1h.
	RateWindow time.Duration
	// MaxHold caps a doubled hold. Default 7 days.
	MaxHold time.Duration
	// StrikeMemory: a range triggered again within this time after its
	// last hold ended gets the doubled hold; later it starts again from
	// hold_for. Default 24h.
	StrikeMemory time.Duration
}

func (o *Options) defaults() {
	if o.Blocklist == nil {
		o.Blocklist = NewBlocklist()
	}
	if o.MaxLoopPairs <= 0 {
		o.MaxLoopPairs = DefaultMaxLoopPairs
	}
	if o.MaxRanges <= 0 {
		o.MaxRanges = DefaultMaxRanges
	}
	if o.RateWindow <= 0 {
		o.RateWindow = time.Hour
	}
	if o.MaxHold <= 0 {
		o.MaxHold = 7 * 24 * time.Hour
	}
	if o.StrikeMemory <= 0 {
		o.StrikeMemory = 24 * time.Hour
	}
}

// Guard runs the protection checks. It is safe for concurrent use.
type Guard struct {
	rules  atomic.Pointer[compiled]
	block  *Blocklist
	loop   *loopGuard
	pump   *pumpGuard
	seed   maphash.Seed
	onHold func(RangeHold)
	c      counters
}

type counters struct {
	blocked, senderRejected, senderReplaced, contentRejected, contentHeld,
	loop, fraudHeld, fraudMonitored, rangeHolds, rangeMonitors atomic.Uint64
}

// Stats are the Guard's counters since New (monotonic) and sizes (gauges).
type Stats struct {
	Blocked         uint64 // rejected: blocked
	SenderRejected  uint64 // rejected: sender_not_allowed
	SenderReplaced  uint64 // allowed with replace_with
	ContentRejected uint64 // rejected: content
	ContentHeld     uint64 // held: content
	Loop            uint64 // rejected: loop
	FraudHeld       uint64 // held: fraud_hold (messages)
	FraudMonitored  uint64 // sent, in a monitor-mode triggered range (messages)
	RangeHolds      uint64 // ranges triggered in block mode
	RangeMonitors   uint64 // ranges triggered in monitor mode
	LoopExpired     uint64 // idle loop pairs dropped
	LoopEvicted     uint64 // loop pairs dropped for room (MaxLoopPairs)
	RangesExpired   uint64 // idle ranges dropped
	RangesEvicted   uint64 // ranges dropped for room (MaxRanges)
	BlocklistSize   int    // numbers in the blocklist
	LoopPairs       int    // pairs the loop guard holds now
	Ranges          int    // ranges the pumping guard holds now
}

// New returns a Guard enforcing r.
func New(r Rules, o Options) (*Guard, error) {
	o.defaults()
	g := &Guard{
		block:  o.Blocklist,
		pump:   newPumpGuard(&o),
		seed:   maphash.MakeSeed(),
		onHold: o.OnHold,
	}
	g.loop = newLoopGuard(o.MaxLoopPairs, int64(time.Minute))
	if err := g.SetRules(r); err != nil {
		return nil, err
	}
	return g, nil
}

// SetRules swaps the rules atomically (config reload); loop and pumping
// state are kept. On error the old rules stay.
func (g *Guard) SetRules(r Rules) error {
	c, err := compile(r)
	if err != nil {
		return fmt.Errorf("protection rules: %w", err)
	}
	g.rules.Store(c)
	return nil
}

// Blocklist is the set Check consults, for the integrator to load and
// change.
func (g *Guard) Blocklist() *Blocklist { return g.block }

func trimPlus(s string) string {
	if len(s) > 0 && s[0] == '+' {
		return s[1:]
	}
	return s
}

// Check runs every check on one message at ingest, in the order the
// package documentation gives, and counts it in the loop and pumping
// guards when it gets that far. The loop guard keys on the sender as
// given, before any replace_with: replacing many senders by one must not
// make their destinations look like a loop.
func (g *Guard) Check(m *Message, now time.Time) Verdict {
	r := g.rules.Load()
	dest := trimPlus(m.Dest)
	v, done := g.stateless(r, m, dest)
	if done {
		return v
	}
	ns := now.UnixNano()
	if l := r.loop; l != nil {
		if !g.loop.allow(keyOf(g.seed, m.Account, m.Sender, dest), l.Max, int64(l.Per), ns) {
			g.c.loop.Add(1)
			return Verdict{Action: Reject, Reason: ReasonLoop, Detail: "more than loop.max messages between this sender and destination within loop.per"}
		}
	}
	if p := r.pumping; p != nil {
		return g.checkPumping(p, m.Account, dest, ns, v)
	}
	return v
}

// Recheck is for dispatch, once the operator is known: it repeats the
// checks that can change between ingest and sending and count nothing —
// blocklist (a number blocked since) and sender rules (now with
// m.Operator, so operator rules apply). Content was decided at ingest on
// the same text, and a message released from a content hold must not be
// held again, so it is not repeated; nor are loop and pumping, which
// count messages. Its rejects are counted in Stats (a message is rejected
// once, at ingest or at dispatch); its replacements are not, as Check
// counted them.
func (g *Guard) Recheck(m *Message) Verdict {
	r := g.rules.Load()
	dest := trimPlus(m.Dest)
	if v, done := g.blocked(r, dest); done {
		return v
	}
	v, _ := g.senders(r, m, dest, false)
	return v
}

// stateless runs blocklist, sender and content checks; done is true when
// the verdict is final (not Allow).
func (g *Guard) stateless(r *compiled, m *Message, dest string) (v Verdict, done bool) {
	if v, done = g.blocked(r, dest); done {
		return v, true
	}
	if v, done = g.senders(r, m, dest, true); done {
		return v, true
	}
	if cr := r.content.match(m.Account, m.Text); cr != nil {
		if cr.action == Hold {
			g.c.contentHeld.Add(1)
		} else {
			g.c.contentRejected.Add(1)
		}
		return Verdict{Action: cr.action, Reason: ReasonContent, Detail: cr.pattern}, true
	}
	return v, false
}

func (g *Guard) blocked(r *compiled, dest string) (Verdict, bool) {
	if r.blocklist && g.block.Contains(dest) {
		g.c.blocked.Add(1)
		return Verdict{Action: Reject, Reason: ReasonBlocked, Detail: "destination is in the blocklist"}, true
	}
	return Verdict{}, false
}

func (g *Guard) senders(r *compiled, m *Message, dest string, countReplaced bool) (v Verdict, done bool) {
	if len(r.senders) == 0 {
		return v, false
	}
	repl, ok := checkSender(r.senders, router.CountryPrefix(dest), m.Operator, m.Sender)
	if !ok {
		g.c.senderRejected.Add(1)
		return Verdict{Action: Reject, Reason: ReasonSenderNotAllowed, Detail: "sender kind not allowed for this destination"}, true
	}
	if repl != "" {
		if countReplaced {
			g.c.senderReplaced.Add(1)
		}
		v.ReplacedSender = repl
	}
	return v, false
}

// rangeOf is the destination without its last digits, never shorter than
// its country code.
// RangeOf is dest's range with the last digits removed (never shorter
// than its country code), for a destination that pumping rules did not see.
func RangeOf(dest string, digits int) string {
	dest = trimPlus(dest)
	return rangeOf(dest, router.CountryPrefix(dest), digits)
}

func rangeOf(dest, country string, digits int) string {
	n := len(dest) - digits
	if n < len(country) {
		n = len(country)
	}
	if n < 1 {
		n = min(1, len(dest))
	}
	return dest[:n]
}

func (p *pumpRules) mode(country string) Mode {
	if m, ok := p.Modes[country]; ok {
		return m
	}
	return p.Default
}

func (p *pumpRules) safe(dest string) bool {
	for _, s := range p.Safe {
		if strings.HasPrefix(dest, s) {
			return true
		}
	}
	return false
}

func (g *Guard) checkPumping(p *pumpRules, account, dest string, now int64, v Verdict) Verdict {
	country := router.CountryPrefix(dest)
	mode := p.mode(country)
	if mode == ModeAllow || p.safe(dest) {
		return v
	}
	rng := rangeOf(dest, country, p.PrefixDigits)
	held, started := g.pump.onMessage(keyOf(g.seed, account, rng, ""), account, rng, p, mode, now)
	if started != nil {
		g.reported(started)
	}
	if !held {
		return v
	}
	v.Reason, v.Range = ReasonFraudHold, rng
	if mode == ModeMonitor {
		g.c.fraudMonitored.Add(1)
		v.Action, v.Detail = Monitor, "range over its pumping limits (monitor mode)"
		return v
	}
	g.c.fraudHeld.Add(1)
	v.Action, v.Detail, v.ReplacedSender = Hold, "range held by the pumping guard", ""
	return v
}

func (g *Guard) reported(h *RangeHold) {
	if h.Mode == ModeMonitor {
		g.c.rangeMonitors.Add(1)
	} else {
		g.c.rangeHolds.Add(1)
	}
	if g.onHold != nil {
		g.onHold(*h)
	}
}

// ObserveReceipt feeds one final delivery outcome of a message sent by
// account to dest (delivered, or undeliverable/expired) into the range's
// delivery rate.
func (g *Guard) ObserveReceipt(account, dest string, delivered bool, now time.Time) {
	p := g.rules.Load().pumping
	if p == nil {
		return
	}
	dest = trimPlus(dest)
	country := router.CountryPrefix(dest)
	mode := p.mode(country)
	if mode == ModeAllow || p.safe(dest) {
		return
	}
	rng := rangeOf(dest, country, p.PrefixDigits)
	if h := g.pump.onReceipt(keyOf(g.seed, account, rng, ""), account, rng, delivered, p, mode, now.UnixNano()); h != nil {
		g.reported(h)
	}
}

// RangeOf is the pumping range of dest under the current rules ("" with
// pumping off), as Check reports it in Verdict.Range.
func (g *Guard) RangeOf(dest string) string {
	p := g.rules.Load().pumping
	if p == nil {
		return ""
	}
	dest = trimPlus(dest)
	return rangeOf(dest, router.CountryPrefix(dest), p.PrefixDigits)
}

// Release ends the hold of an account's range before its time (an
// operator decided it is genuine traffic); its strike count stays, so a
// repeat still gets a doubled hold. False when the range was not held.
func (g *Guard) Release(account, rng string, now time.Time) bool {
	return g.pump.release(keyOf(g.seed, account, rng, ""), now.UnixNano())
}

// Restore loads a persisted hold (at start): the range stays held until
// h.Until and its next hold continues doubling from h.Strikes.
func (g *Guard) Restore(h RangeHold, now time.Time) {
	g.pump.restore(keyOf(g.seed, h.Account, h.Range, ""), h, now.UnixNano())
}

// Holds lists the ranges triggered and not yet expired at now (block and
// monitor mode).
func (g *Guard) Holds(now time.Time) []RangeHold { return g.pump.holds(now.UnixNano()) }

// Stats returns the counters and sizes (the sizes lock each shard in turn:
// fine for a metrics scrape, not for every message).
func (g *Guard) Stats() Stats {
	return Stats{
		Blocked:         g.c.blocked.Load(),
		SenderRejected:  g.c.senderRejected.Load(),
		SenderReplaced:  g.c.senderReplaced.Load(),
		ContentRejected: g.c.contentRejected.Load(),
		ContentHeld:     g.c.contentHeld.Load(),
		Loop:            g.c.loop.Load(),
		FraudHeld:       g.c.fraudHeld.Load(),
		FraudMonitored:  g.c.fraudMonitored.Load(),
		RangeHolds:      g.c.rangeHolds.Load(),
		RangeMonitors:   g.c.rangeMonitors.Load(),
		LoopExpired:     g.loop.t.expiredN.Load(),
		LoopEvicted:     g.loop.t.evictedN.Load(),
		RangesExpired:   g.pump.t.expiredN.Load(),
		RangesEvicted:   g.pump.t.evictedN.Load(),
		BlocklistSize:   g.block.Len(),
		LoopPairs:       g.loop.t.len(),
		Ranges:          g.pump.t.len(),
	}
}
