// Command compare runs smsgate and Kannel side by side against the same SMSC
// simulator, with the same message count, window and bind count, and prints
// one table (issue #9). benchmarks/compare.sh installs what it needs and
// runs it; see that script for the whole procedure.
//
// Modes:
//
//	raw       Kannel without store; smsgate with its fastest settings
//	          (synchronous_commit=off on the benchmark database, no ledger)
//	durable   Kannel with its file store; smsgate with Postgres (defaults)
//	receipts  Kannel with store, dlr-mask 31 and a dlr-url; smsgate with
//	          Postgres, sms.status and the ledger; a receipt for every message
//
// Both systems start with the whole batch queued (Kannel: mtbatch into
// bearerbox while the SMSC is down; smsgate: records in sms.submit) and the
// rate is measured at the SMSC.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	modeRaw      = "raw"
	modeDurable  = "durable"
	modeReceipts = "receipts"
)

// targets are the smsgate/Kannel ratios per mode.
var targets = map[string]float64{modeRaw: 2, modeDurable: 3, modeReceipts: 5}

type opts struct {
	n, window       int
	binds           []int
	modes, sims     []string
	systems         []string
	bin, nodeSMSC   string
	pg              string
	out             string
	runTimeout      time.Duration
	latencyRate     int
	latencyDuration time.Duration
	latency         bool
	latencySim      string
	commandLine     string
	machine         string
}

