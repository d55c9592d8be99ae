package dispatch

import (
	"container/heap"
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/smsgate/smsgate/dlr"
	"github.com/smsgate/smsgate/internal/correlate"
	"github.com/smsgate/smsgate/internal/health"
	"github.com/smsgate/smsgate/internal/message"
	"github.com/smsgate/smsgate/internal/policy"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/smpp"
	"github.com/smsgate/smsgate/smpp/coding"
	"github.com/smsgate/smsgate/smpp/pdu"
)

// operator is one operator's dispatcher. Goroutines: run's journaler
// (queue → intent lane), its completer (intent results → ready, in
// order), its sender (ready and retries → binds), and collect (results →
// outcomes). Nothing here waits on another operator (invariant 3).
type operator struct {
	s        *Stage
	pol      *policy.Operator
	pool     *smpp.Pool
	q        *queue
	progress *health.Stage

	// capacity: parts the binds this instance holds slots for can have in
	// flight (binds × window); 0 stops journaling.
	capacity atomic.Int64
	// inflight: parts handed to the pool whose result the collector has
	// not processed; journaled: messages with an intent written (or being
	// written) that the sender has not finished handing to the pool.
	inflight  atomic.Int64
	journaled atomic.Int64

	ready    chan *flight
	stopping chan struct{} // closed when the sender stops (shutdown)
	leftover []*flight     // journaled, not sent: parked back (completer-owned until run ends)
	results  results
	retryMu  sync.Mutex
	retries  retryHeap
	retryC   chan struct{}
	ref      atomic.Uint32
}

// flight is a message from its intent until its outcome is handed on.
type flight struct {
	m         *message.Message
	parts     []partState
	pending   int
	tempFails int
	permanent pdu.Status
	failover  bool
	sent      bool // some part reached the pool
	track     *correlate.Msg
	one       [1]partState // parts of a single-part message: no second allocation
}

type partState struct {
	sm          pdu.SM
	done        bool
	state       message.State
	status      pdu.Status
	smscID      []byte
	key         string
	submittedAt time.Time
	respAt      time.Time
	bind        int
	seq         uint32
	tempFails   int
}

type partResult struct {
	f   *flight
	idx int
	res smpp.Result
	at  time.Time
}

func newOperator(s *Stage, pol *policy.Operator, pool *smpp.Pool, progress *health.Stage) *operator {
	qmax := s.o.QueueMax
	if qmax <= 0 {
		qmax = min(max(int(pol.TPS/2), 2000), 50000)
	}
	o := &operator{s: s, pol: pol, pool: pool, q: newQueue(qmax, s.gates), progress: progress,
		ready: make(chan *flight, 8192), stopping: make(chan struct{}), retryC: make(chan struct{}, 1)}
	o.results.wake = make(chan struct{}, 1)
	o.ref.Store(rand.Uint32())
	return o
}

// takesWork: this instance sends for the operator now (binds held and
// usable, accepting work).
func (o *operator) takesWork() bool {
	return o.capacity.Load() > 0 && o.pool.Usable() && o.s.controls.Accepting(o.pol.Name)
}

// setBinds sizes the journal-ahead to n binds' windows; 0 stops it.
func (o *operator) setBinds(n int) {
	o.capacity.Store(int64(n * o.pol.Window))
	signal(o.q.work)
}

// ahead is how many journaled messages may wait for the wire: enough to
// cover a journal commit (a few ms) at full speed, few enough that a kill
// -9 leaves little journaled and unsent (those end unknown): 20 ms of the
// TPS share, at least half a window, at most 4 windows or 1,024.
func (o *operator) ahead() int64 {
	c := o.capacity.Load()
	a := max(c, 256) * 4
	if r := o.pool.Gate().Rate(); r > 0 {
		a = min(a, max(int64(r/50), c/2))
	}
	return a
}

