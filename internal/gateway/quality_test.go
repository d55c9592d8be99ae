package gateway

import (
	"testing"
	"time"

	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/policy"
)

const qualityConfig = `kafka: {brokers: ["127.0.0.1:9092"], group: g}
postgres: {dsn: "postgres://x@127.0.0.1/x"}
operators:
  - {name: magti, host: 127.0.0.1, port: 2775, system_id: a, password: pw}
  - {name: silknet, host: 127.0.0.1, port: 2776, system_id: b, password: pw}
routes:
  - {prefix: "995", operator: magti, cost: 0.010, currency: EUR}
  - {prefix: "995", operator: silknet, cost: 0.015, currency: EUR}
`

func qualityTables(t *testing.T, quality string, prev *policy.Tables) *policy.Tables {
	t.Helper()
	cfg, err := config.Parse([]byte(qualityConfig+quality), ".")
	if err != nil {
		t.Fatal(err)
	}
	tb, err := policy.Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tb.WithQuality(cfg, prev)
	return tb
}

// Final receipts feed the statistics of the attempt's operator and network
// with the latency from the first part's submit; intermediate states do
// not. A reload keeps the statistics unless the window changes; without
// the section there are none and cost alone ranks.
func TestQualityObservedAndKeptOverReload(t *testing.T) {
	now := time.Now()
	t1 := qualityTables(t, "quality: {window: 10s, min_samples: 3, explore: 0.1}\n", nil)
	q := t1.Routes.Quality()
	if q == nil || q.Window() != 10*time.Second || t1.Routes.QualityMinSamples() != 3 {
		t.Fatalf("quality not attached: %v", q)
	}
	first := now.Add(-3 * time.Second) // the attempt's first submit
	for range 3 {
		t1.ObserveFinal("magti", "28201", false, first, now)
	}
	t1.ObserveFinal("magti", "28201", false, first, now) // expired
	t1.ObserveFinal("magti", "28201", true, first, now)
	t1.ObserveFinal("", "28201", true, first, now) // no operator: not counted
	f := q.Figures("magti", "28201", now)
	if f.Delivered != 1 || f.Failed != 4 || f.Latency != 3*time.Second {
		t.Fatalf("figures %+v: want 1 delivered, 4 failed, 3 s latency", f)
	}
	c, err := t1.Routes.Choose("995591234567", "28201", "", now, nil, nil, 0.5)
	if err != nil || c.Route.Operator != "silknet" {
		t.Fatalf("magti at 20%%: chose %s %v, want silknet", c.Route.Operator, err)
	}
	live := qualityLive(t1, now)
	if l := live["magti"]; len(l) != 1 || l[0].Network != "28201" || l[0].Rate != 0.2 || !l[0].Judged || l[0].LatencyS != 3 {
		t.Fatalf("live %+v", live)
	}
	t2 := qualityTables(t, "quality: {window: 10s, min_samples: 50, explore: 0.1}\n", t1)
	if t2.Routes.Quality() != q || t2.Routes.QualityMinSamples() != 50 {
		t.Fatal("reload with the same window must keep the statistics and take the new min_samples")
	}
	if l := qualityLive(t2, now)["magti"]; len(l) != 1 || l[0].Judged {
		t.Fatalf("5 receipts < min_samples 50 must not be judged: %+v", l)
	}
	if t3 := qualityTables(t, "quality: {window: 20s}\n", t2); t3.Routes.Quality() == q || t3.Routes.Quality() == nil {
		t.Fatal("reload with another window must start new statistics")
	}
	t4 := qualityTables(t, "", t2)
	if t4.Routes.Quality() != nil || qualityLive(t4, now) != nil {
		t.Fatal("quality off: statistics attached")
	}
	t4.ObserveFinal("magti", "28201", true, first, now) // no-op, no panic
	if c, _ := t4.Routes.Choose("995591234567", "28201", "", now, nil, nil, 0.5); c.Route.Operator != "magti" {
		t.Fatalf("quality off: chose %s, want magti (cost)", c.Route.Operator)
	}
}
