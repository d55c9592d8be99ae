package benchmarks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/gateway"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/pkg/kafkabroker"
	"github.com/smsgate/smsgate/pkg/smppsim"
)

// BenchmarkPipelineInProcess runs the whole pipeline in this process (for
// CPU profiles: -cpuprofile): b.N messages pre-loaded into sms.submit, two
// simulated operators with 2 binds × window 100, Postgres queue. It reports
// msg/s at the SMSCs. RSS of the real binary is measured by
// benchmarks/pipeline (a separate process).
func BenchmarkPipelineInProcess(b *testing.B) {
	for _, receipts := range []bool{false, true} {
		b.Run(fmt.Sprintf("receipts=%v", receipts), func(b *testing.B) { pipelineRun(b, receipts, true) })
	}
	// Without billing: the account's only rate matches no destination, so
	// no ledger rows are written (shows what the ledger costs).
	b.Run("receipts=false/billing=false", func(b *testing.B) { pipelineRun(b, false, false) })
}

func pipelineRun(b *testing.B, receipts, bill bool) {
	ratePrefix := "995"
	if !bill {
		ratePrefix = "1"
	}
	ctx := context.Background()
	var rb [4]byte
	_, _ = rand.Read(rb[:])
	dsn := "postgres://postgres@127.0.0.1:5432/smsgate_bench_" + hex.EncodeToString(rb[:]) + "?sslmode=disable"
	if err := store.EnsureDatabase(ctx, dsn); err != nil {
		b.Fatal(err)
	}
	defer store.DropDatabase(ctx, dsn)
	broker, err := kafkabroker.Start(kafkabroker.Options{Addr: "127.0.0.1:0", Topics: map[string]int{
		"sms.submit": 8, "sms.status": 8, "sms.mo": 1, "sms.dlq": 1}})
	if err != nil {
		b.Fatal(err)
	}
	defer broker.Close()
	sims := make([]*smppsim.Server, 2)
	for i := range sims {
		if sims[i], err = smppsim.Start(smppsim.Options{Addr: "127.0.0.1:0", NoReceipts: !receipts}); err != nil {
			b.Fatal(err)
		}
		defer sims[i].Close()
	}
	ah, ap, _ := net.SplitHostPort(sims[0].Addr())
	bh, bp, _ := net.SplitHostPort(sims[1].Addr())
	cfg, err := config.Parse([]byte(fmt.Sprintf(`kafka: {brokers: [%q], group: bench}
postgres: {dsn: %q}
http: {listen: "127.0.0.1:0"}
operators:
  - {name: opa, host: %s, port: %s, system_id: acme, password: pw, binds: 2, window: 100, tps: 1000000}
  - {name: opb, host: %s, port: %s, system_id: acme, password: pw, binds: 2, window: 100, tps: 1000000}
routes:
  - {prefix: "99559", operator: opa, cost: 0.01, currency: EUR}
  - {prefix: "99532", operator: opb, cost: 0.01, currency: EUR}
accounts:
  - {name: acme, senders: [ACME], rates: [{prefix: %q, price: 0.03, currency: EUR}]}
`, broker.Addrs()[0], dsn, ah, ap, bh, bp, ratePrefix)), ".")
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(ctx, dsn, 16)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(broker.Addrs()...), Topic: "sms.submit", Balancer: &kafka.Hash{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: 2 * time.Millisecond, BatchSize: 5000}
	defer w.Close()
	for i := 0; i < b.N; i += 20000 {
		batch := make([]kafka.Message, 0, 20000)
		for j := i; j < min(i+20000, b.N); j++ {
			prefix := "99559"
			if j%2 == 1 {
				prefix = "99532"
			}
			id := "b" + strconv.Itoa(j)
			batch = append(batch, kafka.Message{Key: []byte(id), Value: []byte(`{"id":"` + id + `","account":"acme","from":"ACME","to":"` +
				prefix + fmt.Sprintf("%07d", j) + `","text":"Your code is 123456. It expires in 5 minutes."}`)})
		}
		if err := w.WriteMessages(ctx, batch...); err != nil {
			b.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	gw, err := gateway.New(cfg, st, gateway.Options{Registerer: reg})
	if err != nil {
		b.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	b.ResetTimer()
	start := time.Now()
	go func() { done <- gw.Run(runCtx) }()
	total := func() uint64 { return sims[0].Stats().Submits + sims[1].Stats().Submits }
	acked := func() uint64 { return sims[0].Stats().ReceiptsAcked + sims[1].Stats().ReceiptsAcked }
	deadline := time.Now().Add(10 * time.Minute)
	for total() < uint64(b.N) || (receipts && acked() < uint64(b.N)) {
		if time.Now().After(deadline) {
			b.Fatalf("timed out: %d submitted, %d receipts acked of %d", total(), acked(), b.N)
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	<-done
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msg/s")
	logBatchTimes(b, reg, elapsed)
}

// logBatchTimes prints how long each kind of Postgres batch took in total
// and on average: the first thing to look at when the pipeline is slow.
func logBatchTimes(b *testing.B, reg *prometheus.Registry, elapsed time.Duration) {
	mfs, err := reg.Gather()
	if err != nil {
		return
	}
	for _, mf := range mfs {
		if mf.GetName() != "smsgate_postgres_batch_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			h := m.GetHistogram()
			kind := m.GetLabel()[0].GetValue()
			n := h.GetSampleCount()
			b.Logf("%-8s batches %6d  busy %5.1f%% of %s  mean %.2f ms", kind, n, h.GetSampleSum()/elapsed.Seconds()*100,
				elapsed.Round(time.Millisecond), h.GetSampleSum()/float64(max(n, 1))*1000)
		}
	}
}
