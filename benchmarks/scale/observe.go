package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sort"
	"time"

	"github.com/smsgate/smsgate/pkg/smppsim"
)

// result is everything one run measured.
type result struct {
	ops []opResult
	sum summary

	bindsWant        int
	bindsEnd         int     // open at the simulators when the window ended
	bindsMin         int     // fewest open during the window
	bindsUpGauge     float64 // smsgate_smpp_binds_up summed, last scrape
	allBoundAfter    time.Duration
	firstSubmitAfter time.Duration
	ingestDoneAfter  time.Duration // -1: not known (metric absent)
	window           time.Duration

	peakRSS, endRSS    int64
	goroutinesEnd      float64
	goroutinesPeak     float64
	cpuCores           float64 // smsgate CPU seconds per second over the window
	simTotalAtEnd      uint64
	submitResults      map[string]float64 // smsgate_dispatch_parts_total by result, whole run
	throttledAtSims    uint64
	unansweredAtSims   uint64
	reconnects         float64
	slotErrors         float64 // smsgate_bind_slot_errors_total at the end, -1 if absent
	recordsPreloaded   int
	scrapeFailures     int
	stalls             []stallStats
	pauses             *pauseStats
	late50, late99     time.Duration // lateness of a 10 ms sleep in this process over the window
	lateMax            time.Duration
	lateN              int
	batches            map[string]histo // Postgres batch transactions in the window, by kind
	loadSum            float64          // 1-minute load average, summed over the window's samples
	loadN              int
	selfCores          float64 // this benchmark process (broker + simulators) over the window
	pgCores            float64 // Postgres backends of the benchmark's database over the window
	machineBusy        float64 // share of all CPUs busy over the window
	queueSampleWindows int     // scrapes inside the window that carried queue gauges
}

