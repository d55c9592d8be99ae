package smpp

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for the gate.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// clientHeap orders simulated clients by the time they next ask.
type clientHeap []time.Time

func (h clientHeap) Len() int           { return len(h) }
func (h clientHeap) Less(i, j int) bool { return h[i].Before(h[j]) }
func (h clientHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *clientHeap) Push(x any)        { *h = append(*h, x.(time.Time)) }
func (h *clientHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// simulate runs clients that each ask for one part, "sleep" until the gate
// allows it (plus a deterministic wake-up lateness of up to 2 ms when they
// had to sleep, as from a loaded scheduler), send, and ask again. It returns the allow times
// and the send times within dur.
func simulate(g *Gate, clk *fakeClock, dur time.Duration, clients int) (allowed, sent []time.Duration) {
	h := make(clientHeap, clients)
	for i := range h {
		h[i] = epoch
	}
	end := epoch.Add(dur)
	var lcg uint32 = 1
	for h[0].Before(end) {
		clk.t = h[0]
		g.mu.Lock()
		at, _, _ := g.reserveLocked(clk.t, 1)
		g.mu.Unlock()
		send := clk.t
		if at.After(clk.t) {
			// Slept: woken up late.
			lcg = lcg*1664525 + 1013904223
			send = at.Add(time.Duration(lcg>>16) * 2 * time.Millisecond / 65536)
		} else {
			at = clk.t
		}
		if at.Before(end) {
			allowed = append(allowed, at.Sub(epoch))
		}
		if send.Before(end) {
			sent = append(sent, send.Sub(epoch))
		}
		h[0] = send
		heap.Fix(&h, 0)
	}
	return allowed, sent
}

// TestGateAccuracy: over 10 s of fake time the parts sent are within 1% of
// the limit, and in no 1 s interval does the gate allow more than
// limit + burst.
func TestGateAccuracy(t *testing.T) {
	for _, tc := range []struct {
		tps     float64
		burst   int
		clients int
	}{
		// Enough waiters to keep the gate busy despite their lateness.
		{500, 25, 8},
		{60000, 100, 150},
		{137.5, 10, 100},
		{3.3, 1, 3},
		// One sequential caller: the burst absorbs its lateness.
		{500, 25, 1},
		{1000, 5, 1},
	} {
		t.Run(fmt.Sprintf("tps=%v/burst=%d/clients=%d", tc.tps, tc.burst, tc.clients), func(t *testing.T) {
			clk := &fakeClock{t: epoch}
			g := newGate(tc.tps, tc.burst, clk.now)
			allowed, sent := simulate(g, clk, 10*time.Second, tc.clients)
			want := tc.tps * 10
			if got := float64(len(sent)); math.Abs(got-want) > want*0.01+1 {
				t.Errorf("sent %v parts in 10s, want %v ±1%%", got, want)
			}
			sort.Slice(allowed, func(i, j int) bool { return allowed[i] < allowed[j] })
			maxIn1s := tc.tps + float64(tc.burst)
			for i, j := 0, 0; i < len(allowed); i++ {
				for j < len(allowed) && allowed[j] < allowed[i]+time.Second {
					j++
				}
				if n := float64(j - i); n > maxIn1s {
					t.Fatalf("%v parts allowed in the second from %v, cap %v", n, allowed[i], maxIn1s)
				}
			}
		})
	}
}

func TestGateAIMD(t *testing.T) {
	clk := &fakeClock{t: epoch}
	g := newGate(1000, 10, clk.now)
	at := func(d time.Duration) { clk.t = epoch.Add(d) }
	rate := func(want float64) {
		t.Helper()
		if got := g.Rate(); math.Abs(got-want) > want*1e-4 {
			t.Errorf("at %v: rate %v, want %v", clk.t.Sub(epoch), got, want)
		}
	}
	rate(1000)
	if g.Backoff() {
		t.Error("Backoff before any throttling")
	}
	g.Throttled()
	rate(500)
	at(500 * time.Millisecond)
	g.Throttled() // a window full of 0x58 counts once
	rate(525)     // recovering by 5% of the limit per second
	if !g.Backoff() {
		t.Error("no Backoff right after throttling")
	}
	at(time.Second)
	rate(550)
	g.Throttled()
	rate(275)
	at(2001 * time.Millisecond)
	if g.Backoff() {
		t.Error("Backoff a second after the last throttling")
	}
	at(time.Second + 14500*time.Millisecond)
	rate(1000)
	at(20 * time.Second)
	rate(1000)
	// Floor: repeated throttling never stops the operator.
	for i := range 20 {
		at(time.Duration(30+i) * time.Second)
		g.Throttled()
	}
	rate(1000 * gateMinFactor)
	// SetLimit keeps the slow-down in progress.
	g.SetLimit(2000)
	rate(2000 * gateMinFactor)
	g.SetLimit(0)
	if at, _, _ := g.reserveLocked(clk.t, 1_000_000); !at.Equal(clk.t) {
		t.Error("unlimited gate made a caller wait")
	}
}

func TestGateWaitCancel(t *testing.T) {
	clk := &fakeClock{t: epoch}
	g := newGate(1, 1, clk.now) // one part per second; the clock stands still
	if err := g.Wait(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := g.Wait(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait: %v", err)
	}
	// The cancelled reservation was given back: the next part is due one
	// second after the first, not two.
	g.mu.Lock()
	at, _, _ := g.reserveLocked(clk.t, 1)
	g.mu.Unlock()
	if want := epoch.Add(time.Second); !at.Equal(want) {
		t.Errorf("next part at %v, want %v", at.Sub(epoch), want.Sub(epoch))
	}
}

// BenchmarkGate runs the real-time gate at 500 parts/s with 8 waiters and
// reports the rate achieved and its error. Use -benchtime=10s (or more) for
// an accuracy run.
func BenchmarkGate(b *testing.B) {
	const tps = 500
	g := NewGate(tps, 1)
	ctx := context.Background()
	var wg sync.WaitGroup
	per := make(chan struct{}, b.N)
	for range b.N {
		per <- struct{}{}
	}
	close(per)
	b.ResetTimer()
	start := time.Now()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				if err := g.Wait(ctx, 1); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	// The first part passes at once; the rest are spaced 1/tps apart.
	elapsed := time.Since(start)
	if b.N > 1 {
		got := float64(b.N-1) / elapsed.Seconds()
		b.ReportMetric(got, "parts/s")
		b.ReportMetric((got-tps)/tps*100, "rate_err_%")
	}
}

// BenchmarkGateWaitFast is the cost of a Wait that does not sleep.
func BenchmarkGateWaitFast(b *testing.B) {
	g := NewGate(1e12, 1000)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := g.Wait(ctx, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
}
