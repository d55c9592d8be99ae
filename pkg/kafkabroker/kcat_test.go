package kafkabroker

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// kcatPath finds Debian's kcat (librdkafka): an independent Kafka client,
// so the broker is not only tested against the client smsgate uses.
func kcatPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatalf("kcat not found on PATH (%v): run scripts/ensure-deps.sh", err)
	}
	return p
}

func runKcat(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcatPath(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat %s: %v\nstderr: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// TestKcatProducesKafkaGoReads: records produced by librdkafka are read by
// kafka-go with their keys and values intact.
func TestKcatProducesKafkaGoReads(t *testing.T) {
	const topic, n = "kcat.in", 200
	b := startBroker(t, Options{Topics: map[string]int{topic: 1}})
	var in strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&in, "%s:v%s\n", key(i), key(i))
	}
	runKcat(t, in.String(), "-b", b.Addrs()[0], "-P", "-t", topic, "-K:", "-X", "acks=all")

	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: b.Addrs(), Topic: topic, Partition: 0,
		MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 50 * time.Millisecond,
	})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for i := 0; i < n; i++ {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read record %d of %d: %v", i, n, err)
		}
		// One partition, one producer: order is kept.
		if string(m.Key) != key(i) || string(m.Value) != "v"+key(i) || m.Offset != int64(i) {
			t.Fatalf("record %d = %q:%q at offset %d, want %s:v%s at %d", i, m.Key, m.Value, m.Offset, key(i), key(i), i)
		}
	}
}

// TestKafkaGoProducesKcatReads: the reverse direction, across partitions.
func TestKafkaGoProducesKcatReads(t *testing.T) {
	const topic, parts, n = "kcat.out", 3, 300
	b := startBroker(t, Options{Topics: map[string]int{topic: parts}})
	writeRecords(t, b.Addrs(), topic, 0, n)
	out := runKcat(t, "", "-b", b.Addrs()[0], "-C", "-t", topic, "-e", "-o", "beginning", "-q", "-f", "%k=%s\n")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	sort.Strings(lines)
	if len(lines) != n {
		t.Fatalf("kcat read %d records, want %d:\n%s", len(lines), n, out)
	}
	for i, l := range lines {
		if want := key(i) + "=v" + key(i); l != want {
			t.Fatalf("record %d = %q, want %q", i, l, want)
		}
	}
}