// run journals and sends until ctx ends.
func (o *operator) run(ctx context.Context) {
	pendingBatches := make(chan *journalBatch, 2)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); o.complete(pendingBatches) }()
	sendCtx, stopSend := context.WithCancel(context.WithoutCancel(ctx))
	go func() { defer wg.Done(); o.send(sendCtx) }()
	o.journalLoop(ctx, pendingBatches)
	close(pendingBatches)
	// The sender stops now; the completer keeps what it could not hand
	// over, and all of it goes back to the parked set.
	close(o.stopping)
	stopSend()
	wg.Wait()
	o.parkBack()
}

type journalBatch struct {
	w    *waiter
	msgs []*flight
}

// journalLoop takes messages from the queue as the windows free up and
// writes their intents.
func (o *operator) journalLoop(ctx context.Context, out chan<- *journalBatch) {
	idle := time.NewTimer(time.Hour)
	defer idle.Stop()
	buf := make([]queued, 0, 512)
	var away time.Time // since when the operator takes no work here
	for ctx.Err() == nil {
		if !o.takesWork() {
			o.progress.Waiting(false)
			if away.IsZero() {
				away = time.Now()
			}
			// A bind that flaps keeps its queue; one that stays away (or a
			// drain) gives it to the parked set, for its other binds in the
			// cluster or for later: records settle, nothing waits here.
			if o.q.len() > 0 && (time.Since(away) > parkAwayAfter || !o.s.controls.Accepting(o.pol.Name)) {
				o.parkQueue(ctx, "operator not taking work here")
			}
			o.wait(ctx, idle, 100*time.Millisecond)
			continue
		}
		away = time.Time{}
		free := o.capacity.Load() + o.ahead() - o.inflight.Load() - o.journaled.Load()
		if free <= 0 || o.q.len() == 0 {
			o.progress.Waiting(o.q.len() > 0)
			o.wait(ctx, idle, 50*time.Millisecond)
			continue
		}
		var wake time.Duration
		buf, wake = o.q.take(buf[:0], int(min(free, 1000)), time.Now())
		if len(buf) == 0 {
			// Every account queued is over its tps: sleep until the first
			// has tokens again (a new message wakes it sooner).
			o.progress.Waiting(false)
			if wake <= 0 {
				wake = 50 * time.Millisecond
			}
			o.wait(ctx, idle, min(wake, 50*time.Millisecond))
			continue
		}
		o.journal(ctx, buf, out)
		o.progress.Advanced()
	}
}

// parkAwayAfter is how long an operator's queue waits for its binds
// before it is parked.
const parkAwayAfter = 2 * time.Second

func (o *operator) wait(ctx context.Context, t *time.Timer, d time.Duration) {
	t.Reset(d)
	select {
	case <-ctx.Done():
	case <-o.q.work:
	case <-t.C:
	}
	t.Stop()
}

// journal prepares a batch (expiry, time windows, encoding) and hands its
// intents to the lane; the completer waits for the result.
func (o *operator) journal(ctx context.Context, batch []queued, out chan<- *journalBatch) {
	now := time.Now()
	t := o.s.tables()
	jb := &journalBatch{msgs: make([]*flight, 0, len(batch))}
	items := make([]intentItem, 0, len(batch))
	var rest []store.IntentRow
	var restSettle []func()
	for _, qe := range batch {
		m := qe.m
		switch {
		case m.Expired(now):
			rest = append(rest, store.IntentRow{M: m, State: message.Rejected, Reason: "expired", Detail: "expires_at passed before it could be sent"})
			restSettle = append(restSettle, qe.settle)
			continue
		case t.WindowClosed(m.Dest, m.Network, m.Operator, now):
			o.windowClosed(ctx, t, qe, now)
			continue
		}
		f, err := o.prepare(m)
		if err != nil {
			rest = append(rest, store.IntentRow{M: m, State: message.Rejected, Reason: "invalid", Detail: "cannot encode: " + err.Error()})
			restSettle = append(restSettle, qe.settle)
			continue
		}
		items = append(items, intentItem{row: store.IntentRow{M: m, State: message.Sending}, idx: len(jb.msgs), settle: qe.settle})
		jb.msgs = append(jb.msgs, f)
	}
	if len(rest) > 0 {
		o.s.Write(ctx, rest, restSettle)
	}
	if len(items) == 0 {
		return
	}
	jb.w = newWaiter(len(items))
	o.journaled.Add(int64(len(items)))
	for i := range items {
		items[i].w = jb.w
		if !o.s.intents.Submit(ctx, items[i]) {
			// Shutting down before the lane took them: their results never
			// come; account for them and give them back to the queue.
			o.journaled.Add(-int64(len(items) - i))
			for j := i; j < len(items); j++ {
				jb.w.set(j, Lost)
				o.q.pushBack([]queued{{m: items[j].row.M, settle: items[j].settle}})
			}
			break
		}
	}
	out <- jb
}