// observe samples the simulators every second and the gateway's /metrics
// every other second until the window is over. It returns early when ctx
// ends or the gateway exits (the exit is put back on exited for the caller).
func observe(ctx context.Context, p *params, ops []operator, sims []*smppsim.Server, pid int, metricsURL, dsn string,
	records int, exited chan error) (*result, error) {
	r := &result{bindsWant: len(ops) * p.binds, ingestDoneAfter: -1, bindsMin: math.MaxInt, recordsPreloaded: records}
	start := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()

	var firstAt, allBoundAt, ingestAt, winStart time.Time
	var cpu0, self0, busy0, total0 float64
	var pg0 map[int]float64
	var batches0, lat0 map[string]histo
	inflightSum := make([]float64, len(ops))
	inflightN := 0
	maxSending := make([]float64, len(ops))
	samples := make([][]sample, len(ops))
	minQueued := make([]float64, len(ops))
	for i := range minQueued {
		minQueued[i] = -1
	}
	phase := "waiting for the first submit_sm"
	defer p.prof.tick(true)
	stopProbe := make(chan struct{})
	var probe *timerLateness
	defer func() {
		close(stopProbe)
		if probe != nil {
			probe.result() // wait for its goroutine
		}
	}()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: %w (after %s)", phase, ctx.Err(), time.Since(start).Round(time.Second))
		case err := <-exited:
			exited <- err
			return nil, fmt.Errorf("%s: smsgate exited early: %v", phase, err)
		case <-tick.C:
		}
		now := time.Now()
		rss := readRSS(pid)
		r.peakRSS = max(r.peakRSS, rss)

		cur := make([]sample, len(sims))
		binds := 0
		var total uint64
		for i, s := range sims {
			st := s.Stats()
			cur[i] = sample{at: time.Now(), n: st.Submits}
			binds += st.BindsCurrent
			total += st.Submits
		}
		if firstAt.IsZero() && total > 0 {
			firstAt = now
			p.applyNice(ctx, pid, dsn)
			r.firstSubmitAfter = now.Sub(start)
		}
		if allBoundAt.IsZero() && binds >= r.bindsWant {
			allBoundAt = now
			r.allBoundAfter = now.Sub(start)
		}

		// /metrics every other second: the gateway samples its queue gauges
		// only every 5 s, and a scrape of ~100 operators costs CPU.
		var m metrics
		if n%2 == 0 {
			var err error
			if m, err = scrape(ctx, metricsURL); err != nil {
				r.scrapeFailures++
				m = nil
			}
		}
		if m != nil {
			if g, ok := m.sum("go_goroutines", nil); ok {
				r.goroutinesPeak = max(r.goroutinesPeak, g)
				r.goroutinesEnd = g
			}
			if v, ok := m.sum("smsgate_smpp_binds_up", nil); ok {
				r.bindsUpGauge = v
			}
			if ingestAt.IsZero() {
				if v, ok := m.sum("smsgate_ingest_records_total", nil); ok && v >= float64(records) {
					ingestAt = now
					r.ingestDoneAfter = now.Sub(start)
				}
			}
		}

		if winStart.IsZero() {
			ingested := !p.waitIngest || !ingestAt.IsZero() || (m != nil && m["smsgate_ingest_records_total"] == nil)
			bound := !allBoundAt.IsZero() || now.Sub(start) >= p.bindWait
			switch {
			case firstAt.IsZero():
				phase = "waiting for the first submit_sm"
			case !ingested:
				phase = "waiting for ingest to finish"
			case !bound:
				phase = "waiting for every bind"
			case now.Sub(firstAt) < p.warmup:
				phase = "warming up"
			default:
				winStart = now
				p.applyNice(ctx, pid, dsn) // again: the pools may have grown
				cpu0 = readCPU(pid)
				p.prof.start()
				probe = startTimerProbe(stopProbe)
				if bm, err := scrape(ctx, metricsURL); err == nil {
					batches0 = bm.histograms("smsgate_postgres_batch_seconds", "kind")
					lat0 = bm.histograms("smsgate_smpp_response_latency_seconds", "operator")
				}
				self0 = readCPU(os.Getpid())
				busy0, total0 = cpuTimes()
				if pids, err := backendPIDs(ctx, dsn); err == nil {
					pg0 = cpuOf(pids)
				} else {
					fmt.Fprintln(os.Stderr, "scale:", err)
				}
				phase = "measuring"
				fmt.Fprintf(os.Stderr, "measuring from %s after start: %d binds open at the simulators, RSS %d MB\n",
					now.Sub(start).Round(time.Second), binds, rss>>20)
			}
			if winStart.IsZero() {
				continue
			}
		}

		p.prof.tick(false)
		for i := range cur {
			samples[i] = append(samples[i], cur[i])
		}
		r.bindsMin = min(r.bindsMin, binds)
		if l, ok := readLoad1(); ok {
			r.loadSum += l
			r.loadN++
		}
		if m != nil {
			q := m.byLabel("smsgate_queue_messages", "operator", map[string]string{"state": "queued"})
			infl := m.byLabel("smsgate_smpp_window_inflight", "operator", nil)
			if len(infl) > 0 {
				inflightN++
				for i, o := range ops {
					inflightSum[i] += infl[o.Name]
				}
			}
			sending := m.byLabel("smsgate_queue_messages", "operator", map[string]string{"state": "sending"})
			for i, o := range ops {
				if v, ok := sending[o.Name]; ok {
					maxSending[i] = max(maxSending[i], v)
				}
			}
			if len(q) > 0 {
				r.queueSampleWindows++
				for i, o := range ops {
					if v, ok := q[o.Name]; ok && (minQueued[i] < 0 || v < minQueued[i]) {
						minQueued[i] = v
					}
				}
			}
		}
		if now.Sub(winStart) < p.measure {
			continue
		}

		// Window over: final readings.
		r.window = now.Sub(winStart)
		secs := r.window.Seconds()
		r.cpuCores = (readCPU(pid) - cpu0) / secs
		r.selfCores = (readCPU(os.Getpid()) - self0) / secs
		if busy1, total1 := cpuTimes(); total1 > total0 {
			r.machineBusy = (busy1 - busy0) / (total1 - total0)
		}
		if pg0 != nil {
			if pids, err := backendPIDs(ctx, dsn); err == nil {
				for p, c := range cpuOf(pids) {
					r.pgCores += (c - pg0[p]) / secs // a backend born in the window counts from 0
				}
			}
		}
		r.endRSS = rss
		r.bindsEnd = binds
		r.simTotalAtEnd = total
		for i, o := range ops {
			or := measure(o.Name, o.TPS, samples[i])
			or.MinQueued = minQueued[i]
			or.MaxSending = maxSending[i]
			or.MeanInflight = -1
			if inflightN > 0 {
				or.MeanInflight = inflightSum[i] / float64(inflightN)
			}
			or.Left = int64(o.Messages) - int64(cur[i].n)
			r.ops = append(r.ops, or)
		}
		for _, s := range sims {
			st := s.Stats()
			r.throttledAtSims += st.Throttled
			r.unansweredAtSims += st.Unanswered
		}
		if fm, err := scrape(ctx, metricsURL); err == nil {
			r.submitResults = fm.byLabel("smsgate_dispatch_parts_total", "result", nil)
			if lat0 != nil {
				lat := fm.histograms("smsgate_smpp_response_latency_seconds", "operator")
				for i := range r.ops {
					h, h0 := lat[r.ops[i].Name], lat0[r.ops[i].Name]
					if n := h.count - h0.count; n > 0 {
						r.ops[i].RespLatency = time.Duration((h.sum - h0.sum) / n * float64(time.Second))
					}
				}
			}
			if batches0 != nil {
				r.batches = map[string]histo{}
				for k, h := range fm.histograms("smsgate_postgres_batch_seconds", "kind") {
					r.batches[k] = histo{sum: h.sum - batches0[k].sum, count: h.count - batches0[k].count}
				}
			}
			r.reconnects, _ = fm.sum("smsgate_smpp_reconnects_total", nil)
			// Bind-slot leases (binaries that have them): a failed renewal
			// round; after 4 s of them the gateway closes its binds.
			if v, ok := fm.sum("smsgate_bind_slot_errors_total", nil); ok {
				r.slotErrors = v
			} else {
				r.slotErrors = -1
			}
		}
		r.sum = summarize(r.ops)
		close(stopProbe)
		r.late50, r.late99, r.lateMax, r.lateN = probe.result()
		probe, stopProbe = nil, make(chan struct{})
		if p.gaps {
			var all []time.Time
			for i, o := range ops {
				var at []time.Time
				for _, sub := range sims[i].Submits() {
					if !sub.ReceivedAt.Before(winStart) && !sub.ReceivedAt.After(now) {
						at = append(at, sub.ReceivedAt)
					}
				}
				r.stalls = append(r.stalls, stalls(o.Name, o.TPS, at))
				all = append(all, at...)
			}
			ps := pauses(all)
			r.pauses = &ps
		}
		return r, nil
	}
}

