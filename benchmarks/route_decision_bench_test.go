package benchmarks

import (
	"bytes"
	"fmt"
	"iter"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/numbering"
	"github.com/smsgate/smsgate/router"
)

// BenchmarkRouteDecision is the whole per-message route decision of §6:
// network resolution (10M ported numbers, 1M ranges) and route choice
// (a route per network and operator, prefix routes per country), for
// ported and range-resolved numbers. Reports p50/p99 per decision and the
// heap of the tables.
//
//	go test -run '^$' -bench RouteDecision -benchtime 1000000x ./benchmarks/
func BenchmarkRouteDecision(b *testing.B) {
	const nets, ranges, ported = 2000, 1_000_000, 10_000_000
	netOf := func(i int) (string, string) { return strconv.Itoa(200 + i/100), fmt.Sprintf("%02d", i%100) }
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	reg := numbering.NewRegistry()
	rng := rand.New(rand.NewPCG(1, 2))
	var csv bytes.Buffer
	csv.WriteString("prefix,mcc,mnc,network\n")
	seen := map[string]bool{}
	var rangePrefixes []string
	for len(rangePrefixes) < ranges {
		p := []byte{"12456789"[rng.IntN(8)]}
		for len(p) < 7 {
			p = append(p, byte('0'+rng.IntN(10)))
		}
		if seen[string(p)] {
			continue
		}
		seen[string(p)] = true
		rangePrefixes = append(rangePrefixes, string(p))
		mcc, mnc := netOf(rng.IntN(nets))
		fmt.Fprintf(&csv, "%s,%s,%s,n\n", p, mcc, mnc)
	}
	seen = nil
	rt, err := numbering.LoadRanges(&csv, reg, ranges)
	if err != nil {
		b.Fatal(err)
	}
	pc := numbering.NewPortedCache(reg, 24*time.Hour)
	portedNum := func(i int) string { return strconv.FormatUint(300000000000+uint64(i)*2654435761%10000000000, 10) }
	var rows iter.Seq2[numbering.PortedRow, error] = func(yield func(numbering.PortedRow, error) bool) {
		for i := range ported {
			mcc, mnc := netOf(i % nets)
			if !yield(numbering.PortedRow{Number: portedNum(i), MCC: mcc, MNC: mnc}, nil) {
				return
			}
		}
	}
	if _, err := pc.Load(ported, rows); err != nil {
		b.Fatal(err)
	}
	res := numbering.NewResolver(reg, rt, pc, nil)

	var routes []router.Route
	for i := range nets {
		mcc, mnc := netOf(i)
		for j, op := range []string{"op_a", "op_b"} {
			routes = append(routes, router.Route{MCCMNC: mcc + mnc, Operator: op, Cost: billing.Amount(10000 + j*100), Currency: "EUR", Weight: 70 - 40*j})
		}
	}
	for _, cc := range []string{"1", "2", "30", "4", "5", "6", "7", "8", "9"} {
		routes = append(routes, router.Route{Prefix: cc, Operator: "op_c", Cost: 20000, Currency: "EUR"})
	}
	table, err := router.NewTable(routes)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)

	queries := make([]string, 1<<16)
	for i := range queries {
		if i%2 == 0 {
			queries[i] = portedNum(rng.IntN(ported))
		} else {
			queries[i] = rangePrefixes[rng.IntN(len(rangePrefixes))] + fmt.Sprintf("%05d", rng.IntN(100000))
		}
	}
	usable := func(string) bool { return true }
	lat := make([]time.Duration, 0, b.N)
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := queries[i&(len(queries)-1)]
		t0 := time.Now()
		id, _ := res.ResolveNoWait(q)
		net := ""
		if id != 0 {
			net = reg.Network(id).MCCMNC
		}
		if _, err := table.Choose(q, net, "", now, usable, nil, 0.5); err != nil {
			b.Fatal(q, err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	// Reported after the timer reset, which clears reported metrics.
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MB")
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
		b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
	}
}
