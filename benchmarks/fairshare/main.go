// Command fairshare measures fair share between accounts on one operator
// (issue 18): account A's backlog of marketing messages is produced to
// sms.submit and taken in by smsgate (its queue fills, the rest is
// parked), then account B sends transactional messages at a steady rate to
// the same operator. It reports B's Kafka append → submit_sm latency and
// A's rate at the SMSC while B sends, against the rest of the operator's
// cap.
//
//	go build -o /tmp/smsgate ./cmd/smsgate
//	go run ./benchmarks/fairshare -bin /tmp/smsgate
//
// Everything runs on 127.0.0.1: Postgres (a fresh database, dropped after),
// the embedded broker, one simulated SMSC, and the binary as its own
// process. Every loop is bounded in count and by -timeout.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"

	"github.com/smsgate/smsgate/benchmarks/internal/rig"
	"github.com/smsgate/smsgate/pkg/smppsim"
)

func main() {
	o := opts{}
	flag.StringVar(&o.bin, "bin", "bin/smsgate", "smsgate binary")
	flag.IntVar(&o.backlog, "backlog", 200000, "account A's messages, produced first")
	flag.IntVar(&o.bRate, "b-rate", 20, "account B's messages per second")
	flag.DurationVar(&o.bFor, "b-for", 60*time.Second, "how long B sends")
	flag.IntVar(&o.tps, "tps", 1000, "the operator's tps")
	flag.IntVar(&o.binds, "binds", 2, "binds")
	flag.IntVar(&o.window, "window", 100, "window per bind")
	flag.IntVar(&o.weightB, "weight-b", 1, "account B's weight (A has 1)")
	flag.BoolVar(&o.bAtOnce, "b-at-once", false, "B starts right after A's records are produced, before smsgate has taken them in (B's first records are behind A's in their partitions)")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up after")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "fairshare:", err)
		os.Exit(1)
	}
}

type opts struct {
	bin                    string
	backlog, bRate, tps    int
	binds, window, weightB int
	bFor, timeout          time.Duration
	bAtOnce                bool
}

