package gateway

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/numbering"
	"github.com/smsgate/smsgate/router"
	"github.com/smsgate/smsgate/smpp/coding"
)

// ingestBatch is what one poll of sms.submit turns into before it is made
// durable: rows to insert, events to publish and DLQ records to produce.
type ingestBatch struct {
	records []kafka.Message
	msgs    []store.Message
	events  []store.OutboxRow
	dlq     []kafka.Message
	// marketing checks run against Postgres for the whole batch at once
	marketing []int // indexes into msgs
}

// dlqRecord is the JSON of an sms.dlq record (contract §1.4).
type dlqRecord struct {
	Reason      string    `json:"reason"`
	Topic       string    `json:"topic"`
	Partition   int       `json:"partition"`
	Offset      int64     `json:"offset"`
	Key         string    `json:"key"`
	Value       *string   `json:"value,omitempty"`
	ValueBase64 *string   `json:"value_base64,omitempty"`
	Truncated   bool      `json:"truncated"`
	At          time.Time `json:"at"`
}

const dlqValueLimit = 64 << 10

func newDLQMessage(rec kafka.Message, reason string, now time.Time) kafka.Message {
	v := rec.Value
	truncated := false
	if len(v) > dlqValueLimit {
		v = v[:dlqValueLimit]
		truncated = true
	}
	d := dlqRecord{Reason: reason, Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset,
		Key: string(rec.Key), Truncated: truncated, At: now.UTC()}
	if utf8.Valid(v) {
		s := string(v)
		d.Value = &s
	} else {
		s := base64.StdEncoding.EncodeToString(v)
		d.ValueBase64 = &s
	}
	b, _ := jsonMarshal(d)
	return kafka.Message{Key: rec.Key, Value: b}
}

// prepare validates every record of a batch and sorts it into rows,
// rejections and DLQ records. It does no I/O: Postgres-backed checks
// (opt-out, frequency cap) run in commit.
func (g *Gateway) prepare(recs []kafka.Message, now time.Time) *ingestBatch {
	t := g.tables.Load()
	b := &ingestBatch{records: recs}
	if g.nets != nil && g.nets.lookup != nil {
		g.nets.prefetch(batchDests(t, recs))
	}
	for i := range recs {
		rec := &recs[i]
		m, id, err := g.validate(t, rec, now)
		if err != nil {
			var inv *invalidError
			detail := err.Error()
			if !errors.As(err, &inv) {
				detail = "internal: " + detail
			}
			b.dlq = append(b.dlq, newDLQMessage(*rec, detail, now))
			if id != "" {
				ev := statusEvent{ID: id, Account: accountOf(rec.Value), Status: "rejected", Reason: "invalid", Detail: detail, At: now}
				b.events = append(b.events, store.OutboxRow{Topic: store.TopicStatus, Key: id, Payload: ev.appendJSON(nil)})
			}
			g.metrics.ingested.WithLabelValues("invalid").Inc()
			g.log.Debug("invalid record to the DLQ", zap.String("id", id), zap.Int("partition", rec.Partition),
				zap.Int64("offset", rec.Offset), zap.String("reason", detail))
			continue
		}
		b.msgs = append(b.msgs, *m)
		if m.Kind == 1 && m.State != store.Rejected {
			b.marketing = append(b.marketing, len(b.msgs)-1)
		}
	}
	return b
}

// accountOf reads "account" from a record for the rejected event of an
// invalid record, best effort.
func accountOf(value []byte) string {
	var v struct {
		Account string `json:"account"`
	}
	_ = jsonUnmarshal(value, &v)
	return v.Account
}