// complete passes journaled messages to the sender in order.
func (o *operator) complete(in <-chan *journalBatch) {
	for jb := range in {
		<-jb.w.done
		for i, r := range jb.w.res {
			f := jb.msgs[i]
			if r != Written {
				o.journaled.Add(-1)
				continue
			}
			select {
			case o.ready <- f:
			case <-o.stopping:
				o.leftover = append(o.leftover, f)
			}
		}
	}
}

// windowClosed handles a message whose route closed while it waited: an
// open route takes it (this instance's queue when it sends there, else
// parked for it), or it waits parked for the first route to open.
func (o *operator) windowClosed(ctx context.Context, t *policy.Tables, qe queued, now time.Time) {
	m := qe.m
	d, err := t.Route(m.Dest, m.Network, m.ForcedRoute, m.Tried, now, o.s.controls.Usable, rand.Float64())
	row := store.IntentRow{M: m, State: message.Queued, Due: now}
	switch {
	case err != nil:
		// Every other route is tried or closed: wait for this one.
		row.State, row.Due = message.Scheduled, now.Add(time.Minute)
		if _, opens, ok := t.Routes.NextOpen(m.Dest, m.Network, m.Operator, now, nil); ok {
			row.Due = opens
		}
	case !d.OpensAt.IsZero():
		m.Operator = d.Operator
		row.State, row.Due = message.Scheduled, d.OpensAt
	default:
		m.Operator = d.Operator
		if d.Ready {
			if next := o.s.ops[d.Operator]; next != nil && next.takesWork() && next.q.tryPush(qe, now) {
				return
			}
		}
	}
	if m.Parked {
		o.s.repark(ctx, []*message.Message{m}, row.State, row.Due)
		return
	}
	o.s.Write(ctx, []store.IntentRow{row}, []func(){qe.settle})
}

// prepare splits a message into submit_sm PDUs.
func (o *operator) prepare(m *message.Message) (*flight, error) {
	ref := uint16(o.ref.Add(1))
	parts, err := coding.Split(m.Body, m.Encoding, coding.SplitOptions{Concat: o.pol.Concat, GSM7Packed: o.pol.GSM7Packed, Ref: ref})
	if err != nil {
		return nil, err
	}
	f := &flight{m: m, pending: len(parts)}
	if len(parts) == 1 {
		f.parts = f.one[:]
	} else {
		f.parts = make([]partState, len(parts))
	}
	srcTON, srcNPI := senderTON(m.Sender)
	validity := ""
	if !m.ExpiresAt.IsZero() {
		validity = smppAbsoluteTime(m.ExpiresAt)
	}
	dc := m.Encoding.DataCoding()
	for i, p := range parts {
		sm := &f.parts[i].sm
		*sm = pdu.SM{ID: pdu.SubmitSM, SourceTON: srcTON, SourceNPI: srcNPI, Source: m.Sender,
			DestTON: 1, DestNPI: 1, Dest: m.Dest, ValidityPeriod: validity, DataCoding: dc}
		if m.DLR {
			sm.RegisteredDelivery = 1
		}
		if p.UDHI {
			sm.ESMClass |= pdu.ESMUDHI
		}
		switch {
		case o.pol.Concat == coding.Payload:
			sm.TLVs = pdu.TLVs{{Tag: pdu.TagMessagePayload, Value: p.ShortMessage}}
		case o.pol.Concat == coding.SAR && p.Total > 1:
			sm.ShortMessage = p.ShortMessage
			sm.TLVs = pdu.TLVs{{Tag: pdu.TagSARMsgRefNum, Value: pdu.U16(p.Ref)},
				{Tag: pdu.TagSARTotalSegments, Value: pdu.U8(p.Total)}, {Tag: pdu.TagSARSegmentSeqnum, Value: pdu.U8(p.Seq)}}
		default:
			sm.ShortMessage = p.ShortMessage
		}
	}
	return f, nil
}

