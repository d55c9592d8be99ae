// Command pipeline measures smsgate end to end on this machine: N messages
// pre-loaded into sms.submit (embedded Kafka-protocol broker), two simulated
// operators, Postgres as the durable queue, and smsgate itself as a separate
// process (so its RSS and CPU are its own). It prints one table row per run.
//
//	go run ./benchmarks/pipeline -n 1000000 -bin bin/smsgate
//
// Modes: -receipts (a receipt for every message, correlated and published),
// -latency R (instead of a pre-loaded queue, produce at R msg/s for
// -duration and report Kafka-append → submit_sm latency percentiles),
// -stall (operator A stops answering; B's throughput is reported).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"

	"github.com/smsgate/smsgate/benchmarks/internal/rig"
	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/pkg/smppsim"
)

func main() {
	n := flag.Int("n", 200000, "messages")
	bin := flag.String("bin", "bin/smsgate", "smsgate binary")
	receipts := flag.Bool("receipts", false, "a receipt for every message")
	binds := flag.Int("binds", 2, "binds per operator")
	window := flag.Int("window", 100, "window per bind")
	latency := flag.Int("latency", 0, "fixed produce rate (msg/s) for a latency run; 0 = pre-loaded queue")
	duration := flag.Duration("duration", 30*time.Second, "latency run length")
	stall := flag.Bool("stall", false, "operator A stops answering; measure operator B")
	onlyB := flag.Bool("only-b", false, "send every message to operator B (the baseline for -stall)")
	flag.DurationVar(&respDelay, "resp-delay", 0, "the SMSCs answer every submit_sm after this long (window-full test: 1 bind, window 100, 200ms)")
	flag.BoolVar(&parkMode, "park", false, "operator A's SMSC is down: every message is for A and is parked; reports peak RSS and the rows parked (memory test: -n 2000000)")
	flag.BoolVar(&prepaid, "prepaid", false, "the account is prepaid with a credit that pays for everything: every message passes the account gate (row lock, reservation, release)")
	flag.StringVar(&metricsGrep, "metrics", "", "at the end, print the gateway's metric lines containing this text (e.g. park)")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up after")
	flag.Parse()
	onlyBFlag = *onlyB
	if err := run(*n, *bin, *receipts, *binds, *window, *latency, *duration, *stall, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "pipeline:", err)
		os.Exit(1)
	}
}

var (
	onlyBFlag   bool
	metricsGrep string
	respDelay   time.Duration
	parkMode    bool
	prepaid     bool
)

