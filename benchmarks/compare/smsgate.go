package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"

	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/pkg/kafkabroker"
)

// benchDB creates a fresh database; raw mode turns off synchronous_commit
// for it (commits return before the WAL reaches disk: a crash may lose the
// last few hundred milliseconds of accepted work — the benchmark's "fastest
// settings", not a production default).
func benchDB(ctx context.Context, pgBase string, asyncCommit bool) (dsn string, drop func(), err error) {
	var rb [4]byte
	_, _ = rand.Read(rb[:])
	name := "smsgate_compare_" + hex.EncodeToString(rb[:])
	u, err := url.Parse(pgBase)
	if err != nil {
		return "", nil, fmt.Errorf("-pg: %w", err)
	}
	u.Path = "/" + name
	dsn = u.String()
	if err := store.EnsureDatabase(ctx, dsn); err != nil {
		return "", nil, err
	}
	drop = func() {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := store.DropDatabase(dctx, dsn); err != nil {
			fmt.Fprintf(os.Stderr, "compare: drop %s: %v\n", name, err)
		}
	}
	if asyncCommit {
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			drop()
			return "", nil, fmt.Errorf("postgres: %w", err)
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" SET synchronous_commit = off"); err != nil {
			drop()
			return "", nil, fmt.Errorf("synchronous_commit: %w", err)
		}
	}
	return dsn, drop, nil
}

func smsgateConfig(brokers []string, dsn, smscAddr, httpAddr string, binds, window int, billing bool) (string, error) {
	host, port, err := net.SplitHostPort(smscAddr)
	if err != nil {
		return "", err
	}
	// The account's only rate matches no destination when billing is off:
	// no ledger rows (what the raw mode leaves out).
	ratePrefix := "995"
	if !billing {
		ratePrefix = "1"
	}
	return fmt.Sprintf(`kafka: {brokers: [%q], group: compare}
postgres: {dsn: %q}
http: {listen: %q}
operators:
  - {name: op, host: %s, port: %s, system_id: acme, password: pw, binds: %d, window: %d, tps: 1000000}
routes:
  - {prefix: "99559", operator: op, cost: 0.01, currency: EUR}
accounts:
  - {name: acme, senders: [ACME], rates: [{prefix: %q, price: 0.03, currency: EUR}]}
dlr: {timeout: 1h}
`, strings.Join(brokers, ","), dsn, httpAddr, host, port, binds, window, ratePrefix), nil
}

func submitRecord(i int, dlr bool) kafka.Message {
	id := "c" + strconv.Itoa(i)
	v := `{"id":"` + id + `","account":"acme","from":"ACME","to":"` + destination(i) + `","text":"` + messageText + `","dlr":` + strconv.FormatBool(dlr) + `}`
	return kafka.Message{Key: []byte(id), Value: []byte(v)}
}

func newWriter(brokers []string) *kafka.Writer {
	return &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: "sms.submit", Balancer: &kafka.Hash{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: 2 * time.Millisecond, BatchSize: 5000,
		WriteTimeout: 30 * time.Second, ReadTimeout: 30 * time.Second}
}

// smsgateEnv is what one smsgate run needs around the binary.
type smsgateEnv struct {
	dir    string
	http   string // the gateway's HTTP listen address
	dsn    string
	broker *kafkabroker.Broker
	drop   func()
}

func newSmsgateEnv(ctx context.Context, o opts, asyncCommit bool) (*smsgateEnv, error) {
	dir, err := os.MkdirTemp("", "compare-smsgate-")
	if err != nil {
		return nil, err
	}
	dsn, drop, err := benchDB(ctx, o.pg, asyncCommit)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	broker, err := kafkabroker.Start(kafkabroker.Options{Addr: "127.0.0.1:0", Topics: map[string]int{
		"sms.submit": 8, "sms.status": 8, "sms.mo": 1, "sms.dlq": 1}})
	if err != nil {
		drop()
		os.RemoveAll(dir)
		return nil, err
	}
	return &smsgateEnv{dir: dir, dsn: dsn, broker: broker, drop: drop}, nil
}

