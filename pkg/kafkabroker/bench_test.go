package kafkabroker

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// BenchmarkProduce measures kafka-go Writer → embedded broker throughput
// (acks=all, 100-byte values, batches of up to 1000), in memory and with
// DataDir+SyncWrites, so a pipeline benchmark can tell whether the broker
// is its bottleneck.
func BenchmarkProduce(b *testing.B) {
	for _, bc := range []struct {
		name string
		o    func(b *testing.B) Options
	}{
		{"memory", func(*testing.B) Options { return Options{} }},
		{"datadir-sync", func(b *testing.B) Options { return Options{DataDir: b.TempDir(), SyncWrites: true} }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			o := bc.o(b)
			o.Topics = map[string]int{"bench": 4}
			br, err := Start(o)
			if err != nil {
				b.Fatal(err)
			}
			defer br.Close()
			tr := &kafka.Transport{}
			defer tr.CloseIdleConnections()
			w := &kafka.Writer{Addr: kafka.TCP(br.Addrs()...), Topic: "bench", Transport: tr,
				BatchTimeout: 2 * time.Millisecond, BatchSize: 1000, RequiredAcks: kafka.RequireAll}
			defer w.Close()
			value := make([]byte, 100)
			msgs := make([]kafka.Message, 1000)
			for i := range msgs {
				msgs[i] = kafka.Message{Key: []byte(key(i)), Value: value}
			}
			ctx := context.Background()
			b.ResetTimer()
			for done := 0; done < b.N; {
				n := min(len(msgs), b.N-done)
				if err := w.WriteMessages(ctx, msgs[:n]...); err != nil {
					b.Fatal(err)
				}
				done += n
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
