package gateway

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/smsgate/smsgate/pkg/smppsim"
)

// Equal-rank routes share traffic by weight, end to end: 10,000 messages
// over two routes of the same cost weighted 70/30 reach the two SMSCs
// within ±2% of 70/30 (issue #10; σ of the share is 0.46% here).
func TestWeightedSplitAtTheSMSCs(t *testing.T) {
	routing := `routes:
  - {prefix: "995", operator: magti, cost: 0.010, currency: EUR, weight: 70}
  - {prefix: "995", operator: silknet, cost: 0.010, currency: EUR, weight: 30}
accounts:
  - name: acme
    senders: ["ACME"]
    rates:
      - {prefix: "995", price: 0.030, currency: EUR}
`
	e := newEnv(t, twoOperators(smppsim.Options{}, smppsim.Options{}), routing)
	e.start()
	e.waitBound("magti", "silknet") // a member that is down gives its share away
	const n = 10000
	recs := make([]map[string]any, n)
	for i := range recs {
		recs[i] = msg(fmt.Sprintf("w%05d", i), fmt.Sprintf("99559%07d", i), "split")
	}
	e.submit(recs...)
	var magti, silknet int
	waitFor(t, 3*time.Minute, "every message at an SMSC", func() bool {
		magti, silknet = len(e.sims["magti"].Submits()), len(e.sims["silknet"].Submits())
		return magti+silknet >= n
	})
	if magti+silknet != n {
		t.Fatalf("the SMSCs got %d submits for %d messages", magti+silknet, n)
	}
	share := float64(magti) / n
	t.Logf("magti %d, silknet %d: %.2f%% / %.2f%%", magti, silknet, 100*share, 100*(1-share))
	if math.Abs(share-0.70) > 0.02 {
		t.Errorf("split %.2f%% / %.2f%%, want 70/30 within ±2%%", 100*share, 100*(1-share))
	}
}
