package numbering

import (
	"bytes"
	"fmt"
	"iter"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Synthetic data for the benchmarks: 1M ranges over 2,000 networks and 10M
// ported numbers, as the issue asks.
const (
	benchRanges   = 1_000_000
	benchPorted   = 10_000_000
	benchNetworks = 2000
	benchQueries  = 1 << 20
)

// benchNet is the synthetic network i: MCC 200+i/10... and a 2-digit MNC.
func benchNet(i int) (mcc, mnc string) {
	return strconv.Itoa(200 + i/100), fmt.Sprintf("%02d", i%100)
}

// rangesCSV writes benchRanges distinct prefixes of 6, 7 and 8 digits
// (30/60/10%), none starting with 3 (ported numbers do).
func rangesCSV() []byte {
	rng := rand.New(rand.NewPCG(7, 7))
	var b bytes.Buffer
	b.WriteString("prefix,mcc,mnc,network\n")
	seen := make(map[string]bool, benchRanges)
	for len(seen) < benchRanges {
		l := 7
		switch r := rng.IntN(10); {
		case r < 3:
			l = 6
		case r == 9:
			l = 8
		}
		first := []byte("12456789")[rng.IntN(8)]
		p := []byte{first}
		for len(p) < l {
			p = append(p, byte('0'+rng.IntN(10)))
		}
		if seen[string(p)] {
			continue
		}
		seen[string(p)] = true
		mcc, mnc := benchNet(rng.IntN(benchNetworks))
		fmt.Fprintf(&b, "%s,%s,%s,net %s%s\n", p, mcc, mnc, mcc, mnc)
	}
	return b.Bytes()
}

// portedNumber is the i-th synthetic ported number: 12 digits starting
// "30", scattered (i × an odd multiplier not divisible by 5 is a
// bijection modulo 10^10).
func portedNumber(i int) uint64 { return 300000000000 + uint64(i)*2654435761%10000000000 }

func portedRows(n int) iter.Seq2[PortedRow, error] {
	return func(yield func(PortedRow, error) bool) {
		for i := range n {
			mcc, mnc := benchNet(i % benchNetworks)
			if !yield(PortedRow{strconv.FormatUint(portedNumber(i), 10), mcc, mnc}, nil) {
				return
			}
		}
	}
}

type benchFixture struct {
	reg       *Registry
	ranges    *RangeTable
	ported    *PortedCache
	rangesCSV []byte
	// queries: ported numbers, and 12-digit numbers in a range, not ported.
	portedQ, rangeQ []string
	loadRanges      time.Duration
	loadPorted      time.Duration
	rssBefore       int // kB, before the ported cache was loaded
	rssAfter        int // kB, after
}

var (
	fixtureOnce sync.Once
	fixture     *benchFixture
)

func getFixture(b *testing.B) *benchFixture {
	fixtureOnce.Do(func() {
		f := &benchFixture{reg: NewRegistry(), rangesCSV: rangesCSV()}
		start := time.Now()
		var err error
		f.ranges, err = LoadRanges(bytes.NewReader(f.rangesCSV), f.reg, 0)
		if err != nil {
			panic(err)
		}
		f.loadRanges = time.Since(start)

		rng := rand.New(rand.NewPCG(1, 1))
		lines := strings.Split(string(f.rangesCSV), "\n")
		for len(f.rangeQ) < benchQueries {
			p, _, _ := strings.Cut(lines[1+rng.IntN(benchRanges)], ",")
			n := 12 - len(p)
			f.rangeQ = append(f.rangeQ, p+fmt.Sprintf("%0*d", n, rng.Uint64N(pow10[n])))
		}
		for range benchQueries {
			f.portedQ = append(f.portedQ, strconv.FormatUint(portedNumber(rng.IntN(benchPorted)), 10))
		}

		runtime.GC()
		f.rssBefore = rssKB("VmRSS")
		f.ported = NewPortedCache(f.reg, 24*time.Hour)
		start = time.Now()
		if _, err := f.ported.Load(benchPorted, portedRows(benchPorted)); err != nil {
			panic(err)
		}
		f.loadPorted = time.Since(start)
		runtime.GC()
		f.rssAfter = rssKB("VmRSS")
		fixture = f
	})
	return fixture
}

// rssKB reads a field (VmRSS, VmHWM) of /proc/self/status, in kB.
func rssKB(field string) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for l := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	return 0
}

// latency is a histogram of per-call nanoseconds: 1 ns buckets to 100 µs.
type latency struct {
	buckets [100_000]uint32
	over    uint64
	n       uint64
}

func (h *latency) add(d time.Duration) {
	h.n++
	if d < 0 || int(d) >= len(h.buckets) {
		h.over++
		return
	}
	h.buckets[d]++
}

func (h *latency) quantile(q float64) float64 {
	target := uint64(q * float64(h.n))
	var sum uint64
	for i, c := range h.buckets {
		sum += uint64(c)
		if sum > target {
			return float64(i)
		}
	}
	return float64(len(h.buckets))
}

