package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"time"
)

// sample is a simulator's submit_sm count read at a moment.
type sample struct {
	at time.Time
	n  uint64
}

// opResult is one operator's measurement over the window.
type opResult struct {
	Name      string
	Cap       int
	Count     uint64        // submit_sm received in the window
	Span      time.Duration // between the first and last sample
	Rate      float64       // Count / Span
	ErrPct    float64       // (Rate - Cap) / Cap × 100
	Worst10s  float64       // largest |error| % of any ≥10 s stretch between samples
	MinQueued float64       // lowest sampled queued backlog in the window (-1 = not sampled)
	// MaxSending is the highest sampled count of claimed messages whose
	// outcome is not written yet: the dispatcher stops claiming at
	// 2 × binds × window + 256, so a value there means the outcome writer,
	// not the gate, set the pace.
	MaxSending float64
	// MeanInflight is the sampled mean of submit_sm awaiting a response
	// (all binds); RespLatency the mean time from queuing a submit_sm to
	// its response over the window. Both high with an instant simulator
	// means the gateway's own goroutines were slow to run.
	MeanInflight float64
	RespLatency  time.Duration
	Left         int64 // pre-loaded messages not yet submitted at the window's end
}

// measure turns one operator's samples (in time order) into its result.
func measure(name string, capTPS int, ss []sample) opResult {
	r := opResult{Name: name, Cap: capTPS, MinQueued: -1}
	if len(ss) < 2 {
		return r
	}
	first, last := ss[0], ss[len(ss)-1]
	r.Count = last.n - first.n
	r.Span = last.at.Sub(first.at)
	if r.Span <= 0 {
		return r
	}
	r.Rate = float64(r.Count) / r.Span.Seconds()
	r.ErrPct = pct(r.Rate, capTPS)
	// Shortest stretch of at least 10 s from each starting sample: how even
	// the rate is within the window, not only on average.
	j := 0
	for i := range ss {
		for j < len(ss) && ss[j].at.Sub(ss[i].at) < 10*time.Second {
			j++
		}
		if j == len(ss) {
			break
		}
		d := ss[j].at.Sub(ss[i].at).Seconds()
		e := pct(float64(ss[j].n-ss[i].n)/d, capTPS)
		if math.Abs(e) > math.Abs(r.Worst10s) {
			r.Worst10s = e
		}
	}
	return r
}

func pct(rate float64, capTPS int) float64 {
	return (rate - float64(capTPS)) / float64(capTPS) * 100
}

// summary aggregates the operators' results.
type summary struct {
	Operators  int
	SumCap     int
	Aggregate  float64 // sum of the operators' rates
	Within1    int     // |error| ≤ 1%
	Worst      opResult
	Best       opResult
	Starved    int // queued backlog seen at 0 during the window, or ran out of messages
	Worst10s   float64
	MeanAbsErr float64
}

func summarize(rs []opResult) summary {
	s := summary{Operators: len(rs)}
	if len(rs) == 0 {
		return s
	}
	s.Worst, s.Best = rs[0], rs[0]
	for _, r := range rs {
		s.SumCap += r.Cap
		s.Aggregate += r.Rate
		if math.Abs(r.ErrPct) <= 1 {
			s.Within1++
		}
		if math.Abs(r.ErrPct) > math.Abs(s.Worst.ErrPct) {
			s.Worst = r
		}
		if math.Abs(r.ErrPct) < math.Abs(s.Best.ErrPct) {
			s.Best = r
		}
		if r.MinQueued == 0 || r.Left <= 0 {
			s.Starved++
		}
		if math.Abs(r.Worst10s) > math.Abs(s.Worst10s) {
			s.Worst10s = r.Worst10s
		}
		s.MeanAbsErr += math.Abs(r.ErrPct)
	}
	s.MeanAbsErr /= float64(len(rs))
	return s
}

// printTable writes one row per operator, sorted by cap.
func printTable(w io.Writer, rs []opResult) {
	rs = append([]opResult(nil), rs...)
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Cap < rs[j].Cap })
	fmt.Fprintln(w, "| operator | cap msg/s | submit_sm in window | achieved msg/s | error | worst ≥10 s stretch | min queued | max sending | mean inflight | mean submit→resp | left at end |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		q := "n/a"
		if r.MinQueued >= 0 {
			q = fmt.Sprintf("%.0f", r.MinQueued)
		}
		fmt.Fprintf(w, "| %s | %d | %d | %.2f | %+.2f%% | %+.1f%% | %s | %.0f | %.1f | %s | %d |\n",
			r.Name, r.Cap, r.Count, r.Rate, r.ErrPct, r.Worst10s, q, r.MaxSending, r.MeanInflight,
			r.RespLatency.Round(100*time.Microsecond), r.Left)
	}
}
