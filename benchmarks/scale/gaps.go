package main

import (
	"fmt"
	"io"
	"sort"
	"time"
)

// stallStats describes the pauses in one operator's submit_sm stream: a
// stall is an inter-arrival gap longer than twice the cap's interval and at
// least 20 ms. When an operator falls short of its cap, this says whether
// the loss comes in periodic pauses (and every how many messages) or is
// spread evenly.
type stallStats struct {
	Name       string
	Cap        int
	Messages   int
	Stalls     int
	Lost       time.Duration // sum of (gap − interval) over stalls
	MedianGap  time.Duration // median stall length
	MedianRun  int           // median messages between two stalls
	LongestGap time.Duration
	// Long stalls (gap ≥ 100 ms, beyond any gate's burst credit here) and
	// the median number of messages between two of them: when that is
	// about binds × window, the pauses come once per claim.
	Long        int
	LongLost    time.Duration
	MedianRunLg int
}

const longStall = 100 * time.Millisecond

// stalls analyses arrival times (ascending) of one operator's submit_sm.
func stalls(name string, capTPS int, at []time.Time) stallStats {
	s := stallStats{Name: name, Cap: capTPS, Messages: len(at)}
	iv := time.Second / time.Duration(capTPS)
	threshold := max(2*iv, 20*time.Millisecond)
	var gaps []time.Duration
	var runs, runsLong []int
	last, lastLong := 0, 0
	for i := 1; i < len(at); i++ {
		g := at[i].Sub(at[i-1])
		s.LongestGap = max(s.LongestGap, g)
		if g <= threshold {
			continue
		}
		s.Stalls++
		s.Lost += g - iv
		gaps = append(gaps, g)
		if s.Stalls > 1 {
			runs = append(runs, i-last)
		}
		last = i
		if g >= longStall {
			s.Long++
			s.LongLost += g - iv
			if s.Long > 1 {
				runsLong = append(runsLong, i-lastLong)
			}
			lastLong = i
		}
	}
	if len(runsLong) > 0 {
		sort.Ints(runsLong)
		s.MedianRunLg = runsLong[len(runsLong)/2]
	}
	if len(gaps) > 0 {
		sort.Slice(gaps, func(i, j int) bool { return gaps[i] < gaps[j] })
		s.MedianGap = gaps[len(gaps)/2]
	}
	if len(runs) > 0 {
		sort.Ints(runs)
		s.MedianRun = runs[len(runs)/2]
	}
	return s
}

// printStalls writes the stall table (operators sorted by cap).
func printStalls(w io.Writer, ss []stallStats, window time.Duration) {
	ss = append([]stallStats(nil), ss...)
	sort.SliceStable(ss, func(i, j int) bool { return ss[i].Cap < ss[j].Cap })
	fmt.Fprintln(w, "| operator | cap | submit_sm | stalls (gap > max(2/cap, 20 ms)) | gap time beyond 1/cap | median stall | median msgs between stalls | stalls ≥ 100 ms | their time | median msgs between them | longest gap |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, s := range ss {
		fmt.Fprintf(w, "| %s | %d | %d | %d | %s (%.1f%%) | %s | %d | %d | %s (%.1f%%) | %d | %s |\n", s.Name, s.Cap, s.Messages, s.Stalls,
			s.Lost.Round(time.Millisecond), float64(s.Lost)/float64(window)*100, s.MedianGap.Round(time.Millisecond), s.MedianRun,
			s.Long, s.LongLost.Round(time.Millisecond), float64(s.LongLost)/float64(window)*100, s.MedianRunLg,
			s.LongestGap.Round(time.Millisecond))
	}
}

// pauseStats describes gaps in the merged submit_sm stream of all
// operators: at thousands of msg/s a gap of 100 ms in which no operator
// sent anything is a pause of the whole gateway process (or its host), not
// of one operator's dispatcher.
type pauseStats struct {
	Pauses  int           // gaps ≥ 100 ms
	Total   time.Duration // their summed length
	Longest time.Duration
}

func pauses(at []time.Time) pauseStats {
	at = append([]time.Time(nil), at...)
	sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
	var p pauseStats
	for i := 1; i < len(at); i++ {
		g := at[i].Sub(at[i-1])
		p.Longest = max(p.Longest, g)
		if g >= longStall {
			p.Pauses++
			p.Total += g
		}
	}
	return p
}