// validate turns one record into a message row. Rules of the contract that
// make a valid record end `rejected` (no route, expired) produce a row in
// state Rejected; malformed records produce an *invalidError.
func (g *Gateway) validate(t *tables, rec *kafka.Message, now time.Time) (*store.Message, string, error) {
	sr, id, err := decodeSubmit(rec.Value, t.maxBytes)
	if err != nil {
		return nil, id, err
	}
	acct, ok := t.accounts[sr.Account]
	if !ok {
		return nil, id, invalid("unknown account %q", sr.Account)
	}
	country := acct.country
	if country == "" {
		country = t.defaultCountry
	}
	dest, err := router.NormalizeMSISDN(sr.To, country)
	if err == nil && g.nets != nil {
		err = numbering.Validate(dest) // impossible numbers, with the reason
	}
	if err != nil {
		return nil, id, invalid("bad destination %q: %v", sr.To, err)
	}
	network := g.nets.network(dest)
	if err := checkSender(sr.From); err != nil {
		return nil, id, err
	}
	sender := sr.From
	if len(sender) > 1 && sender[0] == '+' && isDigits(sender[1:]) {
		sender = sender[1:] // numeric senders travel as digits with TON international
	}
	text, err := fillPlaceholders(*sr.Text, sr.Params)
	if err != nil {
		return nil, id, err
	}
	if text == "" {
		return nil, id, invalid("text is empty")
	}
	reqEnc, _, err := coding.ParseEncoding(sr.Encoding)
	if err != nil {
		return nil, id, invalid("%v", err)
	}
	enc, err := coding.Choose(text, reqEnc)
	if err != nil {
		return nil, id, invalid("%v", err)
	}
	parts := coding.CountParts(text, enc, coding.UDH8)
	if parts > t.maxParts {
		return nil, id, invalid("text needs %d parts, limits.max_parts is %d", parts, t.maxParts)
	}
	m := &store.Message{
		ID: sr.ID, Account: sr.Account, Sender: sender, Dest: dest, Body: text, Encoding: int16(enc),
		DLR: sr.DLR == nil || *sr.DLR, SendAt: now, ExpiresAt: sr.ExpiresAt, ForcedRoute: sr.Route,
		Parts: int16(parts), State: store.Queued, SrcPartition: int32(rec.Partition), SrcOffset: rec.Offset,
	}
	if len(sr.Meta) > 0 && string(sr.Meta) != "null" {
		m.Meta = sr.Meta
	}
	if sr.Kind == "marketing" {
		m.Kind = 1
	}
	if sr.Priority != nil {
		m.Priority = int16(*sr.Priority)
	}
	if sr.SendAt != nil && sr.SendAt.After(now) {
		m.SendAt = *sr.SendAt
		m.State = store.Scheduled
	}
	if sr.ExpiresAt != nil && !sr.ExpiresAt.After(now) {
		m.State, m.ErrorReason, m.ErrorDetail = store.Rejected, "expired", "expires_at "+sr.ExpiresAt.UTC().Format(time.RFC3339)+" has passed"
		return m, id, nil
	}
	if sr.Route != "" {
		if _, ok := g.operators[sr.Route]; !ok {
			return nil, id, invalid("route names unknown operator %q", sr.Route)
		}
	}
	m.Network = network
	c, err := t.routes.Choose(dest, network, sr.Route, now, g.usableForNew, nil, g.rand())
	if err != nil {
		// Nothing usable right now: a route that exists but is down or
		// drained still takes the message; it waits in the queue.
		c, err = t.routes.Choose(dest, network, sr.Route, now, func(string) bool { return true }, nil, g.rand())
	}
	m.Operator = c.Route.Operator
	if err != nil {
		// Every route is outside its time window: wait for the first to open.
		if op, ok := g.waitForWindow(t, m, sr.Route, now); ok {
			m.Operator, err = op, nil
		}
	}
	if err != nil {
		m.State, m.ErrorReason, m.ErrorDetail = store.Rejected, "no_route", "no route for "+dest
		return m, id, nil
	}
	if m.State != store.Rejected {
		g.protect.check(m, now)
	}
	if m.Kind == 1 && m.State != store.Rejected && m.State != store.Held {
		if until := t.quiet.deferUntil(now.In(destLocation(dest, acct.loc))); !until.IsZero() && until.After(m.SendAt) {
			m.SendAt = until
			m.State = store.Scheduled
		}
	}
	return m, id, nil
}

