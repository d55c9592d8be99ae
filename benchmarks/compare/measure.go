package main

import (
	"context"
	"fmt"
	"time"
)

// result is one row of the comparison.
type result struct {
	system, mode, sim string
	binds, n          int
	submits           uint64
	rate              float64 // submit_sm/s at the SMSC, steady state
	simCPU            float64 // the simulator's CPU over the same window, in cores
	e2eRate           float64 // messages/s from first submit to last correlated receipt
	correlated        int     // receipts correlated; -1 when the mode has none
	rss               int64   // peak, bytes, gateway processes
	cpu               float64 // CPU seconds of the gateway processes (smsgate: from readiness)
	pgCPU             float64 // CPU seconds of Postgres backends of the run's database
	startupCPU        float64 // smsgate: gateway + Postgres CPU before readiness (not in cpu, pgCPU)
	preload           time.Duration
	note              string
	err               error
}

func (r result) cpuPer100k() float64 { return r.cpu / float64(r.n) * 100_000 }

func (r result) pgCPUPer100k() float64 { return r.pgCPU / float64(r.n) * 100_000 }

// stallAfter ends a run whose counters have not moved for this long.
const stallAfter = 60 * time.Second

// measure polls the simulator until it has seen n submits and, when
// correlated is set, until n receipts are correlated (or progress stops).
func measure(ctx context.Context, sim *smsc, o opts, res *result, correlated func() (int, time.Time)) error {
	var subs samples
	lastProgress := time.Now()
	// Stop measuring a little before the run's deadline, so that a run whose
	// submits are done but whose receipts are still being correlated is
	// reported as such (with the count reached) and its processes are
	// sampled before they are killed.
	deadline, hasDeadline := ctx.Deadline()
	deadline = deadline.Add(-20 * time.Second)
	var lastSub uint64
	lastCorr := 0
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out with %d/%d submits, %d correlated", lastSub, o.n, lastCorr)
		case <-time.After(100 * time.Millisecond):
		}
		st, err := sim.stats()
		if err != nil {
			if sim.p.exited() {
				return fmt.Errorf("simulator exited: %w", err)
			}
			continue
		}
		now := time.Now()
		u, _ := readUsage(sim.p.pid())
		subs.add(now, st.Submits, u.cpu)
		corr := -1
		var lastCorrAt time.Time
		if correlated != nil {
			corr, lastCorrAt = correlated()
		}
		if st.Submits != lastSub || corr != lastCorr {
			lastProgress = now
		}
		lastSub, lastCorr = st.Submits, corr
		doneSubmits := st.Submits >= uint64(o.n)
		doneReceipts := correlated == nil || corr >= o.n
		stalled := time.Since(lastProgress) > stallAfter
		outOfTime := hasDeadline && now.After(deadline)
		if (doneSubmits && doneReceipts) || stalled || outOfTime {
			res.submits = st.Submits
			res.rate = subs.rate(uint64(o.n))
			res.simCPU = subs.cpuShare(uint64(o.n))
			res.correlated = corr
			if correlated != nil {
				if first, ok := subs.firstNonZero(); ok && lastCorrAt.After(first.t) {
					res.e2eRate = float64(corr) / lastCorrAt.Sub(first.t).Seconds()
				}
			}
			switch {
			case stalled:
				res.note = fmt.Sprintf("stalled: no progress for %s", stallAfter)
			case outOfTime && !doneReceipts:
				res.note = fmt.Sprintf("receipts still being correlated when the run's time bound ended (%d of %d)", corr, o.n)
			}
			if !doneSubmits {
				return fmt.Errorf("stalled at %d/%d submits", st.Submits, o.n)
			}
			return nil
		}
	}
}
