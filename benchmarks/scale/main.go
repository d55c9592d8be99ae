// Command scale measures one smsgate process holding many binds across many
// operators, each with its own TPS cap (issue #9): 100 simulated operators ×
// 10 binds by default, caps spread over 10..100 msg/s. Every operator's
// queue is pre-loaded so it stays saturated; after ingest has caught up and
// a warm-up, each operator's achieved submit_sm rate is counted at its own
// simulator over the window and compared with its cap. smsgate runs as its
// own process, so RSS, CPU and goroutines are its own.
//
//	go build -o bin/smsgate ./cmd/smsgate
//	go run ./benchmarks/scale -bin bin/smsgate
//
// Postgres must accept trust connections on 127.0.0.1:5432; a fresh database
// is created and dropped.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/smsgate/smsgate/pkg/kafkabroker"
	"github.com/smsgate/smsgate/pkg/smppsim"
)

type params struct {
	bin            string
	operators      int
	binds, window  int
	minTPS, maxTPS int
	warmup         time.Duration
	measure        time.Duration
	slack          time.Duration
	bindWait       time.Duration
	timeout        time.Duration
	tableOut       string
	gaps           bool
	waitIngest     bool
	inProcess      bool
	nice           int
	prof           profiler
}

func main() {
	var p params
	flag.StringVar(&p.bin, "bin", "bin/smsgate", "smsgate binary")
	flag.IntVar(&p.operators, "operators", 100, "simulated operators (one simulator each)")
	flag.IntVar(&p.binds, "binds", 10, "binds per operator")
	flag.IntVar(&p.window, "window", 10, "window per bind")
	flag.IntVar(&p.minTPS, "min-tps", 10, "lowest operator cap (msg/s)")
	flag.IntVar(&p.maxTPS, "max-tps", 100, "highest operator cap (msg/s)")
	flag.DurationVar(&p.warmup, "warmup", 20*time.Second, "after the first submit_sm before measuring")
	flag.DurationVar(&p.measure, "measure", 60*time.Second, "measuring window")
	flag.DurationVar(&p.slack, "slack", 40*time.Second, "extra seconds of traffic queued per operator beyond warm-up and window")
	flag.DurationVar(&p.bindWait, "bind-wait", 60*time.Second, "how long to wait for every bind before measuring anyway")
	flag.DurationVar(&p.timeout, "timeout", 12*time.Minute, "give up after")
	flag.StringVar(&p.tableOut, "table", "", "also write the per-operator table to this file")
	flag.BoolVar(&p.gaps, "gaps", false, "record every submit_sm at the simulators and report each operator's stalls (costs memory and CPU here)")
	flag.BoolVar(&p.waitIngest, "wait-ingest", false, "start the window only once every record is ingested (default: ingest may still run; saturation is checked through the queue gauges)")
	flag.BoolVar(&p.inProcess, "inprocess", false, "run the gateway inside this process instead of -bin (for -trace / -cpuprofile; RSS and CPU then include the harness)")
	flag.StringVar(&p.prof.tracePath, "trace", "", "with -inprocess: write a runtime trace of the window's first -profile-for")
	flag.StringVar(&p.prof.cpuPath, "cpuprofile", "", "with -inprocess: write a CPU profile of the window's first -profile-for")
	flag.DurationVar(&p.prof.dur, "profile-for", 10*time.Second, "length of -trace / -cpuprofile")
	flag.IntVar(&p.nice, "nice", 0, "diagnosis on a shared machine: set this nice value (e.g. -10) on smsgate, its Postgres backends and this process, so other work competes less; 0 = leave as is")
	flag.Parse()
	if !p.inProcess && (p.prof.tracePath != "" || p.prof.cpuPath != "") {
		fmt.Fprintln(os.Stderr, "scale: -trace and -cpuprofile need -inprocess")
		os.Exit(2)
	}
	if err := run(p); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

func run(p params) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()

	seconds := (p.warmup + p.measure + p.slack).Seconds()
	ops, err := planOperators(p.operators, p.minTPS, p.maxTPS, seconds)
	if err != nil {
		return err
	}
	var rb [4]byte
	_, _ = rand.Read(rb[:])
	dsn := "postgres://postgres@127.0.0.1:5432/smsgate_scale_" + hex.EncodeToString(rb[:]) + "?sslmode=disable"
	if err := createDatabase(ctx, dsn); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	defer func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer dcancel()
		if err := dropDatabase(dctx, dsn); err != nil {
			fmt.Fprintln(os.Stderr, "scale: drop database:", err)
		}
	}()

	broker, err := kafkabroker.Start(kafkabroker.Options{Addr: "127.0.0.1:0", Topics: map[string]int{
		"sms.submit": 8, "sms.status": 8, "sms.mo": 1, "sms.dlq": 1}})
	if err != nil {
		return err
	}
	defer broker.Close()

	// One simulator per operator: each counts its own submit_sm, so an
	// operator's rate is read from its own counter, not inferred.
	sims := make([]*smppsim.Server, len(ops))
	defer func() {
		for _, s := range sims {
			if s != nil {
				_ = s.Close()
			}
		}
	}()
	for i := range ops {
		s, err := smppsim.Start(smppsim.Options{Addr: "127.0.0.1:0", SystemID: ops[i].Name, NoReceipts: true,
			RecordSubmits: p.gaps, MaxRecorded: 2_000_000})
		if err != nil {
			return err
		}
		sims[i] = s
		ops[i].Host, ops[i].Port, _ = net.SplitHostPort(s.Addr())
	}

	httpAddr, err := freeLoopbackAddr()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "smsgate-scale")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfgPath := filepath.Join(dir, "smsgate.yml")
	if err := os.WriteFile(cfgPath, []byte(configYAML(ops, broker.Addrs()[0], dsn, httpAddr, p.binds, p.window)), 0o600); err != nil {
		return err
	}

	recs := records(ops)
	t0 := time.Now()
	if err := produce(ctx, broker.Addrs(), recs); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "pre-loaded %d records for %d operators (caps %d..%d, sum %d msg/s, %.0f s each) in %s\n",
		len(recs), len(ops), p.minTPS, p.maxTPS, sumTPS(ops), seconds, time.Since(t0).Round(time.Millisecond))

	exited := make(chan error, 1)
	pid := os.Getpid()
	if p.inProcess {
		stopGW, err := startInProcess(ctx, cfgPath, httpAddr, exited)
		if err != nil {
			return err
		}
		defer stopGW()
	} else {
		// The gateway gets SIGINT when ctx ends (timeout or our own stop)
		// and is killed if it has not exited 30 s later.
		gctx, gcancel := context.WithCancel(ctx)
		cmd := exec.CommandContext(gctx, p.bin, "run", "-config", cfgPath, "-log-level", "warn")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
		cmd.WaitDelay = 30 * time.Second
		if err := cmd.Start(); err != nil {
			gcancel()
			return fmt.Errorf("start %s: %w", p.bin, err)
		}
		go func() { exited <- cmd.Wait() }()
		defer func() {
			gcancel()
			if err := <-exited; err != nil && !isInterruptExit(err) {
				fmt.Fprintln(os.Stderr, "scale: smsgate exit:", err)
			}
		}()
		pid = cmd.Process.Pid
	}

	res, err := observe(ctx, &p, ops, sims, pid, "http://"+httpAddr+"/metrics", dsn, len(recs), exited)
	if err != nil {
		return err
	}
	return res.print(os.Stdout, p)
}

// isInterruptExit reports an exit caused by our own SIGINT (status 130 or
// the signal itself).
func isInterruptExit(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGINT {
		return true
	}
	return ee.ExitCode() == 130
}

// produce writes the records to sms.submit in chunks.
func produce(ctx context.Context, addrs []string, recs []kafka.Message) error {
	w := &kafka.Writer{Addr: kafka.TCP(addrs...), Topic: "sms.submit", Balancer: &kafka.Hash{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: 2 * time.Millisecond, BatchSize: 5000,
		WriteTimeout: 30 * time.Second}
	defer w.Close()
	const chunk = 20000
	for i := 0; i < len(recs); i += chunk {
		if err := w.WriteMessages(ctx, recs[i:min(i+chunk, len(recs))]...); err != nil {
			return fmt.Errorf("produce: %w", err)
		}
	}
	return nil
}