// applyNice renices smsgate, its Postgres backends and this process when
// -nice is set. Threads started later keep the nice value of their parent.
func (p *params) applyNice(ctx context.Context, pid int, dsn string) {
	if p.nice == 0 {
		return
	}
	pids := []int{pid, os.Getpid()}
	if b, err := backendPIDs(ctx, dsn); err == nil {
		pids = append(pids, b...)
	}
	for _, x := range pids {
		if err := renice(x, p.nice); err != nil {
			fmt.Fprintln(os.Stderr, "scale:", err)
		}
	}
}

func (r *result) print(w io.Writer, p params) error {
	s := r.sum
	if p.nice != 0 {
		fmt.Fprintf(w, "smsgate, its Postgres backends and the harness ran at nice %d\n", p.nice)
	}
	fmt.Fprintf(w, "operators %d × binds %d (window %d): caps %d..%d msg/s, sum %d msg/s; %d records pre-loaded\n",
		s.Operators, p.binds, p.window, p.minTPS, p.maxTPS, s.SumCap, r.recordsPreloaded)
	fmt.Fprintf(w, "first submit_sm %s after start; all %d binds open at the simulators after %s; ingest done after %s\n",
		r.firstSubmitAfter.Round(time.Second), r.bindsWant, durOrNA(r.allBoundAfter, r.allBoundAfter > 0),
		durOrNA(r.ingestDoneAfter, r.ingestDoneAfter >= 0))
	fmt.Fprintf(w, "window %.1f s: aggregate %.1f msg/s (%.2f%% of the summed caps)\n",
		r.window.Seconds(), s.Aggregate, s.Aggregate/float64(s.SumCap)*100)
	fmt.Fprintf(w, "within 1%% of cap: %d/%d; worst %s %+.2f%% (cap %d, %.2f msg/s); best %s %+.3f%%; mean |error| %.3f%%; worst ≥10 s stretch %+.1f%%\n",
		s.Within1, s.Operators, s.Worst.Name, s.Worst.ErrPct, s.Worst.Cap, s.Worst.Rate, s.Best.Name, s.Best.ErrPct, s.MeanAbsErr, s.Worst10s)
	fmt.Fprintf(w, "operators starved in the window (queued backlog sampled at 0, or ran out): %d (queue gauges in %d scrapes)\n",
		s.Starved, r.queueSampleWindows)
	fmt.Fprintf(w, "binds open at the simulators: %d at the end, %d at least, want %d; smsgate_smpp_binds_up %.0f; reconnects %.0f",
		r.bindsEnd, r.bindsMin, r.bindsWant, r.bindsUpGauge, r.reconnects)
	if r.slotErrors >= 0 {
		fmt.Fprintf(w, "; bind-slot lease errors %.0f", r.slotErrors)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "smsgate: peak RSS %d MB (whole run), %d MB at the end; goroutines %.0f at the end, %.0f peak; CPU %.2f cores in the window\n",
		r.peakRSS>>20, r.endRSS>>20, r.goroutinesEnd, r.goroutinesPeak, r.cpuCores)
	fmt.Fprintf(w, "smsgate parts by result (whole run): %v; throttled at the simulators: %d; unanswered: %d; scrape failures: %d\n",
		r.submitResults, r.throttledAtSims, r.unansweredAtSims, r.scrapeFailures)
	if len(r.batches) > 0 {
		keys := make([]string, 0, len(r.batches))
		for k := range r.batches {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprint(w, "Postgres batch transactions in the window (smsgate_postgres_batch_seconds):")
		for _, k := range keys {
			h := r.batches[k]
			if h.count > 0 {
				fmt.Fprintf(w, " %s %.0f × mean %.0f ms, busy %.0f%%;", k, h.count, h.sum/h.count*1000, h.sum/r.window.Seconds()*100)
			}
		}
		fmt.Fprintln(w)
	}
	if r.loadN > 0 {
		fmt.Fprintf(w, "machine: %d CPUs, %.0f%% busy, 1-minute load average %.1f over the window; CPU cores used: smsgate %.2f, its Postgres backends %.2f, this process (broker, simulators) %.2f, everything else %.2f\n",
			runtime.NumCPU(), r.machineBusy*100, r.loadSum/float64(r.loadN), r.cpuCores, r.pgCores, r.selfCores,
			max(0, r.machineBusy*float64(runtime.NumCPU())-r.cpuCores-r.pgCores-r.selfCores))
	}
	printTable(w, r.ops)
	if r.lateN > 0 {
		fmt.Fprintf(w, "timer lateness here (10 ms sleeps, %d samples over the window): p50 %s, p99 %s, max %s\n",
			r.lateN, r.late50.Round(100*time.Microsecond), r.late99.Round(100*time.Microsecond), r.lateMax.Round(time.Millisecond))
	}
	if r.pauses != nil {
		fmt.Fprintf(w, "whole-gateway pauses (no submit_sm from any operator for ≥ 100 ms): %d, %s in all (%.1f%% of the window), longest %s\n",
			r.pauses.Pauses, r.pauses.Total.Round(time.Millisecond), float64(r.pauses.Total)/float64(r.window)*100,
			r.pauses.Longest.Round(time.Millisecond))
	}
	if len(r.stalls) > 0 {
		printStalls(w, r.stalls, r.window)
	}
	if p.tableOut != "" {
		f, err := os.Create(p.tableOut)
		if err != nil {
			return err
		}
		printTable(f, r.ops)
		if len(r.stalls) > 0 {
			printStalls(f, r.stalls, r.window)
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

func durOrNA(d time.Duration, ok bool) string {
	if !ok {
		return "n/a"
	}
	return d.Round(time.Second).String()
}
