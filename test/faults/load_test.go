package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// eventLog reads sms.status and sms.dlq from the first offset of every
// partition (no consumer group, so nothing it does is stored in the broker)
// until the test ends. Readers retry through broker restarts.
type eventLog struct {
	mu     sync.Mutex
	status map[string][]map[string]any
	dlq    map[string]int // by record key
	mo     map[string]int // "from|text" of each sms.mo record
	nMO    int
	bad    []string // events that were not JSON or keyed wrongly
}

func newEventLog(t *testing.T, broker string) *eventLog {
	l := &eventLog{status: map[string][]map[string]any{}, dlq: map[string]int{}, mo: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, topic := range []string{"sms.status", "sms.dlq", "sms.mo"} {
		for p := 0; p < topics[topic]; p++ {
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{broker}, Topic: topic, Partition: p,
				MinBytes: 1, MaxBytes: 8 << 20, MaxWait: 100 * time.Millisecond, ReadBackoffMax: 500 * time.Millisecond})
			if err := r.SetOffset(kafka.FirstOffset); err != nil {
				t.Fatalf("reader %s/%d: %v", topic, p, err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer r.Close()
				for {
					m, err := r.ReadMessage(ctx)
					if ctx.Err() != nil {
						return
					}
					if err != nil {
						// The broker is being restarted: keep the offset and retry.
						sleepCtx(ctx, 200*time.Millisecond)
						continue
					}
					l.add(topic, m)
				}
			}()
		}
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	return l
}

func (l *eventLog) add(topic string, m kafka.Message) {
	var v map[string]any
	err := json.Unmarshal(m.Value, &v)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.bad = append(l.bad, fmt.Sprintf("%s: not JSON: %.80q", topic, m.Value))
		return
	}
	if topic == "sms.dlq" {
		l.dlq[string(m.Key)]++
		return
	}
	if topic == "sms.mo" {
		from, _ := v["from"].(string)
		text, _ := v["text"].(string)
		l.mo[from+"|"+text]++
		l.nMO++
		return
	}
	id, _ := v["id"].(string)
	if string(m.Key) != id {
		l.bad = append(l.bad, fmt.Sprintf("status key %q != id %q", m.Key, id))
	}
	l.status[id] = append(l.status[id], v)
}

// statuses returns id's status words in order ("(dup)" marks duplicate
// notices of a record produced again).
func (l *eventLog) statuses(id string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.status[id]))
	for _, v := range l.status[id] {
		s, _ := v["status"].(string)
		if d, _ := v["duplicate"].(bool); d {
			s += "(dup)"
		}
		out = append(out, s)
	}
	return out
}

// moHas reports whether an MO from from with text was published.
func (l *eventLog) moHas(from, text string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mo[from+"|"+text] > 0
}

// moFrom reports whether any MO from from was published.
func (l *eventLog) moFrom(from string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.mo {
		if strings.HasPrefix(k, from+"|") {
			return true
		}
	}
	return false
}

func (l *eventLog) moCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nMO
}

func (l *eventLog) dlqCount(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dlq[key]
}

func (l *eventLog) lastError(id string) map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	evs := l.status[id]
	if len(evs) == 0 {
		return nil
	}
	e, _ := evs[len(evs)-1]["error"].(map[string]any)
	return e
}

// sent is one message the load produced and the broker acknowledged.
type sent struct {
	id, to   string
	parts    int
	produced time.Time // acknowledged by the broker
}

// badRecord is a malformed record mixed into the load.
type badRecord struct {
	key    string
	withID bool // its id can be read, so a rejected status is due too
}

// load produces messages at a fixed rate, bounded in count (rate × dur)
// and time, retrying a batch the broker did not acknowledge (e.g. while it
// restarts) until stopAt+retryFor.
type load struct {
	prefix    string
	rate      int
	malformed int // every n-th record is malformed (0: none)

	mu  sync.Mutex
	ok  []sent
	bad []badRecord
	n   int
	err error
}

const longText = "This message is long enough to need two parts on the wire: " +
	"GSM 7-bit holds 153 septets per part with an 8-bit concatenation header, so two hundred " +
	"characters take exactly two parts here."

// record builds record n: every 10th message has two parts.
func (ld *load) record(n int) (kafka.Message, *sent, *badRecord) {
	if ld.malformed > 0 && n%ld.malformed == ld.malformed-1 {
		key := fmt.Sprintf("%s-bad-%06d", ld.prefix, n)
		return malformedRecord(key, n)
	}
	id := fmt.Sprintf("%s-%06d", ld.prefix, n)
	s := &sent{id: id, to: fmt.Sprintf("99559%07d", n), parts: 1}
	text := "fault test " + id
	if n%10 == 9 {
		text, s.parts = longText, 2
	}
	v, _ := json.Marshal(map[string]any{"id": id, "account": "acme", "from": "ACME", "to": s.to, "text": text})
	return kafka.Message{Key: []byte(id), Value: v}, s, nil
}

