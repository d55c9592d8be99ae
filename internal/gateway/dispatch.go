package gateway

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/smpp"
	"github.com/smsgate/smsgate/smpp/coding"
	"github.com/smsgate/smsgate/smpp/pdu"
)

// dispatcher feeds one operator's binds from its Postgres queue. It owns
// two goroutines: run (claims and submits) and collect (turns responses
// into outcomes). Neither ever waits on another operator, so a stalled
// SMSC only stalls its own queue (invariant 3); its backlog stays in
// Postgres, not in memory.
type dispatcher struct {
	g    *Gateway
	op   *operatorRT
	pool *smpp.Pool

	// capacity is the parts in flight at most: the binds this instance
	// holds slots for × window (set by the slot leaser).
	capacity atomic.Int64
	inflight atomic.Int64
	// open counts claimed messages whose outcome is not written yet. A crash
	// turns exactly these into unknown, so claiming stops while the outcome
	// writer is this far behind.
	open    atomic.Int64
	openMax atomic.Int64
	// queued counts messages claimed and not yet taken by run.
	queued    atomic.Int64
	retryWake chan struct{}
	results   chan partResult
	wake      chan struct{}
	ref       atomic.Uint32

	mu      sync.Mutex
	retries []retryItem // parts waiting to be sent again (temporary errors)
}

type partResult struct {
	m   *inflightMsg
	idx int
	res smpp.Result
}

type retryItem struct {
	m   *inflightMsg
	idx int
	due time.Time
}

// partState is one part's progress inside the dispatcher.
type partState struct {
	sm          pdu.SM
	done        bool
	state       store.State // Submitted, Unknown, Rejected
	status      pdu.Status
	smscID      string
	submittedAt time.Time
	tempFails   int
}

// inflightMsg is a claimed message until its outcome is written.
type inflightMsg struct {
	c         store.Claimed
	operator  string
	parts     []partState
	pending   int
	tempFails int
	permanent pdu.Status // first permanent error, 0 = none
	failover  bool       // give the message to the next route
	claimedAt time.Time
}

func newDispatcher(g *Gateway, op *operatorRT, pool *smpp.Pool) *dispatcher {
	capacity := max(op.binds*op.window, 1)
	d := &dispatcher{g: g, op: op, pool: pool,
		results: make(chan partResult, 2*capacity+64), wake: make(chan struct{}, 1),
		retryWake: make(chan struct{}, 1)}
	d.setBinds(op.binds)
	d.ref.Store(rand.Uint32())
	return d
}

// setBinds sizes claims to n binds' windows; n = 0 stops claiming.
func (d *dispatcher) setBinds(n int) {
	c := n * d.op.window
	d.capacity.Store(int64(c))
	d.openMax.Store(int64(2*c + 256))
	if c == 0 {
		d.openMax.Store(0)
	}
	d.kick()
}

// kickRetry wakes run for a retry that came due.
func (d *dispatcher) kickRetry() {
	select {
	case d.retryWake <- struct{}{}:
	default:
	}
}

func (d *dispatcher) kick() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// run submits claimed messages until ctx ends. Claiming runs one batch
// ahead in its own goroutine (claimAhead), so a slow claim query does not
// leave the TPS gate idle: the gate's burst covers ~50 ms of lateness,
// a claim under load can take longer, and each such gap was rate lost
// for good (cluster and scale benchmarks fell 2–5% short of the caps).
func (d *dispatcher) run(ctx context.Context) error {
	batches := make(chan []store.Claimed, 1)
	claimDone := make(chan struct{})
	go func() { // owned by run: ends with ctx; run waits for it below
		defer close(claimDone)
		d.claimAhead(ctx, batches)
	}()
	defer func() {
		<-claimDone
		// Batches claimed but never started go back to the queue.
		for {
			select {
			case b := <-batches:
				ids := make([]string, len(b))
				for i := range b {
					ids[i] = b[i].ID
				}
				d.queued.Add(-int64(len(b)))
				d.release(ids)
				continue
			default:
			}
			return
		}
	}()
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	for ctx.Err() == nil {
		if d.submitDueRetries(ctx) {
			continue
		}
		retry.Reset(time.Second) // scheduleRetry kicks wake; this is a backstop
		var claimed []store.Claimed
		select {
		case <-ctx.Done():
			return nil
		case <-d.retryWake:
			continue
		case <-retry.C:
			continue
		case claimed = <-batches:
		}
		retry.Stop()
		now := time.Now()
		var unsent []string
		for i := range claimed {
			d.queued.Add(-1)
			if ctx.Err() != nil {
				unsent = append(unsent, claimed[i].ID)
				continue
			}
			m := &inflightMsg{c: claimed[i], operator: d.op.name, claimedAt: now}
			if !d.start(ctx, m, now) {
				continue
			}
			for idx := range m.parts {
				if err := d.submit(ctx, m, idx); err != nil {
					if idx == 0 {
						// Shutting down before any part went out: safe to queue again.
						unsent = append(unsent, m.c.ID)
					}
					// A message cut after some parts stays Sending and is
					// resolved as unknown after the restart (never resent).
					break
				}
			}
		}
		d.release(unsent)
	}
	return nil
}

