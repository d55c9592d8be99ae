package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/internal/config"
)

func TestPlanCapsAndPrefixes(t *testing.T) {
	ops, err := planOperators(100, 10, 100, 10)
	if err != nil {
		t.Fatal(err)
	}
	if ops[0].TPS != 10 || ops[99].TPS != 100 {
		t.Fatalf("caps %d..%d, want 10..100", ops[0].TPS, ops[99].TPS)
	}
	if got := sumTPS(ops); got != 5500 {
		t.Fatalf("sum of caps %d, want 5500", got)
	}
	seen := map[string]bool{}
	for _, o := range ops {
		if o.Messages != o.TPS*10 {
			t.Fatalf("%s: %d messages for cap %d over 10 s", o.Name, o.Messages, o.TPS)
		}
		for p := range seen {
			if strings.HasPrefix(o.Prefix, p) || strings.HasPrefix(p, o.Prefix) {
				t.Fatalf("prefix %s overlaps %s", o.Prefix, p)
			}
		}
		seen[o.Prefix] = true
	}
	if _, err := planOperators(0, 10, 100, 1); err == nil {
		t.Fatal("0 operators accepted")
	}
	if _, err := planOperators(2, 50, 10, 1); err == nil {
		t.Fatal("min > max accepted")
	}
}

// The generated config must pass smsgate's strict loader, with every
// operator, cap and route as planned.
func TestConfigLoads(t *testing.T) {
	ops, err := planOperators(100, 10, 100, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ops {
		ops[i].Host, ops[i].Port = "127.0.0.1", "2775"
	}
	path := filepath.Join(t.TempDir(), "smsgate.yml")
	y := configYAML(ops, "127.0.0.1:9092", "postgres://postgres@127.0.0.1:5432/x?sslmode=disable", "127.0.0.1:18080", 10, 10)
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Operators) != 100 || len(cfg.Routes) != 100 {
		t.Fatalf("%d operators, %d routes", len(cfg.Operators), len(cfg.Routes))
	}
	binds := 0
	for i, o := range cfg.Operators {
		binds += o.Binds
		if o.TPS != float64(ops[i].TPS) || o.SystemID != ops[i].Name {
			t.Fatalf("operator %d: tps %g system_id %q", i, o.TPS, o.SystemID)
		}
	}
	if binds != 1000 {
		t.Fatalf("%d binds, want 1000", binds)
	}
}

// Records are interleaved in proportion to the caps: every prefix of the
// stream one virtual second long holds each operator's cap.
func TestRecordsInterleaved(t *testing.T) {
	ops, _ := planOperators(3, 1, 3, 4) // caps 1, 2, 3; 4, 8, 12 messages
	recs := records(ops)
	if len(recs) != 24 {
		t.Fatalf("%d records, want 24", len(recs))
	}
	var first []string
	ids := map[string]bool{}
	for i, m := range recs {
		var v struct{ ID, To string }
		if err := json.Unmarshal(m.Value, &v); err != nil {
			t.Fatal(err)
		}
		if ids[v.ID] {
			t.Fatalf("duplicate id %s", v.ID)
		}
		ids[v.ID] = true
		if i < 6 {
			first = append(first, v.ID[:5])
		}
		op := ops[v.ID[4]-'0'] // op000..op002
		if !strings.HasPrefix(v.To, op.Prefix) {
			t.Fatalf("%s to %s, want prefix %s", v.ID, v.To, op.Prefix)
		}
	}
	if got := strings.Join(first, ","); got != "op000,op001,op001,op002,op002,op002" {
		t.Fatalf("first virtual second: %s", got)
	}
}