// malformedRecord cycles through the input errors the spec sends to sms.dlq.
func malformedRecord(key string, n int) (kafka.Message, *sent, *badRecord) {
	b := &badRecord{key: key}
	var v []byte
	switch (n / 7) % 7 {
	case 0: // not JSON
		v = []byte(`{"id":"` + key + `","account":"acme",`)
	case 1: // a required field missing; the id is readable
		v = []byte(`{"id":"` + key + `","account":"acme","from":"ACME","text":"no destination"}`)
		b.withID = true
	case 2: // unknown encoding
		v = []byte(`{"id":"` + key + `","account":"acme","from":"ACME","to":"995590000001","text":"x","encoding":"ebcdic"}`)
		b.withID = true
	case 3: // not UTF-8 at all
		v = []byte{0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, '{'}
	case 5: // bad bytes in the text only: the id is readable
		v = []byte("{\"id\":\"" + key + "\",\"account\":\"acme\",\"from\":\"ACME\",\"to\":\"995590000001\",\"text\":\"caf\xe9\"}")
		b.withID = true
	case 4: // over limits.max_bytes (64 KiB): not parsed for its id
		v = []byte(`{"id":"` + key + `","account":"acme","from":"ACME","to":"995590000001","text":"` +
			strings.Repeat("A", 70<<10) + `"}`)
	default: // a placeholder without a value
		v = []byte(`{"id":"` + key + `","account":"acme","from":"ACME","to":"995590000001","text":"hi {name}"}`)
		b.withID = true
	}
	return kafka.Message{Key: []byte(key), Value: v}, nil, b
}

// run produces (ticks of 100 ms) until stop is closed or dur has passed;
// ctx ends it early.
func (ld *load) run(ctx context.Context, stop <-chan struct{}, broker string, dur, retryFor time.Duration) {
	w := &kafka.Writer{Addr: kafka.TCP(broker), Topic: "sms.submit", Balancer: &kafka.Hash{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: 2 * time.Millisecond, MaxAttempts: 3,
		BatchBytes: 1 << 20, WriteTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second}
	defer w.Close()
	per := max(ld.rate/10, 1)
	stopAt := time.Now().Add(dur)
	giveUp := stopAt.Add(retryFor)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(stopAt) {
		select {
		case <-ctx.Done():
			return
		case <-stop:
			return
		case <-tick.C:
		}
		msgs := make([]kafka.Message, 0, per)
		var oks []*sent
		var bads []*badRecord
		for range per {
			m, s, b := ld.record(ld.n)
			ld.n++
			msgs = append(msgs, m)
			if s != nil {
				oks = append(oks, s)
			}
			if b != nil {
				bads = append(bads, b)
			}
		}
		// A batch is retried whole until acknowledged: a record written
		// but whose ack was lost is then produced twice, which the gateway
		// must treat as a duplicate (one extra "duplicate": true event).
		for {
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := w.WriteMessages(wctx, msgs...)
			cancel()
			if err == nil {
				break
			}
			if ctx.Err() != nil || time.Now().After(giveUp) {
				ld.mu.Lock()
				ld.err = fmt.Errorf("produce gave up at record %d: %w", ld.n, err)
				ld.mu.Unlock()
				return
			}
			var we kafka.WriteErrors
			if !errors.As(err, &we) {
				sleepCtx(ctx, 200*time.Millisecond)
			}
		}
		now := time.Now()
		ld.mu.Lock()
		for _, s := range oks {
			s.produced = now
			ld.ok = append(ld.ok, *s)
		}
		for _, b := range bads {
			ld.bad = append(ld.bad, *b)
		}
		ld.mu.Unlock()
	}
}

func (ld *load) results() ([]sent, []badRecord, error) {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	return append([]sent(nil), ld.ok...), append([]badRecord(nil), ld.bad...), ld.err
}

// startLoad runs a load in the background for at most maxDur; stop ends
// it and returns once the last batch is acknowledged (or given up).
func startLoad(t *testing.T, r *rig, prefix string, maxDur time.Duration, malformedEvery int) (ld *load, stop func()) {
	ld = &load{prefix: prefix, rate: prof.rate, malformed: malformedEvery}
	ctx, cancel := context.WithCancel(context.Background())
	stopCh := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		ld.run(ctx, stopCh, r.brokerAddr, maxDur, 60*time.Second)
	}()
	var once sync.Once
	stop = func() { once.Do(func() { close(stopCh) }); <-done }
	t.Cleanup(func() { cancel(); stop() })
	return ld, stop
}
