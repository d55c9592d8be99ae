package kafkabroker

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"
)

func TestStartAddr(t *testing.T) {
	tests := []struct {
		name    string
		addr    string
		wantErr error // nil: must start
		anyErr  bool  // some error, not a sentinel
		host    string
	}{
		{name: "default", addr: "", host: "127.0.0.1"},
		{name: "v4 loopback", addr: "127.0.0.1:0", host: "127.0.0.1"},
		{name: "other v4 loopback", addr: "127.0.0.2:0", host: "127.0.0.2"},
		{name: "empty host", addr: ":0", host: "127.0.0.1"},
		{name: "localhost", addr: "localhost:0", host: "127.0.0.1"},
		{name: "any v4", addr: "0.0.0.0:0", wantErr: ErrNotLoopback},
		{name: "any v6", addr: "[::]:0", wantErr: ErrNotLoopback},
		{name: "private", addr: "10.1.2.3:9092", wantErr: ErrNotLoopback},
		{name: "hostname", addr: "kafka.example:9092", wantErr: ErrNotLoopback},
		{name: "no port", addr: "127.0.0.1", anyErr: true},
		{name: "bad port", addr: "127.0.0.1:x", anyErr: true},
		{name: "port too big", addr: "127.0.0.1:70000", anyErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Start(Options{Addr: tc.addr})
			if tc.wantErr != nil || tc.anyErr {
				if err == nil {
					b.Close()
					t.Fatalf("Start(%q) succeeded, want error", tc.addr)
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Fatalf("Start(%q) = %v, want %v", tc.addr, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Start(%q): %v", tc.addr, err)
			}
			defer b.Close()
			addrs := b.Addrs()
			if len(addrs) != 1 {
				t.Fatalf("Addrs() = %v, want one address", addrs)
			}
			h, p, err := net.SplitHostPort(addrs[0])
			if err != nil || h != tc.host || p == "0" {
				t.Fatalf("Addrs() = %v, want %s:<port>", addrs, tc.host)
			}
			// A real client can talk to it.
			if n := endOffsetsTotal(t, addrs[0], "auto.created", 1); n != 0 {
				t.Fatalf("auto-created topic has %d records", n)
			}
		})
	}
}

func TestCloseIdempotentAndPortReusable(t *testing.T) {
	b := startBroker(t, Options{})
	addr := b.Addrs()[0]
	b.Close()
	b.Close()
	b2 := startBroker(t, Options{Addr: addr})
	if got := b2.Addrs()[0]; got != addr {
		t.Fatalf("restarted on %s, want %s", got, addr)
	}
}

func TestCreateTopics(t *testing.T) {
	b := startBroker(t, Options{Topics: map[string]int{"a": 4, "b": 1}})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	tests := []struct {
		name    string
		topics  map[string]int
		wantErr error
	}{
		{name: "same again", topics: map[string]int{"a": 4, "b": 1}},
		{name: "nil", topics: nil},
		{name: "new and existing", topics: map[string]int{"a": 4, "c": 3}},
		{name: "more partitions", topics: map[string]int{"a": 5}, wantErr: ErrPartitionMismatch},
		{name: "fewer partitions", topics: map[string]int{"b": 2, "a": 1}, wantErr: ErrPartitionMismatch},
		{name: "zero partitions", topics: map[string]int{"d": 0}, wantErr: ErrBadTopic},
		{name: "bad name", topics: map[string]int{"a b": 1}, wantErr: ErrBadTopic},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := b.CreateTopics(ctx, tc.topics)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("CreateTopics(%v) = %v, want %v", tc.topics, err, tc.wantErr)
			}
		})
	}
	// The partition counts are what was asked for, seen by kafka-go.
	for topic, n := range map[string]int{"a": 4, "b": 1, "c": 3} {
		for p := 0; p < n; p++ {
			if got := endOffsetsTotal(t, b.Addrs()[0], topic, p+1); got != 0 {
				t.Fatalf("%s: %d records", topic, got)
			}
		}
	}
	if _, err := Start(Options{Addr: "127.0.0.1:0", Topics: map[string]int{"x": -1}}); !errors.Is(err, ErrBadTopic) {
		t.Fatalf("Start with a bad topic = %v, want ErrBadTopic", err)
	}
}

