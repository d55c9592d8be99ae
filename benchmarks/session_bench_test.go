// Package benchmarks holds the cross-package benchmarks: the SMPP session
// layer against the SMSC simulator, and the TPS gate's accuracy over real
// time. Results are recorded in RESULTS.md with command, date and machine.
package benchmarks

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsgate/smsgate/pkg/smppsim"
	"github.com/smsgate/smsgate/smpp"
	"github.com/smsgate/smsgate/smpp/pdu"
)

// BenchmarkSessionVsSimulator: submit_sm through smpp.Pool to the
// simulator on loopback; b.N messages, reported as msg/s and submit→resp
// latency percentiles. -benchtime 200000x gives the 200k messages.
func BenchmarkSessionVsSimulator(b *testing.B) {
	for _, c := range []struct{ binds, window int }{{1, 10}, {1, 100}, {2, 10}, {2, 100}} {
		b.Run(fmt.Sprintf("binds=%d/window=%d", c.binds, c.window), func(b *testing.B) {
			benchPool(b, c.binds, c.window, 0)
		})
	}
}

func benchPool(b *testing.B, binds, window int, tps float64) {
	sim, err := smppsim.Start(smppsim.Options{Addr: "127.0.0.1:0", NoReceipts: true})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	pool := smpp.NewPool(smpp.PoolOptions{Session: smpp.SessionOptions{Addr: sim.Addr(), SystemID: "bench", Password: "pw",
		Mode: smpp.Transmitter, Window: window, RespTimeout: 30 * time.Second}, Binds: binds, TPS: tps})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = pool.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for pool.Stats().BindsUp < binds {
		if time.Now().After(deadline) {
			b.Fatal("binds did not come up")
		}
		time.Sleep(5 * time.Millisecond)
	}
	sm := &pdu.SM{ID: pdu.SubmitSM, SourceTON: 5, Source: "ACME", DestTON: 1, DestNPI: 1, Dest: "995599123456",
		RegisteredDelivery: 1, ShortMessage: []byte("Your code is 123456. It expires in 5 minutes.")}
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var ok atomic.Int64
	done := make(chan struct{})
	var remaining atomic.Int64
	remaining.Store(int64(b.N))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		err := pool.Submit(ctx, sm, func(r smpp.Result) {
			lat[next.Add(1)-1] = r.Latency
			if r.Accepted() {
				ok.Add(1)
			}
			if remaining.Add(-1) == 0 {
				close(done)
			}
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	<-done
	elapsed := time.Since(start)
	b.StopTimer()
	if int(ok.Load()) != b.N {
		b.Fatalf("%d of %d accepted", ok.Load(), b.N)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msg/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	if st := sim.Stats(); st.Submits != uint64(b.N) {
		b.Fatalf("simulator saw %d submits, want %d", st.Submits, b.N)
	}
}

// BenchmarkGateAccuracy runs the pool at a TPS cap against the simulator
// for -benchtime seconds (use -benchtime 1x with SMSGATE_GATE_SECONDS) and
// reports the achieved rate and the worst 1-second window.
func BenchmarkGateAccuracy(b *testing.B) {
	for _, tps := range []float64{500, 5000} {
		b.Run(fmt.Sprintf("tps=%g", tps), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				gateRun(b, tps, gateSeconds())
			}
		})
	}
}

func gateRun(b *testing.B, tps float64, seconds int) {
	sim, err := smppsim.Start(smppsim.Options{Addr: "127.0.0.1:0", NoReceipts: true})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	pool := smpp.NewPool(smpp.PoolOptions{Session: smpp.SessionOptions{Addr: sim.Addr(), SystemID: "bench", Password: "pw",
		Mode: smpp.Transmitter, Window: 100}, Binds: 2, TPS: tps})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = pool.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()
	for pool.Stats().BindsUp < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	sm := &pdu.SM{ID: pdu.SubmitSM, Source: "ACME", Dest: "995599123456", ShortMessage: []byte("x")}
	runCtx, stop := context.WithTimeout(ctx, time.Duration(seconds)*time.Second)
	defer stop()
	perSecond := make([]int64, seconds+1)
	start := time.Now()
	var sent int64
	for runCtx.Err() == nil {
		if err := pool.Submit(runCtx, sm, func(smpp.Result) {}); err != nil {
			break
		}
		sec := int(time.Since(start) / time.Second)
		if sec < len(perSecond) {
			perSecond[sec]++
		}
		sent++
	}
	elapsed := time.Since(start).Seconds()
	worst := int64(0)
	for _, n := range perSecond[:seconds] {
		if d := abs(n - int64(tps)); d > worst {
			worst = d
		}
	}
	b.ReportMetric(float64(sent)/elapsed, "achieved-tps")
	b.ReportMetric((float64(sent)/elapsed/tps-1)*100, "error-%")
	b.ReportMetric(float64(worst), "worst-1s-deviation")
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