func (e *smsgateEnv) close(keepDir bool) {
	e.broker.Close()
	e.drop()
	if !keepDir {
		os.RemoveAll(e.dir)
	}
}

// startSmsgate writes the config and starts `smsgate run`.
func (e *smsgateEnv) startSmsgate(ctx context.Context, o opts, smscAddr string, binds int, billing bool) (*proc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	e.http = "127.0.0.1:" + strconv.Itoa(port)
	cfg, err := smsgateConfig(e.broker.Addrs(), e.dsn, smscAddr, e.http, binds, o.window, billing)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(e.dir, "smsgate.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	return startProc(ctx, filepath.Join(e.dir, "smsgate.log"), o.bin, "run", "-config", path, "-log-level", "warn")
}

// waitReady polls the gateway's /readyz until it answers 200.
func waitReady(ctx context.Context, addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		if resp, err := client.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("smsgate not ready within %v", d)
}

// runSmsgate pre-loads n records into sms.submit, starts the SMSC and then
// smsgate, and measures the drain at the SMSC.
func runSmsgate(ctx context.Context, o opts, simKind, mode string, binds int) (res result, err error) {
	res = result{system: "smsgate", mode: mode, sim: simKind, binds: binds, n: o.n, correlated: -1}
	ctx, cancel := context.WithTimeout(ctx, o.runTimeout)
	defer cancel()
	receipts := mode == modeReceipts
	env, err := newSmsgateEnv(ctx, o, mode == modeRaw)
	if err != nil {
		return res, err
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w (logs kept in %s)", err, env.dir)
		} else if res.note != "" {
			res.note += " (logs kept in " + env.dir + ")"
		}
		env.close(err != nil || res.note != "")
	}()

	t0 := time.Now()
	w := newWriter(env.broker.Addrs())
	const chunk = 20000
	for i := 0; i < o.n; i += chunk {
		batch := make([]kafka.Message, 0, chunk)
		for j := i; j < min(i+chunk, o.n); j++ {
			batch = append(batch, submitRecord(j, receipts))
		}
		if err := w.WriteMessages(ctx, batch...); err != nil {
			w.Close()
			return res, fmt.Errorf("produce: %w", err)
		}
	}
	w.Close()
	res.preload = time.Since(t0)

	sim, err := startSMSC(ctx, simKind, env.dir, o)
	if err != nil {
		return res, err
	}
	defer sim.p.stop(5 * time.Second)

	var sc *statusConsumer
	if receipts {
		sc = startStatusConsumer(ctx, env.broker.Addrs(), false)
		defer sc.stop()
	}
	gw, err := env.startSmsgate(ctx, o, sim.addr, binds, mode != modeRaw)
	if err != nil {
		return res, err
	}
	defer gw.stop(30 * time.Second)
	smp := newSampler(200*time.Millisecond, gw.pid())
	pg, err := startPGSampler(ctx, env.dsn)
	if err != nil {
		smp.finish()
		return res, err
	}
	// CPU is counted from readiness: migrations and partition creation at
	// start are not per-message work (Kannel's start has no such step).
	if err := waitReady(ctx, env.http, 60*time.Second); err != nil {
		smp.finish()
		pg.finish()
		return res, fmt.Errorf("%w\n%s", err, logTail(filepath.Join(env.dir, "smsgate.log"), 2000))
	}
	smp.mark()
	pg.mark(ctx)
	var correlated func() (int, time.Time)
	if receipts {
		correlated = sc.delivered
	}
	merr := measure(ctx, sim, o, &res, correlated)
	var gwStart, pgStart float64
	res.cpu, gwStart, res.rss = smp.finishMarked()
	res.pgCPU, pgStart = pg.finish()
	res.startupCPU = gwStart + pgStart
	if merr != nil {
		return res, fmt.Errorf("%w\n%s", merr, logTail(filepath.Join(env.dir, "smsgate.log"), 2000))
	}
	if gw.exited() {
		return res, fmt.Errorf("smsgate exited during the run\n%s", logTail(filepath.Join(env.dir, "smsgate.log"), 2000))
	}
	return res, nil
}