// claimAhead claims batches sized to what the windows can take (counting
// what is claimed and not yet submitted) and hands them to run, until ctx
// ends. At most one batch waits in out and one is being submitted, so a
// crash leaves few messages Unknown.
func (d *dispatcher) claimAhead(ctx context.Context, out chan<- []store.Claimed) {
	idle := time.NewTimer(time.Hour)
	defer idle.Stop()
	for ctx.Err() == nil {
		if !d.g.acceptingWork(d.op.name) || !d.pool.Usable() {
			d.wait(ctx, idle, 100*time.Millisecond)
			continue
		}
		capacity := int(d.capacity.Load())
		// Claim ahead only what ~100 ms of sending needs at the TPS share:
		// enough to hide a slow claim, few enough that a kill -9 leaves
		// little claimed and unsent (those end unknown).
		ahead := capacity
		if r := d.pool.Gate().Rate(); r > 0 {
			ahead = min(capacity, max(capacity/8, int(r/10)+1))
		}
		free := min(capacity-int(d.inflight.Load()), ahead) - int(d.queued.Load())
		if free < max(1, ahead/4) || d.open.Load() >= d.openMax.Load() {
			d.wait(ctx, idle, 20*time.Millisecond)
			continue
		}
		// The claim is not cancelled by shutdown: a cancel racing the commit
		// would leave rows claimed that we never saw (later: unknown).
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		claimed, err := store.Claim(cctx, d.g.store.Pool, d.op.name, d.g.opts.InstanceID, min(free, d.g.opts.ClaimBatch))
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				d.g.log.Warn("claim failed", zap.String("operator", d.op.name), zap.Error(err))
				d.wait(ctx, idle, time.Second)
			}
			continue
		}
		if len(claimed) == 0 {
			d.wait(ctx, idle, 200*time.Millisecond)
			continue
		}
		d.open.Add(int64(len(claimed)))
		d.queued.Add(int64(len(claimed)))
		select {
		case out <- claimed:
		case <-ctx.Done():
			ids := make([]string, len(claimed))
			for i := range claimed {
				ids[i] = claimed[i].ID
			}
			d.queued.Add(-int64(len(claimed)))
			d.release(ids)
			return
		}
	}
}

// release gives claimed messages that never reached the wire back to the
// queue (graceful shutdown), so a restart sends them instead of reporting
// them unknown.
func (d *dispatcher) release(ids []string) {
	if len(ids) == 0 {
		return
	}
	d.open.Add(-int64(len(ids)))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := store.Release(ctx, d.g.store.Pool, ids); err != nil {
		d.g.log.Warn("could not release unsent claims; they will be recovered as unknown", zap.Int("messages", len(ids)), zap.Error(err))
	}
}

func (d *dispatcher) wait(ctx context.Context, t *time.Timer, dur time.Duration) {
	t.Reset(dur)
	select {
	case <-ctx.Done():
	case <-d.wake:
	case <-t.C:
	}
	t.Stop()
}