// send hands ready messages and due retries to the pool until ctx ends.
func (o *operator) send(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if d, ok := o.nextRetry(); ok {
			if d <= 0 {
				o.sendDueRetries(ctx)
				continue
			}
			timer.Reset(d)
		}
		select {
		case <-ctx.Done():
			return
		case f := <-o.ready:
			timer.Stop()
			o.sendFlight(ctx, f)
		case <-o.retryC:
			timer.Stop()
		case <-timer.C:
		}
	}
}

func (o *operator) sendFlight(ctx context.Context, f *flight) {
	defer o.journaled.Add(-1)
	for idx := range f.parts {
		if err := o.submit(ctx, f, idx); err != nil {
			if idx == 0 {
				// Nothing reached the pool: it goes back to the parked set.
				o.s.repark(context.WithoutCancel(ctx), []*message.Message{f.m}, message.Queued, time.Time{})
				o.s.unsettled.done(f.m.Batch)
				return
			}
			// Cut after some parts (shutdown): the rest may never go; the
			// message is unknown, never sent again blindly.
			for j := idx; j < len(f.parts); j++ {
				o.results.push(partResult{f: f, idx: j, res: smpp.Result{Outcome: smpp.Unknown, Err: err}, at: time.Now()})
			}
			return
		}
	}
}

// submit hands one part to the pool, which waits for a TPS token and a
// window slot; the result comes to the collector without blocking the
// bind's reader.
func (o *operator) submit(ctx context.Context, f *flight, idx int) error {
	o.inflight.Add(1)
	p := &f.parts[idx]
	p.submittedAt = time.Now()
	err := o.pool.Submit(ctx, &p.sm, func(r smpp.Result) {
		o.results.push(partResult{f: f, idx: idx, res: r, at: time.Now()})
	})
	if err != nil {
		o.inflight.Add(-1)
		return err
	}
	f.sent = true
	return nil
}

// results is the hand-off from binds' readers to the collector: an append
// under a mutex and a non-blocking wake; it holds at most a window's worth
// per bind plus the parts queued to send.
type results struct {
	mu   sync.Mutex
	buf  []partResult
	wake chan struct{}
}

func (r *results) push(x partResult) {
	r.mu.Lock()
	r.buf = append(r.buf, x)
	r.mu.Unlock()
	signal(r.wake)
}

func (r *results) swap(dst []partResult) []partResult {
	r.mu.Lock()
	out := r.buf
	r.buf = dst[:0]
	r.mu.Unlock()
	return out
}

// collect turns part results into outcomes until ctx ends (after the pool
// closed, so every submitted part has its result), then drains.
func (o *operator) collect(ctx context.Context) {
	var spare []partResult
	for {
		select {
		case <-ctx.Done():
			batch := o.results.swap(spare)
			for i := range batch {
				o.handle(context.Background(), &batch[i])
			}
			o.dropRetries()
			return
		case <-o.results.wake:
		}
		batch := o.results.swap(spare)
		for i := range batch {
			o.handle(ctx, &batch[i])
		}
		clear(batch)
		spare = batch
		signal(o.q.work)
	}
}

