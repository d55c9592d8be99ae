package ingest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/internal/message"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/router"
)

// process handles one poll: every record ends settled or handed on with
// its settle callback. It returns once every record is placed (DLQ
// records produced, parks and rejections handed to the journal, the rest
// queued), so a slow operator's queue waits here at most QueueWait per
// record before its records are parked.
func (s *Stage) process(ctx context.Context, tr *tracker, recs []*kgo.Record) {
	now := time.Now()
	t := s.tables()
	type item struct {
		rec   *kgo.Record
		e     *entry
		sr    *submitRecord
		id    string
		err   error
		dest  string
		valid bool
	}
	items := make([]item, len(recs))
	var dests []string
	for i, r := range recs {
		it := &items[i]
		it.rec, it.e = r, tr.add(r.Partition, r.Offset)
		it.sr, it.id, it.err = decodeSubmitFast(r.Value, t.MaxBytes)
		if it.err == nil && s.nets != nil {
			if d, err := router.NormalizeMSISDN(it.sr.To, t.CountryOf(it.sr.Account)); err == nil {
				dests = append(dests, d)
			}
		}
	}
	if s.nets != nil && len(dests) > 0 {
		s.nets.Prefetch(dests) // one wait of at most lookup_timeout for the batch
	}
	var dlq []*kgo.Record
	var dlqSettle []*entry
	var rows []store.IntentRow
	var rowSettle []func()
	for i := range items {
		it := &items[i]
		var d decision
		if it.err == nil {
			d, it.err = s.decide(t, it.sr, rand.Float64(), now)
		}
		if it.err != nil {
			var inv *invalidError
			detail := it.err.Error()
			if !errors.As(it.err, &inv) {
				detail = "internal: " + detail
			}
			dlq = append(dlq, s.dlqRecord(it.rec, detail, now))
			if it.id != "" {
				ev := message.Event{ID: it.id, Account: accountOf(it.rec.Value), Status: "rejected", Reason: "invalid", Detail: detail, At: now}
				dlq = append(dlq, &kgo.Record{Topic: s.o.StatusTopic, Key: []byte(it.id), Value: ev.AppendJSON(nil)})
			}
			dlqSettle = append(dlqSettle, it.e)
			s.m.records.WithLabelValues("invalid").Inc()
			s.m.dlqReasons.WithLabelValues(dlqKind(detail)).Inc()
			if it.id != "" {
				s.m.rejected.WithLabelValues("invalid").Inc()
			}
			s.log.Debug("invalid record to the DLQ", zap.String("id", message.Sanitize(it.id)), zap.Int32("partition", it.rec.Partition),
				zap.Int64("offset", it.rec.Offset), zap.String("reason", detail))
			continue
		}
		m := d.m
		m.Partition, m.Offset = it.rec.Partition, it.rec.Offset
		if d.state == message.Sending {
			if s.queues.Offer(ctx, m, it.e.settle, s.o.QueueWait) {
				s.m.records.WithLabelValues("queued").Inc()
				continue
			}
			d.state, d.due = message.Queued, now // the queue is full or the operator is not bound here
		}
		rows = append(rows, store.IntentRow{M: m, State: d.state, Due: d.due, Reason: d.reason, Detail: d.detail, HoldRange: d.holdRange})
		rowSettle = append(rowSettle, it.e.settle)
		s.m.records.WithLabelValues(d.state.String()).Inc()
		if d.state == message.Rejected {
			s.m.rejected.WithLabelValues(d.reason).Inc()
		}
	}
	if len(rows) > 0 {
		s.journal.Write(ctx, rows, rowSettle)
	}
	if len(dlq) > 0 {
		s.produceDLQ(ctx, dlq, dlqSettle)
	}
}

// produceDLQ produces DLQ records and rejected events, retrying until they
// are acknowledged (or ctx ends: the records stay unsettled and are read
// again), then settles the records.
func (s *Stage) produceDLQ(ctx context.Context, recs []*kgo.Record, settle []*entry) {
	backoff := 100 * time.Millisecond
	for attempt := 1; ctx.Err() == nil; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := s.producer.ProduceSync(pctx, recs...).FirstErr()
		cancel()
		if err == nil {
			for _, e := range settle {
				e.settle()
			}
			n := 0
			for _, r := range recs {
				if r.Topic == s.o.DLQTopic {
					n++
				}
			}
			s.m.dlq.Add(float64(n))
			return
		}
		s.log.Warn("dlq produce failed; retrying", zap.Int("records", len(recs)), zap.Int("attempt", attempt), zap.Error(err))
		if !sleepCtx(ctx, backoff) {
			return
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// dlqRecord is an sms.dlq record (contract §1.4).
type dlqRecord struct {
	Reason      string    `json:"reason"`
	Topic       string    `json:"topic"`
	Partition   int32     `json:"partition"`
	Offset      int64     `json:"offset"`
	Key         string    `json:"key"`
	Value       *string   `json:"value,omitempty"`
	ValueBase64 *string   `json:"value_base64,omitempty"`
	Truncated   bool      `json:"truncated"`
	At          time.Time `json:"at"`
}

const dlqValueLimit = 64 << 10

func (s *Stage) dlqRecord(rec *kgo.Record, reason string, now time.Time) *kgo.Record {
	v := rec.Value
	truncated := false
	if len(v) > dlqValueLimit {
		v = v[:dlqValueLimit]
		truncated = true
	}
	d := dlqRecord{Reason: reason, Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset,
		Key: message.SanitizeBytes(rec.Key), Truncated: truncated, At: now.UTC()}
	if utf8.Valid(v) {
		str := string(v)
		d.Value = &str
	} else {
		str := base64.StdEncoding.EncodeToString(v)
		d.ValueBase64 = &str
	}
	b, _ := json.Marshal(d) // cannot fail: plain fields
	return &kgo.Record{Topic: s.o.DLQTopic, Key: rec.Key, Value: b}
}

// accountOf reads "account" from a record for the rejected event of an
// invalid record, best effort.
func accountOf(value []byte) string {
	var v struct {
		Account string `json:"account"`
	}
	_ = json.Unmarshal(value, &v)
	return v.Account
}