// start prepares a claimed message: expiry check and splitting. It returns
// false when the message ended without being sent.
func (d *dispatcher) start(ctx context.Context, m *inflightMsg, now time.Time) bool {
	if m.c.ExpiresAt != nil && !m.c.ExpiresAt.After(now) {
		d.g.outcomes.send(ctx, &outcome{m: m, state: store.Rejected, reason: "expired",
			detail: "expires_at passed before it could be sent"})
		return false
	}
	if o := d.g.windowHold(m, now); o != nil { // its route's window closed while it was queued
		d.g.outcomes.send(ctx, o)
		return false
	}
	enc := coding.Encoding(m.c.Encoding)
	ref := uint16(d.ref.Add(1))
	parts, err := coding.Split(m.c.Body, enc, coding.SplitOptions{Concat: d.op.concat, GSM7Packed: d.op.gsm7Packed, Ref: ref})
	if err != nil {
		d.g.outcomes.send(ctx, &outcome{m: m, state: store.Rejected, reason: "invalid", detail: "cannot encode: " + err.Error()})
		return false
	}
	m.parts = make([]partState, len(parts))
	m.pending = len(parts)
	srcTON, srcNPI := senderTON(m.c.Sender)
	validity := ""
	if m.c.ExpiresAt != nil {
		validity = smppAbsoluteTime(*m.c.ExpiresAt)
	}
	for i, p := range parts {
		sm := &m.parts[i].sm
		*sm = pdu.SM{ID: pdu.SubmitSM, SourceTON: srcTON, SourceNPI: srcNPI, Source: m.c.Sender,
			DestTON: 1, DestNPI: 1, Dest: m.c.Dest, ValidityPeriod: validity, DataCoding: enc.DataCoding()}
		if m.c.DLR {
			sm.RegisteredDelivery = 1
		}
		if p.UDHI {
			sm.ESMClass |= pdu.ESMUDHI
		}
		switch {
		case d.op.concat == coding.Payload:
			sm.TLVs = pdu.TLVs{{Tag: pdu.TagMessagePayload, Value: p.ShortMessage}}
		case d.op.concat == coding.SAR && p.Total > 1:
			sm.ShortMessage = p.ShortMessage
			sm.TLVs = pdu.TLVs{{Tag: pdu.TagSARMsgRefNum, Value: pdu.U16(p.Ref)},
				{Tag: pdu.TagSARTotalSegments, Value: pdu.U8(p.Total)}, {Tag: pdu.TagSARSegmentSeqnum, Value: pdu.U8(p.Seq)}}
		default:
			sm.ShortMessage = p.ShortMessage
		}
	}
	return true
}

// submit hands one part to the pool; the pool blocks for a TPS token and
// a window slot.
func (d *dispatcher) submit(ctx context.Context, m *inflightMsg, idx int) error {
	d.inflight.Add(1)
	err := d.pool.Submit(ctx, &m.parts[idx].sm, func(r smpp.Result) {
		d.results <- partResult{m: m, idx: idx, res: r}
	})
	if err != nil {
		d.inflight.Add(-1)
	}
	return err
}

// submitDueRetries sends parts whose back-off has passed; it reports
// whether it sent any.
func (d *dispatcher) submitDueRetries(ctx context.Context) bool {
	d.mu.Lock()
	if len(d.retries) == 0 {
		d.mu.Unlock()
		return false
	}
	now := time.Now()
	var due []retryItem
	keep := d.retries[:0]
	for _, r := range d.retries {
		if !r.due.After(now) {
			due = append(due, r)
		} else {
			keep = append(keep, r)
		}
	}
	d.retries = keep
	d.mu.Unlock()
	for _, r := range due {
		if d.submit(ctx, r.m, r.idx) != nil {
			return false
		}
	}
	return len(due) > 0
}

func (d *dispatcher) scheduleRetry(m *inflightMsg, idx int, after time.Duration) {
	d.mu.Lock()
	d.retries = append(d.retries, retryItem{m: m, idx: idx, due: time.Now().Add(after)})
	d.mu.Unlock()
	time.AfterFunc(after, d.kickRetry) // at most one per retried part: retries are rare
}

// collect turns part results into message outcomes until ctx ends.
func (d *dispatcher) collect(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			d.drain()
			return nil
		case r := <-d.results:
			d.inflight.Add(-1)
			d.handle(ctx, r)
			d.kick()
		}
	}
}

// drain runs at shutdown, after the pools closed (so every submitted part
// has its result): it turns the remaining results into outcomes, and gives
// messages waiting for a retry with no part accepted back to the queue.
// Without it those messages would stay claimed and come back as unknown.
func (d *dispatcher) drain() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		select {
		case r := <-d.results:
			d.inflight.Add(-1)
			d.handle(ctx, r)
			continue
		default:
		}
		break
	}
	d.mu.Lock()
	retries := d.retries
	d.retries = nil
	d.mu.Unlock()
	seen := map[*inflightMsg]bool{}
	var release []string
	for _, r := range retries {
		if seen[r.m] {
			continue
		}
		seen[r.m] = true
		if !r.m.anyAccepted() {
			release = append(release, r.m.c.ID)
		}
	}
	d.release(release)
}