func (o *operator) handle(ctx context.Context, r *partResult) {
	o.inflight.Add(-1)
	f, p := r.f, &r.f.parts[r.idx]
	res := r.res
	m := o.s.m
	switch res.Outcome {
	case smpp.NotSent:
		// Never on the wire: safe to send again, not an attempt.
		o.scheduleRetry(f, r.idx, 50*time.Millisecond)
		return
	case smpp.Unknown:
		m.parts.WithLabelValues(o.pol.Name, "unknown").Inc()
		if o.pol.RetryUnknown {
			p.tempFails++
			o.scheduleRetry(f, r.idx, time.Second)
			return
		}
		p.state = message.Unknown
	default:
		st := res.Status
		p.status, p.respAt, p.bind, p.seq = st, r.at, res.Bind, res.Seq
		switch {
		case st == pdu.StatusOK && !res.Nack:
			p.state = message.Submitted
			p.smscID = []byte(res.MessageID)
			if res.MessageID != "" {
				p.key = correlate.StoredKey(dlr.CanonicalSubmitID(res.MessageID))
			}
			m.parts.WithLabelValues(o.pol.Name, "ok").Inc()
		case !res.Nack && o.pol.Temporary(st):
			m.parts.WithLabelValues(o.pol.Name, "temporary").Inc()
			p.tempFails++
			f.tempFails++
			if f.tempFails >= o.pol.FailoverAfter && !f.anyAccepted() && o.s.nextRoute(f.m) != "" {
				f.failover = true
				p.state = message.Failover
				break
			}
			o.scheduleRetry(f, r.idx, retryBackoff(p.tempFails))
			return
		default:
			m.parts.WithLabelValues(o.pol.Name, "rejected").Inc()
			p.state = message.Rejected
			if f.permanent == 0 {
				f.permanent = st
			}
			if !policy.AddressError(st) && !f.anyAccepted() && o.s.nextRoute(f.m) != "" {
				f.failover = true
			}
		}
	}
	p.done = true
	f.pending--
	if f.m.DLR && (p.state == message.Submitted || p.state == message.Unknown) {
		// Without registered_delivery no receipt is expected; one that
		// comes anyway is matched in Postgres.
		o.track(f, r.idx)
	}
	if f.pending > 0 {
		return
	}
	o.s.outcomes.Submit(ctx, o.finish(f))
}

// track puts an accepted part into the correlation index at once, so a
// receipt that overtakes the outcome write is matched in memory.
func (o *operator) track(f *flight, idx int) {
	if f.track == nil {
		m := f.m
		f.track = &correlate.Msg{ID: m.ID, Gen: m.Gen, Attempt: max(m.Attempt, 1), Account: m.Account, Dest: m.Dest,
			Network: m.Network, Operator: o.pol.Name, ForcedRoute: m.ForcedRoute, Tried: m.Tried, DLR: m.DLR,
			Rerouted: m.Rerouted, Meta: m.Meta, Created: m.CreatedAt}
		f.track.Parts = make([]*correlate.Part, len(f.parts))
		for i := range f.parts {
			f.track.Parts[i] = &correlate.Part{Msg: f.track, Part: int16(i + 1), State: message.Sending}
		}
	}
	p := &f.parts[idx]
	cp := f.track.Parts[idx]
	f.track.Lock()
	cp.SMSCID, cp.Key, cp.SubmittedAt, cp.State = p.smscID, p.key, p.submittedAt, p.state
	f.track.Unlock()
	o.s.index.Add(cp, time.Now())
}

func (f *flight) anyAccepted() bool {
	for i := range f.parts {
		if f.parts[i].done && (f.parts[i].state == message.Submitted || f.parts[i].state == message.Unknown) {
			return true
		}
	}
	return false
}

// finish decides a message's outcome once every part is resolved.
func (o *operator) finish(f *flight) *outcome {
	oc := &outcome{f: f, op: o}
	accepted, unknown := 0, 0
	for i := range f.parts {
		switch f.parts[i].state {
		case message.Submitted:
			accepted++
		case message.Unknown:
			unknown++
		}
	}
	switch {
	case f.failover && accepted == 0 && unknown == 0:
		oc.state = message.Failover
		for i := range f.parts {
			if f.parts[i].state != message.Rejected {
				f.parts[i].state = message.Failover
			}
		}
	case f.permanent != 0:
		oc.state = message.Rejected
	case unknown > 0:
		oc.state = message.Unknown
	default:
		oc.state = message.Submitted
	}
	return oc
}