// checkSender accepts an alphanumeric sender of at most 11 characters or a
// number of at most 20 digits (with an optional +).
func checkSender(from string) error {
	digits := true
	s := from
	if len(s) > 0 && s[0] == '+' {
		s = s[1:]
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			digits = false
			break
		}
	}
	if digits && s != "" {
		if len(s) > 20 {
			return invalid("from %q: a numeric sender has at most 20 digits", from)
		}
		return nil
	}
	if n := utf8.RuneCountInString(from); n > 11 {
		return invalid("from %q: an alphanumeric sender has at most 11 characters, not %d", from, n)
	}
	if enc, err := coding.Choose(from, coding.GSM7); err != nil || enc != coding.GSM7 {
		return invalid("from %q: an alphanumeric sender must be GSM 03.38 characters", from)
	}
	return nil
}

// commitBatch makes a prepared batch durable: the marketing checks, the
// inserts with dedupe, and the events, in one transaction.
func (g *Gateway) commitBatch(ctx context.Context, b *ingestBatch, now time.Time) error {
	t := g.tables.Load()
	return pgx.BeginFunc(ctx, g.store.Pool, func(tx pgx.Tx) error {
		if err := g.applyMarketing(ctx, tx, t, b, now); err != nil {
			return err
		}
		if len(b.msgs) > 0 {
			inserted, err := store.InsertMessages(ctx, tx, b.msgs)
			if err != nil {
				return err
			}
			if err := g.handleDuplicates(ctx, tx, b, inserted, now); err != nil {
				return err
			}
			for i := range b.msgs {
				m := &b.msgs[i]
				if _, ok := inserted[m.ID]; !ok {
					continue
				}
				if m.State == store.Rejected {
					ev := statusEvent{ID: m.ID, Account: m.Account, Status: "rejected", Network: m.Network, Reason: m.ErrorReason,
						Detail: m.ErrorDetail, Parts: int(m.Parts), At: now, Meta: m.Meta}
					b.events = append(b.events, store.OutboxRow{Topic: store.TopicStatus, Key: m.ID, Payload: ev.appendJSON(nil)})
					g.metrics.ingested.WithLabelValues("rejected").Inc()
				} else if m.State == store.Held {
					ev := statusEvent{ID: m.ID, Account: m.Account, Status: "held", Operator: m.Operator, Network: m.Network, Reason: m.ErrorReason,
						Detail: m.ErrorDetail, Parts: int(m.Parts), At: now, Meta: m.Meta}
					b.events = append(b.events, store.OutboxRow{Topic: store.TopicStatus, Key: m.ID, Payload: ev.appendJSON(nil)})
					g.metrics.ingested.WithLabelValues("held").Inc()
				} else {
					g.metrics.ingested.WithLabelValues("accepted").Inc()
				}
			}
		}
		return store.InsertOutbox(ctx, tx, b.events)
	})
}

// handleDuplicates sorts ids that were already stored: the same Kafka
// record read again produces nothing; a record produced again repeats the
// original's current status with "duplicate": true (deferred until the
// original has a status, when it has none yet).
func (g *Gateway) handleDuplicates(ctx context.Context, tx pgx.Tx, b *ingestBatch, inserted map[string]struct{}, now time.Time) error {
	var dupIDs []string
	seenInBatch := map[string]int{}
	for i := range b.msgs {
		m := &b.msgs[i]
		if _, ok := inserted[m.ID]; ok {
			if _, first := seenInBatch[m.ID]; !first {
				seenInBatch[m.ID] = i
				continue
			}
		}
		dupIDs = append(dupIDs, m.ID)
	}
	if len(dupIDs) == 0 {
		return nil
	}
	existing, err := store.LookupExisting(ctx, tx, dupIDs)
	if err != nil {
		return err
	}
	pending := map[string]int{}
	var repeat []string
	for i := range b.msgs {
		m := &b.msgs[i]
		if j, ok := seenInBatch[m.ID]; ok && j == i {
			continue // the original itself
		}
		e, ok := existing[m.ID]
		if !ok {
			continue
		}
		if e.SrcPartition == m.SrcPartition && e.SrcOffset == m.SrcOffset {
			g.metrics.ingested.WithLabelValues("replayed").Inc()
			continue
		}
		g.metrics.ingested.WithLabelValues("duplicate").Inc()
		switch e.State {
		case store.Queued, store.Scheduled, store.Sending:
			pending[m.ID]++
		default:
			repeat = append(repeat, m.ID)
		}
	}
	if err := store.AddPendingDuplicates(ctx, tx, pending); err != nil {
		return err
	}
	if len(repeat) == 0 {
		return nil
	}
	views, err := store.LoadStatus(ctx, tx, repeat)
	if err != nil {
		return err
	}
	for _, id := range repeat {
		v, ok := views[id]
		if !ok {
			continue
		}
		ev := g.eventFromView(v, now)
		ev.Duplicate = true
		b.events = append(b.events, store.OutboxRow{Topic: store.TopicStatus, Key: id, Payload: ev.appendJSON(nil)})
	}
	return nil
}

