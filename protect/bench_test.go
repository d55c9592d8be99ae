package protect

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// The machine these run on is shared and busy: wall time per op includes
// waiting for a core. cpuClock measures the process's own CPU time
// (user + system, all threads, GC included), reported as cpu-ns/op.
type cpuClock struct{ start time.Duration }

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuClock { return cpuClock{processCPU()} }

func (c cpuClock) report(b *testing.B, ops int) {
	if ops > 0 {
		b.ReportMetric(float64(processCPU()-c.start)/float64(ops), "cpu-ns/op")
	}
}

// benchContentRules are 100 rules of the kinds operators write: literal
// domains, case-insensitive words, phrases with alternation and classes.
func benchContentRules() []ContentRule {
	var rs []ContentRule
	for i := range 30 {
		rs = append(rs, ContentRule{Pattern: fmt.Sprintf(`short%d\.link/`, i), Action: Reject})
	}
	for i := range 30 {
		rs = append(rs, ContentRule{Pattern: fmt.Sprintf(`(?i)\bpromo%dcode\b`, i), Action: Hold})
	}
	for i := range 20 {
		rs = append(rs, ContentRule{Pattern: fmt.Sprintf(`(?i)(win|won|claim)\s+(a|your)\s+prize\s+no\.?\s*%d`, i), Action: Reject})
	}
	for i := range 10 {
		rs = append(rs, ContentRule{Account: "acct" + strconv.Itoa(i), Pattern: `\b\d{4}[ -]\d{4}[ -]\d{4}[ -]\d{4}\b`, Action: Hold})
	}
	for i := range 10 {
		rs = append(rs, ContentRule{Pattern: fmt.Sprintf(`(?i)crypto\s*(bonus|airdrop)%d`, i), Action: Reject})
	}
	return rs
}

var benchTexts = []string{
	"Your code is 482913. Do not share it with anyone.",
	"Dear customer, your order #58213 has shipped and will arrive tomorrow between 10:00 and 14:00. Track it at https://acme.ge/t/58213",
	"ACME SALE: -30% on all shoes this weekend only! Visit https://acme.ge/sale or reply STOP to opt out.",
	"Your balance is 12.40 GEL. Top up at any ACME shop.",
	"Gamarjoba! Tqveni shekveta mzad aris. Madloba rom agvirchiet.",
}

func benchRules() Rules {
	return Rules{
		Blocklist: true,
		Pumping: &PumpingRules{PrefixDigits: 4, MaxPerMinute: 300, MinDeliveryRate: 0.2, MinSamples: 50, HoldFor: 30 * time.Minute,
			Default: ModeBlock, Modes: map[string]Mode{"44": ModeMonitor}, Safe: []string{"995599000"}},
		Content: benchContentRules(),
		Senders: []SenderRule{
			{Country: "995", Alphanumeric: true, Numeric: false, ReplaceWith: "INFO"},
			{Country: "7", Operator: "mts", Alphanumeric: true, Numeric: true},
			{Country: "44", Alphanumeric: true, Numeric: true},
		},
		Loop: &LoopRules{Max: 30, Per: 30 * time.Second},
	}
}

var benchPrefixes = []string{"99559", "99557", "4477", "7916", "1212"}

func benchNumber(r *rand.Rand) string {
	p := benchPrefixes[r.IntN(len(benchPrefixes))]
	n := strconv.Itoa(10_000_000 + r.IntN(90_000_000))
	return p + n[:12-len(p)]
}

// benchSetup builds a Guard with 1M blocklisted numbers and the message
// mix: 1% blocklisted destinations, the rest random numbers over five
// countries (so ranges see few messages each, as in real traffic).
func benchSetup(b *testing.B) (*Guard, []Message) {
	r := rand.New(rand.NewPCG(1, 2))
	g := mustGuard(b, benchRules(), Options{})
	blocked := make([]string, 1_000_000)
	for i := range blocked {
		blocked[i] = benchNumber(r)
	}
	g.Blocklist().Replace(slices.Values(blocked))
	msgs := make([]Message, 1<<16)
	for i := range msgs {
		m := &msgs[i]
		m.Account = "acct" + strconv.Itoa(r.IntN(20))
		m.Sender = []string{"ACME", "4422", "+995322000000", "ACMEBANK"}[r.IntN(4)]
		if r.IntN(100) == 0 {
			m.Dest = blocked[r.IntN(len(blocked))]
		} else {
			m.Dest = benchNumber(r)
		}
		m.Text = benchTexts[r.IntN(len(benchTexts))]
	}
	return g, msgs
}

// BenchmarkChain is the whole chain per message, as Check runs it at
// ingest; the clock advances 100 µs per message (10k msg/s).
func BenchmarkChain(b *testing.B) {
	g, msgs := benchSetup(b)
	now := t0
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	n := 0
	for i := 0; b.Loop(); i++ {
		g.Check(&msgs[i&(len(msgs)-1)], now.Add(time.Duration(i)*100*time.Microsecond))
		n++
	}
	cpu.report(b, n)
}

// BenchmarkChainParallel runs the chain from GOMAXPROCS goroutines.
func BenchmarkChainParallel(b *testing.B) {
	g, msgs := benchSetup(b)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	defer func() { cpu.report(b, b.N) }()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(len(msgs))
		now := t0
		for pb.Next() {
			i++
			now = now.Add(100 * time.Microsecond)
			g.Check(&msgs[i&(len(msgs)-1)], now)
		}
	})
}

