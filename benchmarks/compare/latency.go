package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/smsgate/smsgate/pkg/smppsim"
)

// latencyWarmup is produced before the measured part of a latency run.
const latencyWarmup = 3 * time.Second

type latencyResult struct {
	rate, produced int
	measured       int // produced after the warm-up
	duration       time.Duration
	toSubmit       []time.Duration // producer write → submit_sm at the SMSC
	toStatus       []time.Duration // receipt sent → delivered event read from sms.status
}

func quantile(s []time.Duration, q float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	return s[int(q*float64(len(s)-1))]
}

func (l latencyResult) write(w io.Writer) {
	fmt.Fprintf(w, "smsgate latency at a fixed rate: asked %d msg/s, produced %.0f msg/s for %s after a %s warm-up (%d messages measured; mode receipts: Postgres, ledger, sms.status; 1 bind, window from -window; in-process Go SMSC simulator recording each submit):\n\n",
		l.rate, float64(l.measured)/l.duration.Seconds(), l.duration, latencyWarmup, l.measured)
	fmt.Fprintln(w, "| path | n | p50 | p99 | p999 |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, row := range []struct {
		name string
		d    []time.Duration
	}{{"Kafka append (producer write call) → submit_sm at the SMSC", l.toSubmit},
		{"receipt sent (right after submit_sm_resp) → `delivered` read from sms.status", l.toStatus}} {
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s |\n", row.name, len(row.d),
			quantile(row.d, 0.5).Round(100*time.Microsecond), quantile(row.d, 0.99).Round(100*time.Microsecond),
			quantile(row.d, 0.999).Round(100*time.Microsecond))
	}
}

// runLatency produces at a fixed rate while smsgate runs, then relates
// each message's produce time, its submit_sm at the simulator and its
// delivered event.
func runLatency(ctx context.Context, o opts, rate int) (res latencyResult, err error) {
	res.rate, res.duration = rate, o.latencyDuration
	ctx, cancel := context.WithTimeout(ctx, o.runTimeout)
	defer cancel()
	env, err := newSmsgateEnv(ctx, o, false)
	if err != nil {
		return res, err
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w (logs kept in %s)", err, env.dir)
		}
		env.close(err != nil)
	}()
	// Receipts are written right after the submit_sm_resp, so a submit's
	// arrival time is also (within microseconds) its receipt's send time.
	sim, err := smppsim.Start(smppsim.Options{Addr: "127.0.0.1:0", RecordSubmits: true, MaxRecorded: 10_000_000})
	if err != nil {
		return res, err
	}
	defer sim.Close()
	sc := startStatusConsumer(ctx, env.broker.Addrs(), true)
	defer sc.stop()
	gw, err := env.startSmsgate(ctx, o, sim.Addr(), 1, true)
	if err != nil {
		return res, err
	}
	defer gw.stop(30 * time.Second)
	// Let smsgate bind before the clock starts.
	bindDeadline := time.Now().Add(30 * time.Second)
	for sim.Stats().BindsCurrent == 0 {
		if time.Now().After(bindDeadline) || gw.exited() {
			return res, fmt.Errorf("smsgate did not bind\n%s", logTail(filepath.Join(env.dir, "smsgate.log"), 2000))
		}
		time.Sleep(50 * time.Millisecond)
	}

	w := newWriter(env.broker.Addrs())
	w.BatchTimeout = time.Millisecond
	defer w.Close()
	var mu sync.Mutex
	produced := map[string]time.Time{}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	per := max(rate/100, 1)
	// The first latencyWarmup seconds are produced but not measured: the
	// consumer group's first join and the first batches' plans are
	// start-up, not steady-state latency.
	measureFrom := time.Now().Add(latencyWarmup)
	end := measureFrom.Add(o.latencyDuration)
	for i := 0; time.Now().Before(end); {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-tick.C:
		}
		batch := make([]kafka.Message, per)
		now := time.Now()
		mu.Lock()
		for j := range batch {
			batch[j] = submitRecord(i, true)
			if !now.Before(measureFrom) {
				produced[destination(i)] = now
				res.measured++
			}
			i++
		}
		mu.Unlock()
		if err := w.WriteMessages(ctx, batch...); err != nil {
			return res, fmt.Errorf("produce: %w", err)
		}
		res.produced = i
	}
	// Wait for the tail: every message submitted and delivered.
	deadline := time.Now().Add(90 * time.Second)
	for {
		n, _ := sc.delivered()
		if (sim.Stats().Submits >= uint64(res.produced) && n >= res.produced) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	delivered := sc.times()
	for _, s := range sim.Submits() {
		t0, ok := produced[s.Dest]
		if !ok {
			continue
		}
		res.toSubmit = append(res.toSubmit, s.ReceivedAt.Sub(t0))
		if t, ok := delivered[idFromDest(s.Dest)]; ok {
			res.toStatus = append(res.toStatus, t.Sub(s.ReceivedAt))
		}
	}
	slices.Sort(res.toSubmit)
	slices.Sort(res.toStatus)
	if len(res.toSubmit) < res.produced || len(res.toStatus) < res.produced {
		fmt.Fprintf(os.Stderr, "compare: latency run: %d produced, %d submitted, %d delivered\n", res.produced, len(res.toSubmit), len(res.toStatus))
	}
	return res, nil
}

// idFromDest inverts destination: "99559" + 7 digits of i → "c<i>".
func idFromDest(dest string) string {
	i, err := strconv.Atoi(strings.TrimPrefix(dest, "99559"))
	if err != nil {
		return ""
	}
	return "c" + strconv.Itoa(i)
}