func run(n int, bin string, receipts bool, binds, window, latencyRate int, duration time.Duration, stall bool, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	dsn, drop, err := rig.TempDatabase(ctx, "smsgate_bench")
	if err != nil {
		return err
	}
	defer drop()

	broker, err := rig.StartBroker()
	if err != nil {
		return err
	}
	defer broker.Close()
	record := latencyRate > 0
	simOpts := smppsim.Options{Addr: "127.0.0.1:0", NoReceipts: !receipts, RecordSubmits: record, MaxRecorded: 10_000_000, RespDelay: respDelay}
	a, err := smppsim.Start(simOpts)
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := smppsim.Start(simOpts)
	if err != nil {
		return err
	}
	defer b.Close()

	dir, err := os.MkdirTemp("", "smsgate-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfgPath := filepath.Join(dir, "smsgate.yml")
	httpAddr, err := rig.FreeAddr()
	if err != nil {
		return err
	}
	ah, ap, _ := net.SplitHostPort(a.Addr())
	bh, bp, _ := net.SplitHostPort(b.Addr())
	cfg := fmt.Sprintf(`kafka: {brokers: [%q], group: bench}
postgres: {dsn: %q}
http: {listen: %q}
operators:
  - {name: opa, host: %s, port: %s, system_id: acme, password: pw, binds: %d, window: %d, tps: 1000000}
  - {name: opb, host: %s, port: %s, system_id: acme, password: pw, binds: %d, window: %d, tps: 1000000}
routes:
  - {prefix: "99559", operator: opa, cost: 0.01, currency: EUR}
  - {prefix: "99532", operator: opb, cost: 0.01, currency: EUR}
accounts:
  - {name: acme, senders: [ACME], %srates: [{prefix: "995", price: 0.03, currency: EUR}]}
dlr: {timeout: 1h}
`, broker.Addrs()[0], dsn, httpAddr, ah, ap, binds, window, bh, bp, binds, window, map[bool]string{false: "", true: "billing: prepaid, "}[prepaid])
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	if prepaid {
		st, err := store.Open(ctx, dsn, 2)
		if err != nil {
			return err
		}
		err = st.Migrate(ctx)
		if err == nil {
			_, _, err = st.ApplyCredit(ctx, store.Credit{Account: "acme", Amount: 1_000_000_000 * billing.MicrosPerUnit, Currency: "EUR",
				Reference: "benchmark", IdempotencyKey: "bench"})
		}
		st.Close()
		if err != nil {
			return fmt.Errorf("prepaid credit: %w", err)
		}
	}

	produced := map[string]time.Time{}
	var pmu sync.Mutex
	w := &kafka.Writer{Addr: kafka.TCP(broker.Addrs()...), Topic: "sms.submit", Balancer: &kafka.Hash{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: 2 * time.Millisecond, BatchSize: 5000}
	defer w.Close()
	mk := func(i int) kafka.Message {
		prefix := "99559"
		if (i%2 == 1 || onlyBFlag) && !parkMode {
			prefix = "99532"
		}
		id := "b" + strconv.Itoa(i)
		v := `{"id":"` + id + `","account":"acme","from":"ACME","to":"` + prefix + fmt.Sprintf("%07d", i%10_000_000) + `","text":"Your code is 123456. It expires in 5 minutes."}`
		return kafka.Message{Key: []byte(id), Value: []byte(v)}
	}
	if stall {
		a.SetStopAnswering(true)
	}
	if parkMode {
		a.Close() // nothing listens on A's port: its binds fail, its queue is parked
	}
	if !record {
		t0 := time.Now()
		const chunk = 20000
		for i := 0; i < n; i += chunk {
			batch := make([]kafka.Message, 0, chunk)
			for j := i; j < min(i+chunk, n); j++ {
				batch = append(batch, mk(j))
			}
			if err := w.WriteMessages(ctx, batch...); err != nil {
				return fmt.Errorf("produce: %w", err)
			}
		}
		fmt.Fprintf(os.Stderr, "pre-loaded %d records in %s\n", n, time.Since(t0).Round(time.Millisecond))
	}

	cmd, stop, err := rig.StartSmsgate(ctx, bin, cfgPath)
	if err != nil {
		return err
	}
	defer stop()
	pid := cmd.Process.Pid
	var peakRSS int64
	total := func() uint64 { return a.Stats().Submits + b.Stats().Submits }
	if parkMode {
		pool, err := pgxpool.New(ctx, dsn)
		if err != nil {
			return err
		}
		defer pool.Close()
		total = func() uint64 {
			var c int64
			_ = pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE due IS NOT NULL`).Scan(&c)
			return uint64(c)
		}
	}
	var producedN atomic.Int64
	producerDone := make(chan struct{})
	if record {
		go func() {
			defer close(producerDone)
			tick := time.NewTicker(time.Second / 100)
			defer tick.Stop()
			per := max(latencyRate/100, 1)
			// 3 s are produced before the measured part: the consumer
			// group's first join is start-up, not steady-state latency.
			measureFrom := time.Now().Add(3 * time.Second)
			end := measureFrom.Add(duration)
			i := 0
			for time.Now().Before(end) && ctx.Err() == nil {
				<-tick.C
				batch := make([]kafka.Message, per)
				now := time.Now()
				pmu.Lock()
				for j := range batch {
					batch[j] = mk(i)
					if !now.Before(measureFrom) {
						produced[string(batch[j].Key)] = now
					}
					i++
				}
				pmu.Unlock()
				if err := w.WriteMessages(ctx, batch...); err != nil {
					fmt.Fprintln(os.Stderr, "producer:", err)
					return
				}
				producedN.Add(int64(len(batch)))
			}
		}()
	}
	start := time.Now()
	var firstAt time.Time
	var lastCount uint64
	var cpuStart float64
	target := uint64(n)
	if record {
		target = ^uint64(0) // known when the producer finishes
	}
	if stall && !onlyBFlag {
		target = uint64(n / 2)
	}
	for {
		time.Sleep(100 * time.Millisecond)
		if rss := readRSS(pid); rss > peakRSS {
			peakRSS = rss
		}
		c := total()
		if stall || onlyBFlag {
			c = b.Stats().Submits
		}
		if firstAt.IsZero() && c > 0 {
			firstAt = time.Now()
			cpuStart = readCPU(pid)
		}
		lastCount = c
		if record {
			select {
			case <-producerDone:
				target = uint64(producedN.Load())
			default:
			}
		}
		if c >= target {
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("timed out with %d/%d submitted", c, target)
		}
	}
	if receipts {
		deadline := time.Now().Add(2 * time.Minute)
		for a.Stats().ReceiptsAcked+b.Stats().ReceiptsAcked < target && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			if rss := readRSS(pid); rss > peakRSS {
				peakRSS = rss
			}
		}
	}
	if metricsGrep != "" {
		printMetrics(httpAddr, metricsGrep)
	}
	elapsed := time.Since(firstAt)
	cpu := readCPU(pid) - cpuStart
	rate := float64(lastCount) / elapsed.Seconds()
	mode := "submit"
	if receipts {
		mode = "receipts"
	}
	if stall {
		mode = "B while A stalls"
	}
	if parkMode {
		mode = "parked (A down)"
	}
	if onlyBFlag {
		mode = "B alone"
	}
	if respDelay > 0 {
		mode += fmt.Sprintf(", SMSC answers after %s", respDelay)
	}
	fmt.Printf("| %s | %d | %d×%d | %.0f | %.1f s | %d MB | %.2f | %s |\n", mode, lastCount, binds, window, rate,
		elapsed.Seconds(), peakRSS>>20, cpu/float64(lastCount)*100000, time.Since(start).Round(time.Second))
	if receipts {
		fmt.Printf("receipts acked by gateway: %d\n", a.Stats().ReceiptsAcked+b.Stats().ReceiptsAcked)
		if err := printBytes(ctx, dsn, int64(lastCount)); err != nil {
			fmt.Fprintln(os.Stderr, "sizes:", err)
		}
	}
	if record {
		var lat []time.Duration
		slowAt := map[int]int{} // 100 ms bucket of produce time → messages over 100 ms
		pmu.Lock()
		for _, s := range append(a.Submits(), b.Submits()...) {
			if t, ok := produced[idFromDest(s.Dest)]; ok && !t.IsZero() {
				d := s.ReceivedAt.Sub(t)
				lat = append(lat, d)
				if d > 100*time.Millisecond {
					slowAt[int(t.Sub(start)/(100*time.Millisecond))]++
				}
			}
		}
		pmu.Unlock()
		if os.Getenv("PIPELINE_SLOW") != "" {
			var ks []int
			for k := range slowAt {
				ks = append(ks, k)
			}
			sort.Ints(ks)
			for _, k := range ks {
				fmt.Printf("slow (>100ms) produced at %.1fs: %d\n", float64(k)/10, slowAt[k])
			}
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		if len(lat) > 0 {
			q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
			fmt.Printf("latency Kafka append → submit_sm at %d msg/s: n=%d p50=%s p99=%s p999=%s\n", latencyRate, len(lat),
				q(0.5).Round(time.Microsecond), q(0.99).Round(time.Microsecond), q(0.999).Round(time.Microsecond))
		}
	}
	return nil
}

// idFromDest recovers the message id from the destination (the benchmark
// encodes i in the last 7 digits).
func idFromDest(dest string) string {
	i, _ := strconv.Atoi(dest[5:])
	return "b" + strconv.Itoa(i)
}

func readRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// readCPU returns user+system CPU seconds of pid.
func readCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}

var _ = json.Marshal

// printBytes reports the journal's Postgres footprint per message (heap,
// TOAST and indexes of every partition), after a receipts run.
func printBytes(ctx context.Context, dsn string, n int64) error {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CHECKPOINT`); err != nil {
		return err
	}
	rows, err := pool.Query(ctx, `SELECT t, coalesce(sum(pg_table_size(relid)), 0)::int8, coalesce(sum(pg_indexes_size(relid)), 0)::int8
FROM unnest(ARRAY['messages','attempts','receipts','charges','journal_batches']) t, pg_partition_tree(t::regclass)
WHERE isleaf GROUP BY t ORDER BY t`)
	if err != nil {
		return err
	}
	var total int64
	var parts []string
	for rows.Next() {
		var t string
		var heap, idx int64
		if err := rows.Scan(&t, &heap, &idx); err != nil {
			return err
		}
		total += heap + idx
		parts = append(parts, fmt.Sprintf("%s %.0f+%.0f", t, float64(heap)/float64(n), float64(idx)/float64(n)))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	fmt.Printf("Postgres bytes per message (heap+indexes): %.0f (%s)\n", float64(total)/float64(n), strings.Join(parts, ", "))
	return nil
}

func printMetrics(addr, grep string) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		fmt.Fprintln(os.Stderr, "metrics:", err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "smsgate_") && strings.Contains(line, grep) {
			fmt.Println(line)
		}
	}
}