// retries

type retryItem struct {
	f   *flight
	idx int
	due time.Time
}

type retryHeap []retryItem

func (h retryHeap) Len() int           { return len(h) }
func (h retryHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h retryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *retryHeap) Push(x any)        { *h = append(*h, x.(retryItem)) }
func (h *retryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (o *operator) scheduleRetry(f *flight, idx int, after time.Duration) {
	o.retryMu.Lock()
	heap.Push(&o.retries, retryItem{f: f, idx: idx, due: time.Now().Add(after)})
	o.retryMu.Unlock()
	signal(o.retryC)
}

func (o *operator) nextRetry() (time.Duration, bool) {
	o.retryMu.Lock()
	defer o.retryMu.Unlock()
	if len(o.retries) == 0 {
		return 0, false
	}
	return time.Until(o.retries[0].due), true
}

func (o *operator) sendDueRetries(ctx context.Context) {
	now := time.Now()
	for {
		o.retryMu.Lock()
		if len(o.retries) == 0 || o.retries[0].due.After(now) {
			o.retryMu.Unlock()
			return
		}
		it := heap.Pop(&o.retries).(retryItem)
		o.retryMu.Unlock()
		if err := o.submit(ctx, it.f, it.idx); err != nil {
			o.retryMu.Lock()
			heap.Push(&o.retries, it)
			o.retryMu.Unlock()
			return
		}
	}
}

// dropRetries runs at shutdown: parts waiting for a retry never go; a
// message none of whose parts reached the SMSC goes back to the parked
// set, one partly sent is unknown.
func (o *operator) dropRetries() {
	o.retryMu.Lock()
	items := o.retries
	o.retries = nil
	o.retryMu.Unlock()
	seen := map[*flight]bool{}
	for _, it := range items {
		f := it.f
		if seen[f] {
			continue
		}
		seen[f] = true
		if !f.anyAccepted() {
			o.s.repark(context.Background(), []*message.Message{f.m}, message.Queued, time.Time{})
			o.s.unsettled.done(f.m.Batch)
			continue
		}
		for i := range f.parts {
			if !f.parts[i].done {
				f.parts[i].state, f.parts[i].done = message.Unknown, true
				f.pending--
			}
		}
		if f.pending <= 0 {
			o.s.outcomes.Submit(context.Background(), o.finish(f))
		}
	}
}

// parkQueue gives the queue's messages to the parked set (the operator
// stopped taking work here).
func (o *operator) parkQueue(ctx context.Context, why string) {
	qs := o.q.takeAll()
	if len(qs) == 0 {
		return
	}
	o.s.log.Info("parking an operator's queue", zap.String("operator", o.pol.Name), zap.Int("messages", len(qs)), zap.String("why", why))
	var rows []store.IntentRow
	var settle []func()
	var leased []*message.Message
	now := time.Now()
	for _, qe := range qs {
		if qe.m.Parked {
			leased = append(leased, qe.m)
			continue
		}
		rows = append(rows, store.IntentRow{M: qe.m, State: message.Queued, Due: now})
		settle = append(settle, qe.settle)
	}
	o.s.repark(ctx, leased, message.Queued, time.Time{})
	if len(rows) > 0 {
		o.s.Write(ctx, rows, settle)
	}
}

// parkBack runs at shutdown after the sender stopped: journaled messages
// it did not send, and the queue, go back to the parked set, so a restart
// sends them instead of reporting them unknown.
func (o *operator) parkBack() {
	var unsent []*message.Message
	for _, f := range o.leftover {
		unsent = append(unsent, f.m)
		o.journaled.Add(-1)
		o.s.unsettled.done(f.m.Batch)
	}
	o.leftover = nil
	for {
		select {
		case f := <-o.ready:
			unsent = append(unsent, f.m)
			o.journaled.Add(-1)
			o.s.unsettled.done(f.m.Batch)
			continue
		default:
		}
		break
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o.s.repark(ctx, unsent, message.Queued, time.Time{})
	o.parkQueue(ctx, "shutting down")
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