func main() {
	var o opts
	var binds, modes, sims, systems string
	flag.IntVar(&o.n, "n", 200000, "messages per run")
	flag.IntVar(&o.window, "window", 100, "window per bind (Kannel: max-pending-submits)")
	flag.StringVar(&binds, "binds", "1,2", "bind counts, comma-separated")
	flag.StringVar(&modes, "modes", "raw,durable,receipts", "modes, comma-separated")
	flag.StringVar(&sims, "sims", "go,node", "SMSC simulators: go (smsgate smsc-sim), node (test/interop/smsc.js, node-smpp)")
	flag.StringVar(&systems, "systems", "kannel,smsgate", "systems to run")
	flag.StringVar(&o.bin, "bin", "bin/smsgate", "smsgate binary")
	flag.StringVar(&o.nodeSMSC, "node-smsc", "test/interop/smsc.js", "node-smpp SMSC script")
	flag.StringVar(&o.pg, "pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "Postgres server (a database is created and dropped per run)")
	flag.StringVar(&o.out, "out", "benchmarks/out/compare.md", "also write the table here")
	flag.DurationVar(&o.runTimeout, "run-timeout", 8*time.Minute, "bound of one run")
	timeout := flag.Duration("timeout", 60*time.Minute, "bound of the whole comparison")
	flag.BoolVar(&o.latency, "latency", true, "also run smsgate's latency run at half its measured capacity")
	flag.IntVar(&o.latencyRate, "latency-rate", 0, "latency run rate in msg/s (0 = half the measured receipts-mode capacity, 1 bind, go simulator)")
	flag.DurationVar(&o.latencyDuration, "latency-duration", 20*time.Second, "latency run length")
	flag.StringVar(&o.machine, "machine", "", "machine description for the header")
	flag.Parse()
	o.binds = nil
	for _, b := range splitList(binds) {
		v, err := strconv.Atoi(b)
		if err != nil || v < 1 {
			fatalf("-binds: %q is not a positive integer", b)
		}
		o.binds = append(o.binds, v)
	}
	o.modes, o.sims, o.systems = splitList(modes), splitList(sims), splitList(systems)
	for _, m := range o.modes {
		if _, ok := targets[m]; !ok {
			fatalf("-modes: unknown mode %q", m)
		}
	}
	o.commandLine = strings.Join(os.Args, " ")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "compare: "+format+"\n", a...)
	os.Exit(1)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func run(ctx context.Context, o opts) error {
	started := time.Now()
	var results []result
	for _, sim := range o.sims {
		for _, mode := range o.modes {
			for _, b := range o.binds {
				for _, sys := range o.systems {
					if ctx.Err() != nil {
						return fmt.Errorf("stopped: %w", ctx.Err())
					}
					fmt.Fprintf(os.Stderr, "compare: %s %s %d bind(s), %s simulator, n=%d ...\n", sys, mode, b, sim, o.n)
					var r result
					var err error
					switch sys {
					case "kannel":
						r, err = runKannel(ctx, o, sim, mode, b)
					case "smsgate":
						r, err = runSmsgate(ctx, o, sim, mode, b)
					default:
						return fmt.Errorf("unknown system %q", sys)
					}
					r.err = err
					if err != nil {
						fmt.Fprintf(os.Stderr, "compare:   FAILED: %v\n", err)
					} else {
						fmt.Fprintf(os.Stderr, "compare:   %.0f msg/s at the SMSC, correlated %d, peak RSS %d MB, CPU %.1f s (+pg %.1f s; startup before that %.1f s), preload %s\n",
							r.rate, r.correlated, r.rss>>20, r.cpu, r.pgCPU, r.startupCPU, r.preload.Round(time.Millisecond))
					}
					results = append(results, r)
				}
			}
		}
	}
	var lat *latencyResult
	if o.latency && has(o.systems, "smsgate") {
		rate := o.latencyRate
		if rate == 0 {
			for _, r := range results {
				if r.system == "smsgate" && r.mode == modeReceipts && r.binds == 1 && r.sim == "go" && r.err == nil {
					rate = int(r.e2eRate / 2)
				}
			}
		}
		if rate > 0 {
			fmt.Fprintf(os.Stderr, "compare: smsgate latency run at %d msg/s for %s ...\n", rate, o.latencyDuration)
			l, err := runLatency(ctx, o, rate)
			if err != nil {
				fmt.Fprintf(os.Stderr, "compare:   latency run FAILED: %v\n", err)
			} else {
				lat = &l
			}
		} else {
			fmt.Fprintln(os.Stderr, "compare: no latency run (needs -latency-rate or a receipts run with 1 bind on the go simulator)")
		}
	}
	var sb strings.Builder
	writeReport(&sb, o, results, lat, started, time.Now())
	fmt.Print(sb.String())
	if o.out != "" {
		if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(o.out, []byte(sb.String()), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "compare: table written to %s\n", o.out)
	}
	return nil
}

// find returns the row of sys for the same simulator, mode and binds as r.
func find(results []result, sys string, r result) (result, bool) {
	for _, x := range results {
		if x.system == sys && x.sim == r.sim && x.mode == r.mode && x.binds == r.binds && x.err == nil {
			return x, true
		}
	}
	return result{}, false
}

func writeReport(w io.Writer, o opts, results []result, lat *latencyResult, started, ended time.Time) {
	fmt.Fprintf(w, "`%s` — %s, %s; wall %s\n\n", o.commandLine, started.Format(time.RFC1123), o.machine, ended.Sub(started).Round(time.Second))
	fmt.Fprintf(w, "n = %d per run, window %d, pre-loaded queue; msg/s counted at the SMSC simulator (steady state: first → last reading below n)\n\n", o.n, o.window)
	fmt.Fprintln(w, "| SMSC sim | system | mode | binds | msg/s at SMSC | first submit → last receipt, msg/s | receipts correlated | SMSC sim CPU (cores) | peak RSS | CPU s / 100k (gateway) | + Postgres backends | smsgate/Kannel |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		if r.err != nil {
			fmt.Fprintf(w, "| %s | %s | %s | %d | failed: %s | | | | | | | |\n", r.sim, r.system, r.mode, r.binds, firstLine(r.err.Error()))
			continue
		}
		e2e, corr := "–", "–"
		if r.correlated >= 0 {
			e2e = fmt.Sprintf("%.0f", r.e2eRate)
			corr = fmt.Sprintf("%d / %d (%.1f%%)", r.correlated, r.n, 100*float64(r.correlated)/float64(r.n))
		}
		pg := "–"
		ratio := ""
		if r.system == "smsgate" {
			pg = fmt.Sprintf("%.2f", r.pgCPUPer100k())
			if k, ok := find(results, "kannel", r); ok && k.rate > 0 {
				ratio = fmt.Sprintf("%.2f×", r.rate/k.rate)
				if r.mode == modeReceipts && k.e2eRate > 0 {
					ratio += fmt.Sprintf(" (e2e %.2f×)", r.e2eRate/k.e2eRate)
				}
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %d | %.0f | %s | %s | %.2f | %d MB | %.2f | %s | %s |\n",
			r.sim, r.system, r.mode, r.binds, r.rate, e2e, corr, r.simCPU, r.rss>>20, r.cpuPer100k(), pg, ratio)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "CPU: Kannel's bearerbox (+ smsbox) from before the pre-load (accepting the batch is its ingest); smsgate's process and its Postgres backends from /readyz answering 200 (ingest from Kafka included; migrations and partition creation at start are not).")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Targets (smsgate/Kannel in the same run): raw ≥ 2×, durable ≥ 3×, receipts ≥ 5× with 100% correlated; CPU per 100k below Kannel's.")
	fmt.Fprintln(w)
	for _, r := range results {
		if r.system != "smsgate" || r.err != nil {
			continue
		}
		k, ok := find(results, "kannel", r)
		if !ok || k.rate == 0 {
			continue
		}
		ratio := r.rate / k.rate
		met := ratio >= targets[r.mode]
		if r.mode == modeReceipts {
			met = met && r.correlated == r.n && k.correlated == k.n
		}
		cpuMet := r.cpuPer100k() < k.cpuPer100k()
		cpuAllMet := r.cpuPer100k()+r.pgCPUPer100k() < k.cpuPer100k()
		fmt.Fprintf(w, "- %s sim, %s, %d bind(s): %.2f× (target %.0f×) %s; CPU/100k smsgate %.2f (+Postgres %.2f) vs Kannel %.2f: %s without Postgres, %s with\n",
			r.sim, r.mode, r.binds, ratio, targets[r.mode], metWord(met), r.cpuPer100k(), r.pgCPUPer100k(), k.cpuPer100k(),
			metWord(cpuMet), metWord(cpuAllMet))
	}
	for _, r := range results {
		if r.note != "" && r.err == nil {
			fmt.Fprintf(w, "- note (%s %s %d bind(s), %s sim): %s\n", r.system, r.mode, r.binds, r.sim, r.note)
		}
	}
	if lat != nil {
		fmt.Fprintln(w)
		lat.write(w)
	}
}

func metWord(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.ReplaceAll(s, "|", "/")
}