// BenchmarkChainLatency times each Check on its own and reports the p50,
// p99 and p99.9 per message (the two clock reads, ~50 ns, included).
func BenchmarkChainLatency(b *testing.B) {
	g, msgs := benchSetup(b)
	const n = 1 << 20
	lat := make([]time.Duration, 0, n)
	b.ResetTimer()
	for b.Loop() {
		lat = lat[:0]
		now := t0
		for i := range n {
			now = now.Add(100 * time.Microsecond)
			start := time.Now()
			g.Check(&msgs[i&(len(msgs)-1)], now)
			lat = append(lat, time.Since(start))
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2]), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100]), "p99-ns")
	b.ReportMetric(float64(lat[len(lat)*999/1000]), "p99.9-ns")
	b.ReportMetric(0, "ns/op")
}

func BenchmarkBlocklistContains(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	bl := NewBlocklist()
	nums := make([]string, 1_000_000)
	for i := range nums {
		nums[i] = benchNumber(r)
	}
	bl.Replace(slices.Values(nums))
	probe := make([]string, 1<<16)
	for i := range probe {
		if i%2 == 0 {
			probe[i] = nums[r.IntN(len(nums))]
		} else {
			probe[i] = benchNumber(r)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		bl.Contains(probe[i&(len(probe)-1)])
	}
}

// BenchmarkBlocklistBuild1M bulk-loads one million numbers and reports
// the heap the loaded list holds.
func BenchmarkBlocklistBuild1M(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	nums := make([]string, 1_000_000)
	for i := range nums {
		nums[i] = benchNumber(r)
	}
	var heap uint64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		bl := NewBlocklist()
		bl.Replace(slices.Values(nums))
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = after.HeapAlloc - before.HeapAlloc
		runtime.KeepAlive(bl)
	}
	b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
}

func BenchmarkBlocklistAdd(b *testing.B) {
	bl := NewBlocklist()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		bl.Add(strconv.Itoa(995500000000 + i))
	}
}

func BenchmarkContent100(b *testing.B) {
	cs, err := compileContent(benchContentRules())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu := startCPU()
	n := 0
	for i := 0; b.Loop(); i++ {
		cs.match("acme", benchTexts[i%len(benchTexts)])
		n++
	}
	cpu.report(b, n)
}

// BenchmarkStage runs the message mix through a Guard with one check on
// at a time, to split the chain's cost.
func BenchmarkStage(b *testing.B) {
	full := benchRules()
	stages := []struct {
		name string
		r    Rules
	}{
		{"none", Rules{}},
		{"blocklist", Rules{Blocklist: true}},
		{"senders", Rules{Senders: full.Senders}},
		{"content", Rules{Content: full.Content}},
		// Without the 10 account rules that have no required literal
		// (the card-number pattern runs on every text of its account).
		{"content-literal-rules", Rules{Content: slices.Concat(full.Content[:80], full.Content[90:])}},
		{"loop", Rules{Loop: full.Loop}},
		{"pumping", Rules{Pumping: full.Pumping}},
		{"all", full},
		{"all-literal-rules", func() Rules {
			r := full
			r.Content = slices.Concat(full.Content[:80], full.Content[90:])
			return r
		}()},
	}
	g, msgs := benchSetup(b)
	for _, s := range stages {
		b.Run(s.name, func(b *testing.B) {
			if err := g.SetRules(s.r); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu := startCPU()
			n := 0
			for i := 0; b.Loop(); i++ {
				g.Check(&msgs[i&(len(msgs)-1)], t0.Add(time.Duration(i)*100*time.Microsecond))
				n++
			}
			cpu.report(b, n)
		})
	}
}

// BenchmarkStateMemory fills the loop guard and the pumping guard to their
// default bounds and reports the heap each holds, in all and per entry.
func BenchmarkStateMemory(b *testing.B) {
	var loopB, rangeB, loopMiB, rangeMiB float64
	for b.Loop() {
		var m0, m1, m2 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		g := mustGuard(b, Rules{Loop: &LoopRules{Max: 30, Per: 30 * time.Second}}, Options{})
		for i := range DefaultMaxLoopPairs {
			g.loop.allow(uint64(i)*0x9E3779B97F4A7C15, 30, int64(30*time.Second), t0.UnixNano())
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		p := &pumpRules{PumpingRules: PumpingRules{MaxPerMinute: 300}, window: int64(time.Minute)}
		for i := range DefaultMaxRanges {
			g.pump.onMessage(uint64(i)*0x9E3779B97F4A7C15, "a", "r", p, ModeBlock, t0.UnixNano())
		}
		runtime.GC()
		runtime.ReadMemStats(&m2)
		if g.loop.t.len() < DefaultMaxLoopPairs*7/8 || g.pump.t.len() < DefaultMaxRanges*7/8 {
			b.Fatalf("tables hold %d pairs, %d ranges", g.loop.t.len(), g.pump.t.len())
		}
		loopMiB = float64(m1.HeapAlloc-m0.HeapAlloc) / (1 << 20)
		rangeMiB = float64(m2.HeapAlloc-m1.HeapAlloc) / (1 << 20)
		loopB = float64(m1.HeapAlloc-m0.HeapAlloc) / float64(g.loop.t.len())
		rangeB = float64(m2.HeapAlloc-m1.HeapAlloc) / float64(g.pump.t.len())
		runtime.KeepAlive(g)
	}
	b.ReportMetric(loopB, "B/loop-pair")
	b.ReportMetric(rangeB, "B/range")
	b.ReportMetric(loopMiB, "loop-MiB")
	b.ReportMetric(rangeMiB, "ranges-MiB")
}