func (h *latency) report(b *testing.B) {
	b.ReportMetric(h.quantile(0.50), "p50-ns")
	b.ReportMetric(h.quantile(0.99), "p99-ns")
	b.ReportMetric(h.quantile(0.999), "p99.9-ns")
}

// runTimed times every call (time.Now twice: ~40–60 ns of the figure is
// the clock itself) into a histogram, and checks the source.
func runTimed(b *testing.B, r *Resolver, qs []string, want Source) {
	h := new(latency)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := qs[i%len(qs)]
		t0 := time.Now()
		_, src := r.ResolveID(q)
		h.add(time.Since(t0))
		if src != want {
			b.Fatalf("Resolve(%s): source %v, want %v", q, src, want)
		}
	}
	b.StopTimer()
	h.report(b)
}

// BenchmarkResolve: one route decision's network resolution, 1M ranges and
// 10M ported numbers loaded, random numbers (so mostly cache misses in the
// CPU's caches).
func BenchmarkResolve(b *testing.B) {
	f := getFixture(b)
	b.Logf("1M ranges loaded in %v (index %.1f MB); 10M ported loaded in %v (table %.1f MB); RSS %d → %d MB",
		f.loadRanges, float64(f.ranges.Bytes())/1e6, f.loadPorted, float64(f.ported.Bytes())/1e6, f.rssBefore/1024, f.rssAfter/1024)
	r := NewResolver(f.reg, f.ranges, f.ported, nil)

	b.Run("ported", func(b *testing.B) { runTimed(b, r, f.portedQ, SourcePorted) })
	b.Run("range", func(b *testing.B) { runTimed(b, r, f.rangeQ, SourceRange) })

	// With a lookup configured: numbers whose answer is cached (found, or
	// "no network" so the range table decides). The cache is filled
	// directly; the service is never called.
	lk, err := NewLookup(LookupConfig{URL: "http://127.0.0.1:1/?n={number}", Timeout: 30 * time.Millisecond, CacheTTL: time.Hour}, f.reg)
	if err != nil {
		b.Fatal(err)
	}
	// Even numbers have a cached network, odd ones a cached "none".
	exp := unixNow() + 3600
	var even, odd []string
	for _, q := range f.rangeQ {
		v, _, _ := parseDigits(q)
		if v%2 == 0 {
			lk.cache.put(v, NetID(1+v%benchNetworks), exp)
			even = append(even, q)
		} else {
			lk.cache.put(v, netNegative, exp)
			odd = append(odd, q)
		}
	}
	rl := NewResolver(f.reg, f.ranges, f.ported, lk)
	b.Run("lookup-cached", func(b *testing.B) { runTimed(b, rl, even, SourceLookup) })
	b.Run("lookup-cached-none", func(b *testing.B) { runTimed(b, rl, odd, SourceRange) })
	b.Run("ported-with-lookup", func(b *testing.B) { runTimed(b, rl, f.portedQ, SourcePorted) })

	// Throughput with both cores resolving (no per-call clock).
	b.Run("ported-parallel", func(b *testing.B) {
		b.ReportAllocs()
		var next sync.Mutex
		seed := uint64(0)
		b.RunParallel(func(pb *testing.PB) {
			next.Lock()
			seed++
			i := int(seed * 7919)
			next.Unlock()
			for pb.Next() {
				i++
				if _, src := r.ResolveID(f.portedQ[i&(len(f.portedQ)-1)]); src != SourcePorted {
					b.Error("not ported")
					return
				}
			}
		})
	})
}

// cpuTime is the process's user+system CPU time: on a shared, busy
// machine it says more about a load's cost than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLoadRanges1M: parse and index the 1M-range CSV (~17 MB).
func BenchmarkLoadRanges1M(b *testing.B) {
	csv := rangesCSV()
	b.SetBytes(int64(len(csv)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		t, err := LoadRanges(bytes.NewReader(csv), NewRegistry(), 0)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(t.Bytes())/1e6, "index-MB")
	}
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}

// BenchmarkLoadPorted10M: build the 10M ported cache from rows (strings, as
// Postgres hands them over), and what it costs in memory.
func BenchmarkLoadPorted10M(b *testing.B) {
	for b.Loop() {
		debug.FreeOSMemory()
		before := rssKB("VmRSS")
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		cpu0 := cpuTime()
		c := NewPortedCache(NewRegistry(), time.Hour)
		if _, err := c.Load(benchPorted, portedRows(benchPorted)); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric((cpuTime() - cpu0).Seconds(), "cpu-s")
		b.ReportMetric(float64(rssKB("VmRSS")-before)/1024, "rss-delta-MB") // with the rows' garbage
		debug.FreeOSMemory()
		runtime.ReadMemStats(&ms1)
		b.ReportMetric(float64(c.Bytes())/1e6, "table-MB")
		b.ReportMetric(float64(ms1.HeapAlloc-ms0.HeapAlloc)/1e6, "heap-MB")
		b.ReportMetric(float64(rssKB("VmRSS")-before)/1024, "rss-kept-MB") // after the garbage is returned
		runtime.KeepAlive(c)
	}
}