func (d *dispatcher) handle(ctx context.Context, r partResult) {
	m, p := r.m, &r.m.parts[r.idx]
	res := r.res
	switch res.Outcome {
	case smpp.NotSent:
		// Never on the wire: safe to send again, not an attempt.
		d.scheduleRetry(m, r.idx, 50*time.Millisecond)
		return
	case smpp.Unknown:
		d.g.metrics.submits.WithLabelValues(d.op.name, "unknown").Inc()
		if d.op.retryUnknown {
			p.tempFails++
			d.scheduleRetry(m, r.idx, time.Second)
			return
		}
		p.state, p.submittedAt = store.Unknown, time.Now()
	default:
		st := res.Status
		switch {
		case st == pdu.StatusOK:
			p.state, p.smscID, p.submittedAt = store.Submitted, res.MessageID, time.Now()
			d.g.metrics.submits.WithLabelValues(d.op.name, "ok").Inc()
		case !res.Nack && d.op.temporary(st):
			d.g.metrics.submits.WithLabelValues(d.op.name, "temporary").Inc()
			p.tempFails++
			m.tempFails++
			if m.tempFails >= d.op.failoverAfter && !m.anyAccepted() && d.g.hasNextRoute(m) {
				m.failover = true
				p.state, p.status = store.Rejected, st
				break
			}
			d.scheduleRetry(m, r.idx, retryBackoff(p.tempFails))
			return
		default:
			d.g.metrics.submits.WithLabelValues(d.op.name, "rejected").Inc()
			p.state, p.status = store.Rejected, st
			if m.permanent == 0 {
				m.permanent = st
			}
			if !addressError(st) && !m.anyAccepted() && d.g.hasNextRoute(m) {
				m.failover = true
			}
		}
	}
	p.done = true
	m.pending--
	if m.pending > 0 {
		return
	}
	d.g.outcomes.send(ctx, d.finish(m))
}

// finish decides a message's outcome once every part is resolved.
func (d *dispatcher) finish(m *inflightMsg) *outcome {
	o := &outcome{m: m}
	accepted, unknown := 0, 0
	for i := range m.parts {
		switch m.parts[i].state {
		case store.Submitted:
			accepted++
		case store.Unknown:
			unknown++
		}
	}
	switch {
	case m.failover && accepted == 0 && unknown == 0:
		o.state = store.Queued
		o.failover = true
	case m.permanent != 0:
		o.state, o.reason, o.code = store.Rejected, "operator_rejected", m.permanent.Hex()
	case unknown > 0:
		o.state = store.Unknown
	default:
		o.state = store.Submitted
	}
	return o
}

func (m *inflightMsg) anyAccepted() bool {
	for i := range m.parts {
		if m.parts[i].done && (m.parts[i].state == store.Submitted || m.parts[i].state == store.Unknown) {
			return true
		}
	}
	return false
}

// addressError: statuses that say the message itself is wrong; another
// route would refuse it too.
func addressError(st pdu.Status) bool {
	switch st {
	case pdu.ErrInvDstAdr, pdu.ErrInvSrcAdr, pdu.ErrInvDstTON, pdu.ErrInvSrcTON, pdu.ErrInvMsgLen, pdu.ErrInvEsmClass:
		return true
	}
	return false
}

func retryBackoff(n int) time.Duration {
	d := 200 * time.Millisecond << min(n-1, 6)
	d = min(d, 10*time.Second)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// senderTON picks source_addr_ton/npi: alphanumeric 5/0, long numbers
// international 1/1, short codes 3/0 (network specific).
func senderTON(from string) (byte, byte) {
	s := from
	if len(s) > 0 && s[0] == '+' {
		s = s[1:]
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 5, 0
		}
	}
	if len(s) <= 8 {
		return 3, 0
	}
	return 1, 1
}

// smppAbsoluteTime renders t in SMPP absolute time format in UTC:
// YYMMDDhhmmsstnnp with t tenths, nn quarter hours offset, p '+'.
func smppAbsoluteTime(t time.Time) string {
	return t.UTC().Format("060102150405") + "000+"
}
