package journal

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeProducer records what it produced, in order.
type fakeProducer struct {
	mu   sync.Mutex
	got  []string
	fail bool
}

func (f *fakeProducer) ProduceSync(_ context.Context, rs ...*kgo.Record) kgo.ProduceResults {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(kgo.ProduceResults, len(rs))
	for i, r := range rs {
		out[i].Record = r
		if f.fail {
			out[i].Err = context.DeadlineExceeded
			continue
		}
		f.got = append(f.got, string(r.Value))
	}
	return out
}

func (f *fakeProducer) produced() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.got, ",")
}

func rec(v string) *kgo.Record { return &kgo.Record{Value: []byte(v)} }

// Each lane's batches are produced in commit order, and a batch that
// depends on another lane's batch (a receipt's event on its outcome's) is
// held until that one is produced, whatever order they were handed over.
func TestPublisherOrder(t *testing.T) {
	p := &fakeProducer{}
	pub := NewPublisher(PublisherOptions{Producer: p})
	// The receipt's batch arrives first and depends on outcome batch 7.
	pub.Enqueue("i/inbound", 9, []*kgo.Record{rec("delivered")}, map[string]int64{"i/outcomes": 7})
	pub.Enqueue("i/inbound", 10, []*kgo.Record{rec("mo")}, nil)
	ctx := context.Background()
	if err := pub.drain(ctx); err != nil {
		t.Fatal(err)
	}
	if got := p.produced(); got != "" {
		t.Fatalf("produced %q before the outcome it depends on", got)
	}
	pub.Enqueue("i/outcomes", 6, []*kgo.Record{rec("submitted-a")}, nil)
	if err := pub.drain(ctx); err != nil {
		t.Fatal(err)
	}
	if got := p.produced(); got != "submitted-a" {
		t.Fatalf("produced %q, want only the outcome batch 6", got)
	}
	pub.Enqueue("i/outcomes", 7, []*kgo.Record{rec("submitted-b")}, nil)
	if err := pub.drain(ctx); err != nil {
		t.Fatal(err)
	}
	if got := p.produced(); got != "submitted-a,submitted-b,delivered,mo" {
		t.Fatalf("produced %q, want the outcomes then the receipt, each lane in order", got)
	}
	if w := pub.Watermark("i/inbound"); w != 10 {
		t.Fatalf("inbound watermark %d, want 10", w)
	}
}

// While Kafka refuses, nothing is marked published; Run retries and the
// batch goes out once it accepts.
func TestPublisherRetriesUntilProduced(t *testing.T) {
	p := &fakeProducer{fail: true}
	pub := NewPublisher(PublisherOptions{Producer: p})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = pub.Run(ctx) }()
	pub.Enqueue("l", 1, []*kgo.Record{rec("x")}, nil)
	time.Sleep(150 * time.Millisecond)
	if w := pub.Watermark("l"); w != 0 {
		t.Fatalf("watermark %d while every produce failed", w)
	}
	p.mu.Lock()
	p.fail = false
	p.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for p.produced() != "x" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if got := p.produced(); got != "x" {
		t.Fatalf("produced %q after Kafka came back", got)
	}
}

// A lane whose queue overflowed republishes from the journal, but not
// before the batches its dropped ones depended on are produced: a receipt
// rebuilt as "delivered" must not overtake its outcome's "submitted" still
// queued on another lane. Batches after the newest dropped one come
// through the queue, not the catch-up.
func TestPublisherCatchUpWaitsForDependencies(t *testing.T) {
	p := &fakeProducer{}
	journal := map[string][]int64{"i/inbound": {2, 4, 5}}
	pub := NewPublisher(PublisherOptions{Producer: p, QueueBatches: 1,
		LaneBatches: func(_ context.Context, lane string, after int64, limit int) ([]int64, error) {
			var out []int64
			for _, b := range journal[lane] {
				if b > after && len(out) < limit {
					out = append(out, b)
				}
			}
			return out, nil
		},
		Republish: func(_ context.Context, batches []int64) ([]*kgo.Record, error) {
			var out []*kgo.Record
			for _, b := range batches {
				out = append(out, rec(fmt.Sprintf("rebuilt-%d", b)))
			}
			return out, nil
		}})
	ctx := context.Background()
	// Inbound batch 2 waits for outcome batch 1; batch 4 overflows the
	// queue of one: both are dropped, with their dependency remembered.
	pub.Enqueue("i/inbound", 2, []*kgo.Record{rec("delivered")}, map[string]int64{"i/outcomes": 1})
	pub.Enqueue("i/inbound", 4, []*kgo.Record{rec("mo")}, nil)
	if err := pub.drain(ctx); err != nil {
		t.Fatal(err)
	}
	if got := p.produced(); got != "" {
		t.Fatalf("produced %q before outcome batch 1", got)
	}
	pub.Enqueue("i/outcomes", 1, []*kgo.Record{rec("submitted")}, nil)
	if err := pub.drain(ctx); err != nil {
		t.Fatal(err)
	}
	if got := p.produced(); got != "submitted,rebuilt-2,rebuilt-4" {
		t.Fatalf("produced %q, want the outcome, then inbound batches 2 and 4 rebuilt (5 is not dropped)", got)
	}
	pub.Enqueue("i/inbound", 5, []*kgo.Record{rec("later")}, nil)
	if err := pub.drain(ctx); err != nil {
		t.Fatal(err)
	}
	if got := p.produced(); got != "submitted,rebuilt-2,rebuilt-4,later" {
		t.Fatalf("produced %q after the catch-up", got)
	}
	if w := pub.Watermark("i/inbound"); w != 5 {
		t.Fatalf("inbound watermark %d, want 5", w)
	}
}
