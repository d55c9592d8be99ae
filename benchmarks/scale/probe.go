package main

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// readRSS returns the resident set of pid in bytes (0 if it is gone).
func readRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	return parseVmRSS(string(b))
}

// parseVmRSS reads VmRSS (kB) from /proc/PID/status text, in bytes.
func parseVmRSS(s string) int64 {
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) < 2 {
				return 0
			}
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || kb < 0 || kb > 1<<40 {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// readCPU returns user+system CPU seconds of pid (0 if it is gone).
func readCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime+stime from /proc/PID/stat text, in seconds
// (clock ticks of 1/100 s, the Linux default USER_HZ). The command name may
// hold spaces and parentheses, so fields are counted after the last ')'.
func parseStatCPU(s string) float64 {
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 > len(s) {
		return 0
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil || !finite(ut) || !finite(st) {
		return 0
	}
	if v := (ut + st) / 100; finite(v) {
		return v
	}
	return 0
}

// finite reports a usable counter reading: not negative, NaN or infinite.
func finite(v float64) bool { return v >= 0 && !math.IsInf(v, 0) }

// readLoad1 returns the 1-minute load average: how busy the shared machine
// was, which the caps' accuracy depends on.
func readLoad1() (float64, bool) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, false
	}
	return parseLoad1(string(b))
}

func parseLoad1(s string) (float64, bool) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil || !finite(v) {
		return 0, false
	}
	return v, true
}

// freeLoopbackAddr reserves a loopback port by listening and closing; the
// gateway binds it moments later (a race only with other processes).
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// metrics is one scrape of the gateway's /metrics.
type metrics map[string]*dto.MetricFamily

var metricsClient = &http.Client{Timeout: 5 * time.Second}

// scrape reads url (Prometheus text format) within a deadline.
func scrape(ctx context.Context, url string) (metrics, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := metricsClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("scrape: %w", err)
	}
	return mfs, nil
}

// sum adds the values of name's series whose labels include match; ok is
// false when the family is absent.
func (m metrics) sum(name string, match map[string]string) (v float64, ok bool) {
	mf := m[name]
	if mf == nil {
		return 0, false
	}
	for _, s := range mf.GetMetric() {
		if !hasLabels(s, match) {
			continue
		}
		switch {
		case s.Gauge != nil:
			v += s.Gauge.GetValue()
		case s.Counter != nil:
			v += s.Counter.GetValue()
		case s.Untyped != nil:
			v += s.Untyped.GetValue()
		}
	}
	return v, true
}

// byLabel returns name's values keyed by label (series with other labels
// matching match).
func (m metrics) byLabel(name, label string, match map[string]string) map[string]float64 {
	out := map[string]float64{}
	mf := m[name]
	if mf == nil {
		return out
	}
	for _, s := range mf.GetMetric() {
		if !hasLabels(s, match) {
			continue
		}
		for _, lp := range s.GetLabel() {
			if lp.GetName() == label {
				out[lp.GetValue()] += s.GetGauge().GetValue() + s.GetCounter().GetValue()
			}
		}
	}
	return out
}

func hasLabels(s *dto.Metric, match map[string]string) bool {
	for k, want := range match {
		found := false
		for _, lp := range s.GetLabel() {
			if lp.GetName() == k && lp.GetValue() == want {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// cpuTimes is the machine's busy and total jiffies from /proc/stat.
func cpuTimes() (busy, total float64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	return parseCPUTimes(string(b))
}

// parseCPUTimes sums the aggregate "cpu" line: busy is everything but idle
// and iowait.
func parseCPUTimes(s string) (busy, total float64) {
	line, _, _ := strings.Cut(s, "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0
	}
	for i, x := range f[1:] {
		v, err := strconv.ParseFloat(x, 64)
		if err != nil || !finite(v) {
			return 0, 0
		}
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	if !finite(total) {
		return 0, 0
	}
	return busy, total
}

// backendPIDs lists the Postgres server processes serving dsn's database
// (the gateway's pool), so their CPU can be told apart from other work on
// the same server.
func backendPIDs(ctx context.Context, dsn string) ([]int, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("backend pids: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		return nil, fmt.Errorf("backend pids: %w", err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, fmt.Errorf("backend pids: %w", err)
	}
	out := make([]int, len(pids))
	for i, p := range pids {
		out[i] = int(p)
	}
	return out, nil
}

// cpuOf sums the CPU seconds of pids (0 for those gone).
func cpuOf(pids []int) map[int]float64 {
	out := make(map[int]float64, len(pids))
	for _, p := range pids {
		out[p] = readCPU(p)
	}
	return out
}

// histo is a histogram's running sum and count.
type histo struct{ sum, count float64 }

// histograms returns name's histograms keyed by label.
func (m metrics) histograms(name, label string) map[string]histo {
	out := map[string]histo{}
	mf := m[name]
	if mf == nil {
		return out
	}
	for _, s := range mf.GetMetric() {
		h := s.GetHistogram()
		if h == nil {
			continue
		}
		for _, lp := range s.GetLabel() {
			if lp.GetName() == label {
				out[lp.GetValue()] = histo{sum: h.GetSampleSum(), count: float64(h.GetSampleCount())}
			}
		}
	}
	return out
}

// renice sets the nice value of every thread of pid (Linux applies nice
// per thread; setpriority on the pid alone changes only its main thread).
func renice(pid, nice int) error {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return fmt.Errorf("renice %d: %w", pid, err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, nice); err != nil {
			return fmt.Errorf("renice %d/%d: %w", pid, tid, err)
		}
	}
	return nil
}

// createDatabase and dropDatabase manage the run's own database through the
// server's maintenance database, so the benchmark does not depend on the
// gateway's packages.
func createDatabase(ctx context.Context, dsn string) error {
	return adminExec(ctx, dsn, func(name string) string { return `CREATE DATABASE ` + name })
}

func dropDatabase(ctx context.Context, dsn string) error {
	return adminExec(ctx, dsn, func(name string) string { return `DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)` })
}

func adminExec(ctx context.Context, dsn string, stmt func(quotedName string) string) error {
	u, err := url.Parse(dsn)
	if err != nil {
		return fmt.Errorf("dsn: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	admin := *u
	admin.Path = "/postgres"
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, stmt(pgx.Identifier{name}.Sanitize())); err != nil {
		return fmt.Errorf("postgres %s: %w", name, err)
	}
	return nil
}

// timerLateness measures, in this process, how late a 10 ms sleep wakes up
// until stop closes: on an oversubscribed machine the gateway's own timers
// (its TPS gates sleep the same way) are late by similar amounts.
type timerLateness struct {
	samples []time.Duration
	done    chan struct{}
}

func startTimerProbe(stop <-chan struct{}) *timerLateness {
	t := &timerLateness{done: make(chan struct{})}
	go func() {
		defer close(t.done)
		const d = 10 * time.Millisecond
		tm := time.NewTimer(d)
		defer tm.Stop()
		for len(t.samples) < 100_000 { // bound: ~17 min of samples
			start := time.Now()
			tm.Reset(d)
			select {
			case <-stop:
				return
			case <-tm.C:
			}
			t.samples = append(t.samples, time.Since(start)-d)
		}
	}()
	return t
}

// result waits for the probe to end and returns p50, p99 and the maximum.
func (t *timerLateness) result() (p50, p99, maxLate time.Duration, n int) {
	<-t.done
	s := append([]time.Duration(nil), t.samples...)
	if len(s) == 0 {
		return 0, 0, 0, 0
	}
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2], s[len(s)*99/100], s[len(s)-1], len(s)
}