// TestGroupResume writes 10k records with kafka-go's Writer, reads 6000 of
// them in a consumer group with commits, closes that reader, and checks
// that a second reader in the same group gets exactly the other 4000.
func TestGroupResume(t *testing.T) {
	const (
		topic = "sms.submit"
		parts = 4
		total = 10_000
		first = 6_000
	)
	b := startBroker(t, Options{Topics: map[string]int{topic: parts}})
	writeRecords(t, b.Addrs(), topic, 0, total)
	if n := endOffsetsTotal(t, b.Addrs()[0], topic, parts); n != total {
		t.Fatalf("broker holds %d records, want %d", n, total)
	}
	r1 := readGroup(t, b.Addrs(), topic, "g1", first)
	if c := committedTotal(t, b.Addrs(), "g1", topic, parts); c != first {
		t.Fatalf("committed %d after the first reader, want %d", c, first)
	}
	r2 := readGroup(t, b.Addrs(), topic, "g1", total-first)
	for k := range r2 {
		if r1[k] {
			t.Fatalf("record %s read by both readers", k)
		}
	}
	checkAll(t, union(r1, r2), total)
	if c := committedTotal(t, b.Addrs(), "g1", topic, parts); c != total {
		t.Fatalf("committed %d at the end, want %d", c, total)
	}
	// Another group starts from the beginning, independently.
	checkAll(t, readGroup(t, b.Addrs(), topic, "g2", total), total)
}

// TestPersistence restarts a broker on the same port and DataDir and checks
// that records and committed offsets survived.
func TestPersistence(t *testing.T) {
	for _, sync := range []bool{false, true} {
		t.Run("sync="+strconv.FormatBool(sync), func(t *testing.T) {
			const (
				topic = "sms.status"
				parts = 2
				total = 1000
				first = 600
			)
			dir := t.TempDir()
			o := Options{DataDir: dir, SyncWrites: sync, Topics: map[string]int{topic: parts}}
			b := startBroker(t, o)
			writeRecords(t, b.Addrs(), topic, 0, total)
			r1 := readGroup(t, b.Addrs(), topic, "g", first)
			o.Addr = b.Addrs()[0]
			b.Close()

			// Adding a topic on restart works although state is reloaded.
			o.Topics = map[string]int{topic: parts, "sms.dlq": 1}
			b = startBroker(t, o)
			if got := b.Addrs()[0]; got != o.Addr {
				t.Fatalf("restarted on %s, want %s", got, o.Addr)
			}
			if n := endOffsetsTotal(t, o.Addr, topic, parts); n != total {
				t.Fatalf("after restart the broker holds %d records, want %d", n, total)
			}
			if c := committedTotal(t, b.Addrs(), "g", topic, parts); c != first {
				t.Fatalf("after restart committed %d, want %d", c, first)
			}
			r2 := readGroup(t, b.Addrs(), topic, "g", total-first)
			checkAll(t, union(r1, r2), total)
			if n := endOffsetsTotal(t, o.Addr, "sms.dlq", 1); n != 0 {
				t.Fatalf("new topic holds %d records", n)
			}
			// A changed partition count is refused rather than ignored.
			b.Close()
			o.Topics = map[string]int{topic: parts + 1}
			if b2, err := Start(o); !errors.Is(err, ErrPartitionMismatch) {
				if err == nil {
					b2.Close()
				}
				t.Fatalf("restart with %d partitions = %v, want ErrPartitionMismatch", parts+1, err)
			}
		})
	}
}

func TestCloseUnblocksClients(t *testing.T) {
	b := startBroker(t, Options{Topics: map[string]int{"t": 1}})
	addr := b.Addrs()[0]
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	b.Close()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection still open after Close")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("connection not closed within 10s of Close")
	}
}
