package kafkabroker

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testTimeout bounds every client operation in these tests.
const testTimeout = 60 * time.Second

func startBroker(t *testing.T, o Options) *Broker {
	t.Helper()
	b, err := Start(o)
	if err != nil {
		t.Fatalf("Start(%+v): %v", o, err)
	}
	t.Cleanup(b.Close)
	return b
}

// key renders record i's key; values are "v" + key so a mix-up shows.
func key(i int) string { return fmt.Sprintf("k%06d", i) }

// writeRecords writes records [from, to) with kafka-go's Writer configured
// as smsgate configures it (short BatchTimeout, acks=all).
func writeRecords(t *testing.T, addrs []string, topic string, from, to int) {
	t.Helper()
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{
		Addr:         kafka.TCP(addrs...),
		Topic:        topic,
		Transport:    tr,
		BatchTimeout: 2 * time.Millisecond,
		BatchSize:    1000,
		RequiredAcks: kafka.RequireAll,
	}
	msgs := make([]kafka.Message, 0, to-from)
	for i := from; i < to; i++ {
		k := key(i)
		msgs = append(msgs, kafka.Message{Key: []byte(k), Value: []byte("v" + k)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		_ = w.Close()
		t.Fatalf("write %d records to %s: %v", len(msgs), topic, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close writer: %v", err)
	}
}

// readGroup reads exactly n records as a member of group, committing
// synchronously every 1000 records and at the end, then closes the reader
// (leaving the group). It returns the keys read, failing on a duplicate or
// a value that does not match its key.
func readGroup(t *testing.T, addrs []string, topic, group string, n int) map[string]bool {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:        addrs,
		Topic:          topic,
		GroupID:        group,
		MinBytes:       1,
		MaxBytes:       4 << 20,
		MaxWait:        50 * time.Millisecond,
		CommitInterval: 0, // synchronous commits
		StartOffset:    kafka.FirstOffset,
	})
	defer func() {
		if err := r.Close(); err != nil {
			t.Errorf("close reader: %v", err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	seen := make(map[string]bool, n)
	var pending []kafka.Message
	for len(seen) < n {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("group %s: fetch after %d of %d records: %v", group, len(seen), n, err)
		}
		k := string(m.Key)
		if seen[k] {
			t.Fatalf("group %s: record %s read twice (partition %d offset %d)", group, k, m.Partition, m.Offset)
		}
		if string(m.Value) != "v"+k {
			t.Fatalf("record %s has value %q", k, m.Value)
		}
		seen[k] = true
		pending = append(pending, m)
		if len(pending) == 1000 || len(seen) == n {
			if err := r.CommitMessages(ctx, pending...); err != nil {
				t.Fatalf("group %s: commit: %v", group, err)
			}
			pending = pending[:0]
		}
	}
	return seen
}

// committedTotal is the sum over topic's partitions of group's committed
// offsets, asked over the protocol with a client other than kafka-go.
func committedTotal(t *testing.T, addrs []string, group, topic string, partitions int) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic = topic
	for p := 0; p < partitions; p++ {
		rt.Partitions = append(rt.Partitions, int32(p))
	}
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	var total int64
	var got int
	for _, tp := range resp.Topics {
		for _, p := range tp.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				t.Fatalf("offset fetch %s/%d: %v", tp.Topic, p.Partition, err)
			}
			if p.Offset > 0 {
				total += p.Offset
			}
			got++
		}
	}
	if got != partitions {
		t.Fatalf("offset fetch answered %d partitions, want %d", got, partitions)
	}
	return total
}

// endOffsetsTotal sums the high watermarks of topic's partitions, i.e. the
// number of records stored (nothing is ever deleted here).
func endOffsetsTotal(t *testing.T, addr, topic string, partitions int) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var total int64
	for p := 0; p < partitions; p++ {
		conn, err := kafka.DialLeader(ctx, "tcp", addr, topic, p)
		if err != nil {
			t.Fatalf("dial leader %s/%d: %v", topic, p, err)
		}
		_ = conn.SetDeadline(time.Now().Add(testTimeout))
		last, err := conn.ReadLastOffset()
		conn.Close()
		if err != nil {
			t.Fatalf("last offset %s/%d: %v", topic, p, err)
		}
		total += last
	}
	return total
}

func union(sets ...map[string]bool) map[string]bool {
	out := map[string]bool{}
	for _, s := range sets {
		for k := range s {
			out[k] = true
		}
	}
	return out
}

// checkAll fails unless keys is exactly {key(0) .. key(n-1)}.
func checkAll(t *testing.T, keys map[string]bool, n int) {
	t.Helper()
	if len(keys) != n {
		t.Fatalf("read %d distinct records, want %d", len(keys), n)
	}
	for i := 0; i < n; i++ {
		if !keys[key(i)] {
			t.Fatalf("record %s never read", key(i))
		}
	}
}