// ingestLoop reads sms.submit in batches until ctx ends. Offsets are
// committed only after the batch is durable (invariant 1); an error before
// that leaves them uncommitted and the batch is processed again (dedupe
// makes that harmless).
//
// A broker outage is not fatal: the consumer is closed and built again
// with back-off, so the process keeps its binds and its receipts while
// Kafka is away and resumes from the committed offsets when it returns.
func (g *Gateway) ingestLoop(ctx context.Context) error {
	backoff := ingestReconnectMin
	for ctx.Err() == nil {
		start := time.Now()
		err := g.consume(ctx)
		if err == nil || ctx.Err() != nil {
			return nil
		}
		if time.Since(start) > 2*ingestReconnectMax {
			backoff = ingestReconnectMin // it worked for a while: not a flapping broker
		}
		g.metrics.consumerRestarts.Inc()
		g.log.Warn("kafka consumer restarting", zap.Error(err), zap.Duration("retry_in", backoff))
		if !sleepCtx(ctx, backoff) {
			return nil
		}
		backoff = min(backoff*2, ingestReconnectMax)
	}
	return nil
}

const (
	ingestReconnectMin = 500 * time.Millisecond
	ingestReconnectMax = 10 * time.Second
	// ingestStallAfter: a consumer that logged errors, has fetched nothing
	// for this long, and whose group has records waiting is rebuilt. Errors
	// are required so an idle member of a busy group is left alone.
	ingestStallAfter = 30 * time.Second
	// commitAttempts before the consumer is rebuilt: a commit that keeps
	// failing means the group generation is gone. The records are read
	// again and recognised as replays.
	commitAttempts = 5
)

var errIngestStalled = errors.New("kafka consumer made no progress while records were waiting")

// readerCloseTimeout bounds kafka-go's Reader.Close, which leaves the
// consumer group and can wait on a JoinGroup in a rebalance for good (two
// instances stopping at once); shutdown and a consumer rebuild must not.
// Nothing is lost by not waiting: offsets are committed per batch.
const readerCloseTimeout = 5 * time.Second

func (g *Gateway) closeReader(r *kafka.Reader) {
	done := make(chan struct{})
	go func() { // ends when Close returns; may outlive consume when Close hangs
		_ = r.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(readerCloseTimeout):
		g.log.Warn("kafka consumer did not close within the timeout; going on without it", zap.Duration("timeout", readerCloseTimeout))
	}
}