func TestMeasure(t *testing.T) {
	t0 := time.Unix(1000, 0)
	// 61 samples one second apart at exactly 50/s, except seconds 20..30 at 60/s.
	var ss []sample
	var n uint64
	for i := 0; i <= 60; i++ {
		ss = append(ss, sample{at: t0.Add(time.Duration(i) * time.Second), n: n})
		if i >= 20 && i < 30 {
			n += 60
		} else {
			n += 50
		}
	}
	r := measure("x", 50, ss)
	if r.Count != 3100 || r.Span != 60*time.Second {
		t.Fatalf("count %d span %s", r.Count, r.Span)
	}
	if math.Abs(r.Rate-3100.0/60) > 1e-9 || math.Abs(r.ErrPct-(3100.0/60-50)/50*100) > 1e-9 {
		t.Fatalf("rate %v err %v", r.Rate, r.ErrPct)
	}
	if math.Abs(r.Worst10s-20) > 1e-9 {
		t.Fatalf("worst 10 s stretch %+.2f%%, want +20%%", r.Worst10s)
	}
	if got := measure("y", 10, ss[:1]); got.Rate != 0 || got.Count != 0 {
		t.Fatalf("one sample: %+v", got)
	}
}

func TestSummarize(t *testing.T) {
	rs := []opResult{
		{Name: "a", Cap: 10, Rate: 10.05, ErrPct: 0.5, MinQueued: 5, Left: 10},
		{Name: "b", Cap: 100, Rate: 97, ErrPct: -3, MinQueued: 0, Left: 10},
		{Name: "c", Cap: 50, Rate: 50.01, ErrPct: 0.02, MinQueued: -1, Left: 0},
	}
	s := summarize(rs)
	if s.Within1 != 2 || s.Worst.Name != "b" || s.Best.Name != "c" || s.SumCap != 160 || s.Starved != 2 {
		t.Fatalf("%+v", s)
	}
	if math.Abs(s.Aggregate-157.06) > 1e-9 {
		t.Fatalf("aggregate %v", s.Aggregate)
	}
}

// A 100 msg/s stream paused for 80 ms after every 100th message: stalls
// are found, counted and their period recovered.
func TestStalls(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var at []time.Time
	cur := t0
	for i := 0; i < 500; i++ {
		if i > 0 && i%100 == 0 {
			cur = cur.Add(80 * time.Millisecond)
		}
		at = append(at, cur)
		cur = cur.Add(10 * time.Millisecond)
	}
	s := stalls("x", 100, at)
	if s.Long != 0 {
		t.Fatalf("%d long stalls in 90 ms gaps", s.Long)
	}
	at[250] = at[249].Add(300 * time.Millisecond) // one long stall, then back to the old clock
	for i := 251; i < len(at); i++ {
		at[i] = at[i].Add(290 * time.Millisecond)
	}
	s = stalls("x", 100, at)
	if s.Long != 1 || s.LongLost != 290*time.Millisecond || s.Stalls != 5 {
		t.Fatalf("%+v", s)
	}
	at = at[:0]
	cur = t0
	for i := 0; i < 500; i++ {
		if i > 0 && i%100 == 0 {
			cur = cur.Add(80 * time.Millisecond)
		}
		at = append(at, cur)
		cur = cur.Add(10 * time.Millisecond)
	}
	s = stalls("x", 100, at)
	if s.Stalls != 4 || s.MedianRun != 100 || s.MedianGap != 90*time.Millisecond || s.Lost != 4*80*time.Millisecond {
		t.Fatalf("%+v", s)
	}
	if e := stalls("y", 100, at[:100]); e.Stalls != 0 || e.Lost != 0 || e.LongestGap != 10*time.Millisecond {
		t.Fatalf("%+v", e)
	}
}

func TestPauses(t *testing.T) {
	t0 := time.Unix(1000, 0)
	// Two operators interleaved every 5 ms, both silent from 100 to 400 ms:
	// one 300 ms pause of the whole stream, none within 100 ms.
	var at []time.Time
	for ms := 0; ms < 1000; ms += 5 {
		if ms > 100 && ms < 400 {
			continue
		}
		at = append(at, t0.Add(time.Duration(ms)*time.Millisecond))
	}
	p := pauses(at)
	if p.Pauses != 1 || p.Longest != 300*time.Millisecond || p.Total != 300*time.Millisecond {
		t.Fatalf("%+v", p)
	}
}

func TestTimerProbe(t *testing.T) {
	stop := make(chan struct{})
	p := startTimerProbe(stop)
	time.Sleep(200 * time.Millisecond)
	close(stop)
	p50, p99, mx, n := p.result()
	if n < 5 || p50 < 0 || p99 < p50 || mx < p99 {
		t.Fatalf("n=%d p50=%s p99=%s max=%s", n, p50, p99, mx)
	}
}
