package gateway

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/smsgate/smsgate/pkg/smppsim"
)

// qualityEnv: magti costs 0.010 and delivers 40%, silknet costs 0.015 and
// delivers 95% (0.025 against 0.0158 per delivered message); both route
// 995, and 99559 numbers resolve to network 28201.
func qualityEnv(t *testing.T, quality string) *env {
	t.Helper()
	ranges := filepath.Join(t.TempDir(), "ranges.csv")
	if err := os.WriteFile(ranges, []byte("prefix,mcc,mnc,network\n99559,282,01,Magti\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	magti := smppsim.Options{DeliveredRatio: 0.40, UndelivRatio: 0.60, Seed: 1}
	silknet := smppsim.Options{DeliveredRatio: 0.95, UndelivRatio: 0.05, Seed: 2}
	return newEnv(t, twoOperators(magti, silknet), fmt.Sprintf(`numbering:
  default_country: "995"
  ranges: %s
routes:
  - {prefix: "995", operator: magti, cost: 0.010, currency: EUR}
  - {prefix: "995", operator: silknet, cost: 0.015, currency: EUR}
accounts:
  - name: acme
    rates: [{prefix: "995", price: 0.030, currency: EUR}]
%s`, ranges, quality))
}

// wave submits n messages with ids prefix0000… to 99559 numbers.
func wave(e *env, prefix string, n int) []map[string]any {
	recs := make([]map[string]any, n)
	for i := range recs {
		recs[i] = msg(fmt.Sprintf("%s%04d", prefix, i), fmt.Sprintf("99559%07d", len(prefix)*100000+i), "quality")
	}
	e.submit(recs...)
	return recs
}

// operatorsOf counts the operator of each record's final event.
func operatorsOf(e *env, recs []map[string]any) map[string]int {
	out := map[string]int{}
	for _, r := range recs {
		if l := e.events.last(r["id"].(string)); l != nil {
			out[fmt.Sprint(l["operator"])]++
		}
	}
	return out
}

// TestQualityRoutingMovesTrafficWithinOneWindow is issue #10's quality
// test: with `quality` on, once the cheap route's receipts show 40%
// delivery, traffic moves to the route with the better cost per delivered
// message within one window; when those receipts have left the window the
// cheap route ranks by cost again. The figures are on the status page data
// (Live) and in the metrics. With `quality` off, cost alone decides.
func TestQualityRoutingMovesTrafficWithinOneWindow(t *testing.T) {
	const window = 6 * time.Second
	t.Run("on", func(t *testing.T) {
		e := qualityEnv(t, fmt.Sprintf("quality: {window: %s, min_samples: 20, explore: 0.02}\n", window))
		e.start()
		waitFor(t, 15*time.Second, "bound", func() bool { return e.gw.pools["magti"].Usable() && e.gw.pools["silknet"].Usable() })
		q := e.gw.tables.Load().Routes.Quality()
		if q == nil {
			t.Fatal("quality section on, but no statistics attached to the routes")
		}
		t0 := time.Now()
		w1 := wave(e, "qa", 40) // no receipts yet: cost decides
		waitFor(t, window, "20 magti receipts in the window", func() bool {
			return q.Figures("magti", "28201", time.Now()).Samples() >= 20
		})
		w2 := wave(e, "qb", 100)
		shifted := time.Since(t0)
		waitAllFinal(t, e, append(w1, w2...), 60*time.Second, "delivered", "undeliverable")
		ops1, ops2 := operatorsOf(e, w1), operatorsOf(e, w2)
		t.Logf("wave 1 %v, wave 2 %v (magti figures %+v, silknet %+v)", ops1, ops2,
			q.Figures("magti", "28201", time.Now()), q.Figures("silknet", "28201", time.Now()))
		// Until 20 of its receipts are in, magti ranks by its lower cost
		// (wave 1 is usually routed whole before any receipt: 40 of 40
		// but for explore).
		if ops1["magti"] < 24 {
			t.Errorf("wave 1 (before receipts) %v: want the cheaper magti for ≥ 24 of 40", ops1)
		}
		if ops2["silknet"] < 90 {
			t.Errorf("wave 2 (magti judged at ~40%%) %v: want silknet for ≥ 90 of 100", ops2)
		}
		// Wave 2 went in within one window of magti's first traffic.
		if shifted >= window {
			t.Errorf("wave 2 submitted %s after wave 1: not within one window (%s)", shifted, window)
		}

		// The status page data and the metrics show the per-route figures.
		var mg []RouteQualityLive
		for _, o := range e.gw.Live().([]OperatorLive) {
			if o.Name == "magti" {
				mg = o.Quality
			}
		}
		if len(mg) != 1 || mg[0].Network != "28201" || mg[0].Delivered+mg[0].Failed < 20 || !mg[0].Judged || mg[0].WindowS != window.Seconds() {
			t.Errorf("Live quality of magti: %+v", mg)
		}
		if b, _ := json.Marshal(e.gw.Live()); !strings.Contains(string(b), `"delivery_rate"`) {
			t.Errorf("status page JSON lacks the quality figures: %s", b)
		}
		rate := metricValue(t, e, "smsgate_route_delivery_rate", "magti", "28201")
		if rate < 0.2 || rate > 0.6 {
			t.Errorf("smsgate_route_delivery_rate{magti,28201} = %v, want about 0.4", rate)
		}
		if n, err := testutil.GatherAndCount(e.reg, "smsgate_route_receipt_latency_seconds"); err != nil || n != 2 {
			t.Errorf("latency series: %d %v, want one per operator", n, err)
		}

		// No traffic for a window: magti's receipts leave it, and with
		// fewer than min_samples it ranks by cost again (20 messages cannot
		// bring it back to min_samples before they are all routed).
		waitFor(t, window+2*time.Second, "magti receipts out of the window", func() bool {
			return q.Figures("magti", "28201", time.Now()).Samples() == 0
		})
		w3 := wave(e, "qc", 20)
		waitAllFinal(t, e, w3, 60*time.Second, "delivered", "undeliverable")
		if ops3 := operatorsOf(e, w3); ops3["magti"] < 16 {
			t.Errorf("wave 3 (magti's receipts expired) %v: want magti (cost) for ≥ 16 of 20", ops3)
		}
	})
	t.Run("off", func(t *testing.T) {
		e := qualityEnv(t, "")
		e.start()
		waitFor(t, 15*time.Second, "bound", func() bool { return e.gw.pools["magti"].Usable() && e.gw.pools["silknet"].Usable() })
		w1 := wave(e, "qa", 40)
		waitAllFinal(t, e, w1, 60*time.Second, "delivered", "undeliverable")
		w2 := wave(e, "qb", 100)
		waitAllFinal(t, e, w2, 60*time.Second, "delivered", "undeliverable")
		if ops := operatorsOf(e, append(w1, w2...)); ops["magti"] != 140 {
			t.Errorf("quality off: %v, want all 140 on magti (cost alone)", ops)
		}
		if e.gw.tables.Load().Routes.Quality() != nil {
			t.Error("quality off, but statistics attached")
		}
		if n, err := testutil.GatherAndCount(e.reg, "smsgate_route_delivery_rate"); err != nil || n != 0 {
			t.Errorf("quality off: %d delivery rate series (%v), want none", n, err)
		}
	})
}

// metricValue is the gauge value of name{operator, network}.
func metricValue(t *testing.T, e *env, name, op, network string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if l["operator"] == op && l["network"] == network {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no %s{operator=%q,network=%q}", name, op, network)
	return 0
}