// consume runs one kafka-go consumer until ctx ends (nil) or it fails.
func (g *Gateway) consume(ctx context.Context) error {
	var kafkaErrors atomic.Int64
	errLog := kafkaLogger(g.log, true)
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:  g.opts.Brokers,
		GroupID:  g.opts.Group,
		Topic:    g.opts.Topics.Submit,
		MinBytes: 1,
		MaxBytes: 4 << 20,
		// MaxWait is also kafka-go's read deadline for the fetch response: it
		// must cover the broker assembling a full fetch, not only the long
		// poll (MinBytes 1 returns as soon as a record exists).
		MaxWait:           500 * time.Millisecond,
		StartOffset:       kafka.FirstOffset,
		SessionTimeout:    g.opts.SessionTimeout,
		RebalanceTimeout:  g.opts.SessionTimeout,
		HeartbeatInterval: g.opts.SessionTimeout / 5,
		CommitInterval:    0,
		QueueCapacity:     g.opts.IngestBatch,
		ReadBackoffMin:    10 * time.Millisecond,
		ReadBackoffMax:    500 * time.Millisecond,
		Logger:            kafkaLogger(g.log, false),
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			kafkaErrors.Add(1)
			errLog(msg, args...)
		}),
	})
	defer g.closeReader(r)

	recs := make(chan kafka.Message, g.opts.IngestBatch)
	fetchErr := make(chan error, 1)
	fetchCtx, stopFetch := context.WithCancel(ctx)
	defer stopFetch()
	go func() { // owned by consume: stops with fetchCtx
		defer close(recs)
		for {
			m, err := r.FetchMessage(fetchCtx)
			if err != nil {
				if fetchCtx.Err() == nil {
					fetchErr <- err
				}
				return
			}
			select {
			case recs <- m:
			case <-fetchCtx.Done():
				return
			}
		}
	}()

	batch := make([]kafka.Message, 0, g.opts.IngestBatch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	watch := time.NewTicker(ingestStallAfter / 6)
	defer watch.Stop()
	lastFetch := time.Now()
	errorsAtFetch := kafkaErrors.Load()
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return nil
		case err := <-fetchErr:
			return fmt.Errorf("kafka fetch: %w", err)
		case <-watch.C:
			if time.Since(lastFetch) > ingestStallAfter && kafkaErrors.Load() > errorsAtFetch && g.submitLag.Load() > 0 {
				return errIngestStalled
			}
			continue
		case m, ok := <-recs:
			if !ok {
				return nil
			}
			batch = append(batch, m)
		}
		timer.Reset(g.opts.IngestLinger)
	fill:
		for len(batch) < cap(batch) {
			select {
			case m, ok := <-recs:
				if !ok {
					break fill
				}
				batch = append(batch, m)
			case <-timer.C:
				break fill
			}
		}
		timer.Stop()
		lastFetch, errorsAtFetch = time.Now(), kafkaErrors.Load()
		if err := g.processIngest(ctx, r, batch); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// processIngest makes one batch durable, with retries on Postgres/Kafka
// errors (bounded back-off, forever: stopping here is what keeps offsets
// uncommitted), then commits the offsets.
func (g *Gateway) processIngest(ctx context.Context, r *kafka.Reader, batch []kafka.Message) error {
	start := time.Now()
	b := g.prepare(batch, start)
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := g.commitBatch(ctx, b, start)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		g.log.Warn("ingest batch not durable yet; retrying", zap.Int("records", len(batch)), zap.Int("attempt", attempt), zap.Error(err))
		g.metrics.ingestRetries.Inc()
		if !sleepCtx(ctx, backoff) {
			return ctx.Err()
		}
		backoff = min(backoff*2, 5*time.Second)
		b = g.prepare(batch, time.Now()) // rebuild: the failed transaction left nothing
	}
	for attempt := 1; len(b.dlq) > 0; attempt++ {
		err := g.produce(ctx, g.dlqWriter, b.dlq)
		if err == nil {
			g.metrics.dlq.Add(float64(len(b.dlq)))
			break
		}
		g.log.Warn("dlq produce failed; retrying", zap.Int("records", len(b.dlq)), zap.Int("attempt", attempt), zap.Error(err))
		if !sleepCtx(ctx, backoff) {
			return ctx.Err()
		}
		backoff = min(backoff*2, 5*time.Second)
	}
	g.metrics.dbBatch.WithLabelValues("ingest").Observe(time.Since(start).Seconds())
	g.notifyDispatchers()
	g.publisher.kick()
	for attempt := 1; ; attempt++ {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err := r.CommitMessages(cctx, batch...)
		cancel()
		if err == nil {
			return nil
		}
		// Not committing is safe (records re-read are recognised as
		// replays); one that keeps failing means the group generation is
		// gone, and a new consumer rejoins.
		if attempt >= commitAttempts {
			return fmt.Errorf("kafka offset commit: %w", err)
		}
		g.log.Warn("kafka offset commit failed; retrying", zap.Int("attempt", attempt), zap.Error(err))
		if !sleepCtx(ctx, time.Second) {
			return nil
		}
	}
}

// produce writes msgs synchronously (RequiredAcks all) with a deadline.
func (g *Gateway) produce(ctx context.Context, w *kafka.Writer, msgs []kafka.Message) error {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := w.WriteMessages(cctx, msgs...); err != nil {
		return fmt.Errorf("produce to %s: %w", w.Topic, err)
	}
	return nil
}

// sleepCtx sleeps for d unless ctx ends first; it reports whether it slept.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
