package smpp

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkSubmit drives Pool.Submit against the in-process fake SMSC,
// which answers every submit_sm at once. It reports messages per second
// and the p50/p99 latency from Submit to response. allocs/op include the
// fake SMSC's (none per PDU) and the response's MessageID string.
func BenchmarkSubmit(b *testing.B) {
	for _, binds := range []int{1, 2} {
		for _, window := range []int{10, 100} {
			b.Run(fmt.Sprintf("binds=%d/window=%d", binds, window), func(b *testing.B) {
				benchSubmit(b, binds, window, 0)
			})
		}
	}
	// With the gate at the target rate: msg/s should come out at the cap.
	b.Run("binds=2/window=100/tps=60000", func(b *testing.B) { benchSubmit(b, 2, 100, 60000) })
}

func benchSubmit(b *testing.B, binds, window int, tps float64) {
	f := newFakeSMSC(b)
	f.record = false
	o := poolOptions(f)
	o.Session.Mode = Transmitter
	o.Session.Handler = nil
	o.Session.Window = window
	o.Binds = binds
	o.TPS = tps
	p := NewPool(o)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		p.Run(ctx)
	}()
	defer func() {
		cancel()
		<-ran
	}()
	eventually(b, "binds up", func() bool { return p.Stats().BindsUp == binds })

	lat := make([]time.Duration, b.N)
	var n, failed atomic.Int64
	all := make(chan struct{})
	done := func(r Result) {
		i := n.Add(1)
		lat[i-1] = r.Latency
		if !r.Accepted() {
			failed.Add(1)
		}
		if i == int64(b.N) {
			close(all)
		}
	}
	// Submit does not wait for the response, so a couple of goroutines
	// per bind keep every window full.
	submitters := 2 * binds
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for g := range submitters {
		k := b.N / submitters
		if g < b.N%submitters {
			k++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sm := testSM
			for range k {
				if err := p.Submit(ctx, &sm, done); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	<-all
	elapsed := time.Since(start)
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d submits not accepted", failed.Load())
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msg/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50_µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99_µs")
}
