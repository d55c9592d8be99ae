package gateway

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/smsgate/smsgate/pkg/smppsim"
)

// The month gauges keep one series per account, operator and currency, and
// each equals the ledger's total (they once kept one account per operator:
// each row overwrote the last).
func TestBillingMonthMetricsMatchLedger(t *testing.T) {
	body := baseRouting + `  - name: beta
    senders: ["BETA"]
    country: "995"
    rates:
      - {prefix: "995", price: 0.050, currency: EUR}
`
	e := newEnv(t, twoOperators(smppsim.Options{}, smppsim.Options{}), body)
	e.start()
	var recs []map[string]any
	for i := 0; i < 7; i++ {
		recs = append(recs, msg(fmt.Sprintf("ba%d", i), fmt.Sprintf("9955993%05d", i), "acme to magti"))
	}
	for i := 0; i < 4; i++ {
		recs = append(recs, msg(fmt.Sprintf("bb%d", i), fmt.Sprintf("9955994%05d", i), "beta to magti", "account", "beta", "from", "BETA"))
	}
	for i := 0; i < 3; i++ {
		recs = append(recs, msg(fmt.Sprintf("bc%d", i), fmt.Sprintf("99532%06d", i), "beta to silknet", "account", "beta", "from", "BETA"))
	}
	e.submit(recs...)
	waitFor(t, 30*time.Second, "all billed", func() bool {
		var n int
		_ = e.st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM ledger`).Scan(&n)
		return n == len(recs)
	})
	type total struct {
		parts       float64
		price, cost float64
	}
	want := map[[3]string]total{}
	rows, err := e.st.Pool.Query(context.Background(), `SELECT account, operator, currency, count(*), sum(price)::float8, sum(cost)::float8 FROM ledger GROUP BY 1, 2, 3`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k [3]string
		var v total
		if err := rows.Scan(&k[0], &k[1], &k[2], &v.parts, &v.price, &v.cost); err != nil {
			t.Fatal(err)
		}
		want[k] = v
	}
	rows.Close()
	if len(want) != 3 {
		t.Fatalf("ledger groups %v, want acme/magti, beta/magti, beta/silknet", want)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	match := func() bool {
		for k, v := range want {
			l := map[string]string{"account": k[0], "operator": k[1], "currency": k[2]}
			if !near(e.metric("smsgate_billing_month_parts", l), v.parts) || !near(e.metric("smsgate_billing_month_revenue", l), v.price) ||
				!near(e.metric("smsgate_billing_month_cost", l), v.cost) {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(30 * time.Second)
	for !match() && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	for k, v := range want {
		l := map[string]string{"account": k[0], "operator": k[1], "currency": k[2]}
		if got := e.metric("smsgate_billing_month_revenue", l); !near(got, v.price) {
			t.Errorf("%v: revenue gauge %v, ledger %v", k, got, v.price)
		}
		if got := e.metric("smsgate_billing_month_parts", l); !near(got, v.parts) {
			t.Errorf("%v: parts gauge %v, ledger %v", k, got, v.parts)
		}
		if got := e.metric("smsgate_billing_month_cost", l); !near(got, v.cost) {
			t.Errorf("%v: cost gauge %v, ledger %v", k, got, v.cost)
		}
	}
}