func run(o opts) error {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	dsn, drop, err := rig.TempDatabase(ctx, "smsgate_fair")
	if err != nil {
		return err
	}
	defer drop()
	broker, err := rig.StartBroker()
	if err != nil {
		return err
	}
	defer broker.Close()
	sim, err := smppsim.Start(smppsim.Options{Addr: "127.0.0.1:0", NoReceipts: true, RecordSubmits: true, MaxRecorded: 2 * o.backlog})
	if err != nil {
		return err
	}
	defer sim.Close()

	dir, err := os.MkdirTemp("", "smsgate-fair")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	httpAddr, err := rig.FreeAddr()
	if err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(sim.Addr())
	cfg := fmt.Sprintf(`kafka: {brokers: [%q], group: fair}
postgres: {dsn: %q}
http: {listen: %q}
operators:
  - {name: opx, host: %s, port: %s, system_id: acme, password: pw, binds: %d, window: %d, tps: %d}
routes:
  - {prefix: "99559", operator: opx, cost: 0.01, currency: EUR}
accounts:
  - {name: a, senders: [ACME], weight: 1, rates: [{prefix: "995", price: 0.03, currency: EUR}]}
  - {name: b, senders: [ACME], weight: %d, rates: [{prefix: "995", price: 0.03, currency: EUR}]}
dlr: {timeout: 1h}
`, broker.Addrs()[0], dsn, httpAddr, host, port, o.binds, o.window, o.tps, o.weightB)
	cfgPath := filepath.Join(dir, "smsgate.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}

	_, stop, err := rig.StartSmsgate(ctx, o.bin, cfgPath)
	if err != nil {
		return err
	}
	defer stop()
	if err := waitUntil(ctx, 2*time.Minute, func() bool {
		r, err := http.Get("http://" + httpAddr + "/readyz")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == http.StatusOK
	}); err != nil {
		return fmt.Errorf("smsgate not ready: %w", err)
	}

	w := &kafka.Writer{Addr: kafka.TCP(broker.Addrs()...), Topic: "sms.submit", Balancer: &kafka.Hash{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: 2 * time.Millisecond, BatchSize: 5000}
	defer w.Close()
	rec := func(id, account, dest, kind string) kafka.Message {
		v := `{"id":"` + id + `","account":"` + account + `","from":"ACME","to":"` + dest + `","text":"` + kind + ` message"` +
			map[bool]string{true: `,"kind":"marketing"`, false: ""}[kind == "marketing"] + `}`
		return kafka.Message{Key: []byte(id), Value: []byte(v)}
	}

	// A's backlog, keyed by id like any upstream: it shares partitions with B.
	t0 := time.Now()
	const chunk = 20000
	for i := 0; i < o.backlog; i += chunk {
		batch := make([]kafka.Message, 0, chunk)
		for j := i; j < min(i+chunk, o.backlog); j++ {
			batch = append(batch, rec("a"+strconv.Itoa(j), "a", fmt.Sprintf("995590%06d", j%1_000_000), "marketing"))
		}
		if err := w.WriteMessages(ctx, batch...); err != nil {
			return fmt.Errorf("produce A: %w", err)
		}
	}
	produceA := time.Since(t0)
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	var takeIn time.Duration
	if !o.bAtOnce {
		// Taken in: at most the queue's bound (½ s of tps, ≥ 2,000) is not a row yet.
		queueMax := max(o.tps/2, 2000)
		err := waitUntil(ctx, 5*time.Minute, func() bool {
			var n int
			_ = pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE account = 'a'`).Scan(&n)
			return n >= o.backlog-queueMax
		})
		if err != nil {
			return fmt.Errorf("A's backlog not taken in: %w", err)
		}
		takeIn = time.Since(t0)
	}
	var parkedA int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE account = 'a' AND due IS NOT NULL`).Scan(&parkedA)
	sentBefore := sim.Stats().Submits

	// B: one record every 1/rate s, each produced alone, for bFor.
	produced := map[string]time.Time{}
	bN := int(o.bFor.Seconds() * float64(o.bRate))
	tick := time.NewTicker(time.Second / time.Duration(o.bRate))
	bStart := time.Now()
	for i := 0; i < bN && ctx.Err() == nil; i++ {
		<-tick.C
		id := "b" + strconv.Itoa(i)
		now := time.Now()
		if err := w.WriteMessages(ctx, rec(id, "b", fmt.Sprintf("995599%06d", i), "transactional")); err != nil {
			return fmt.Errorf("produce B: %w", err)
		}
		produced[fmt.Sprintf("995599%06d", i)] = now
	}
	tick.Stop()
	bEnd := time.Now()
	// B's last messages reach the SMSC.
	_ = waitUntil(ctx, 30*time.Second, func() bool {
		n := 0
		for _, s := range sim.Submits() {
			if strings.HasPrefix(s.Dest, "995599") {
				n++
			}
		}
		return n >= bN
	})

	var lat []time.Duration
	aIn := 0
	for _, s := range sim.Submits() {
		if p, ok := produced[s.Dest]; ok {
			lat = append(lat, s.ReceivedAt.Sub(p))
			continue
		}
		if !s.ReceivedAt.Before(bStart) && s.ReceivedAt.Before(bEnd) {
			aIn++
		}
	}
	if len(lat) < bN {
		return fmt.Errorf("only %d of B's %d messages reached the SMSC", len(lat), bN)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))].Round(time.Millisecond) }
	span := bEnd.Sub(bStart).Seconds()
	aRate := float64(aIn) / span
	bRate := float64(bN) / span
	rest := float64(o.tps) - bRate
	fmt.Printf("A: %d produced in %s, taken in after %s (%d parked then), %d sent before B started\n",
		o.backlog, produceA.Round(time.Millisecond), takeIn.Round(time.Millisecond), parkedA, sentBefore)
	fmt.Println("| A backlog | B msg/s | operator tps | B weight | B sent | B p50 | B p99 | B max | A msg/s while B sends | A ÷ (tps − B) |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	fmt.Printf("| %d | %.1f | %d | %d | %d | %s | %s | %s | %.1f | %.2f%% |\n", o.backlog, bRate, o.tps, o.weightB, len(lat),
		q(0.5), q(0.99), lat[len(lat)-1].Round(time.Millisecond), aRate, 100*aRate/rest)
	return nil
}

// waitUntil polls cond every 100 ms for at most d.
func waitUntil(ctx context.Context, d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("not within %s", d)
}
