package gateway

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smsgate/smsgate/pkg/smppsim"
)

// An account's tps is shared by demand: with two instances and one bind
// (so one instance sends everything), the sender gets nearly the whole
// cap rather than half of it, and the two shares never add up to more
// than the cap.
func TestAccountTPSSharedByDemand(t *testing.T) {
	e := newEnv(t, []simSpec{{name: "magti", opts: smppsim.Options{}}}, `routes:
  - {prefix: "995", operator: magti, cost: 0.010, currency: EUR}
accounts:
  - {name: acme, tps: 90, rates: [{prefix: "995", price: 0.030, currency: EUR}]}
`)
	e.start()
	reg2 := prometheus.NewRegistry()
	gw2, err := New(e.cfg, e.st, Options{Logger: testLogger(t), Registerer: reg2, InstanceID: "second", HousekeepingEvery: 100 * time.Millisecond,
		OrphanAfter: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw2.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("second gateway: %v", err)
		}
	})
	var recs []map[string]any
	for i := 0; i < 900; i++ {
		recs = append(recs, msg(fmt.Sprintf("t%03d", i), fmt.Sprintf("99559%07d", i), "capped by tps"))
	}
	e.submit(recs...)
	share := func(reg *prometheus.Registry) float64 {
		mfs, _ := reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() == "smsgate_account_tps_share" {
				for _, m := range mf.GetMetric() {
					return m.GetGauge().GetValue()
				}
			}
		}
		return 0
	}
	var s1, s2 float64
	waitFor(t, 30*time.Second, "the sending instance holding most of the cap", func() bool {
		s1, s2 = share(e.reg), share(reg2)
		if s1+s2 > 91 {
			t.Fatalf("shares %.1f + %.1f above the cap of 90", s1, s2)
		}
		return max(s1, s2) >= 60
	})
	t.Logf("shares of the 90 parts/s cap: %.1f and %.1f", s1, s2)
	waitAllFinal(t, e, recs, 60*time.Second, "delivered")
}
