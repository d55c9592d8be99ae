package gateway

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/pkg/smppsim"
)

// Interface §6: cost_on decides when an attempt's operator cost is
// recorded, charge_on when the customer is charged; a failed attempt whose
// cost applies gets its own ledger row with price 0.
func TestCostOnAndFailedAttemptRows(t *testing.T) {
	routing := strings.Replace(baseRouting, `{prefix: "99559", operator: magti, cost: 0.012, currency: EUR}`,
		`{prefix: "99559", operator: magti, cost: 0.012, currency: EUR, cost_on: delivered}`, 1) +
		"reroute: {on: [REJECTD], max_attempts: 2}\n"
	// magti: charge_on submit, its 99559 route cost_on delivered.
	// silknet: charge_on delivered, cost_on submit; 995571 rejected there
	// by receipt (REJECTD: rerouted), 9955994 undelivered on magti (final).
	magti := smppsim.Options{DestStat: map[string]string{"9955994": smppsim.StatUndeliv}}
	silknet := smppsim.Options{DestStat: map[string]string{"995571": smppsim.StatRejected}}
	e := newEnv(t, twoOperators(magti, silknet), routing)
	e.cfg.Operators[1].ChargeOn = "delivered"
	e.start()
	waitFor(t, 10*time.Second, "both operators bound", func() bool {
		return e.gw.pools["magti"].Usable() && e.gw.pools["silknet"].Usable()
	})
	final := map[string]string{}
	for i := 0; i < 4; i++ {
		d, u := fmt.Sprintf("d%d", i), fmt.Sprintf("u%d", i)
		e.submit(msg(d, fmt.Sprintf("9955993%05d", i), "delivered"), msg(u, fmt.Sprintf("9955994%05d", i), "undelivered"))
		final[d], final[u] = "delivered", "undeliverable"
	}
	e.submit(msg("rr1", "995571000001", "silknet fails, magti delivers"))
	final["rr1"] = "delivered"
	waitFor(t, 30*time.Second, "final statuses", func() bool {
		for id, want := range final {
			if l := e.events.last(id); l == nil || l["status"] != want {
				return false
			}
		}
		return true
	})
	type row struct {
		attempt            int
		op, status         string
		cost, price, month string
	}
	ledger := func(id string) []row {
		rows, err := e.st.Pool.Query(context.Background(), `SELECT attempt, operator, status, cost::text, price::text, month FROM ledger WHERE message_id = $1 ORDER BY attempt, part`, id)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.attempt, &r.op, &r.status, &r.cost, &r.price, &r.month); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		return out
	}
	// Let late receipt batches land before reading the ledger.
	time.Sleep(500 * time.Millisecond)
	for i := 0; i < 4; i++ {
		d, u := ledger(fmt.Sprintf("d%d", i)), ledger(fmt.Sprintf("u%d", i))
		if len(d) != 1 || d[0].cost != "0.012000" || d[0].price != "0.030000" {
			t.Errorf("d%d ledger %+v: want one row, cost 0.012 (recorded on delivery), price 0.03", i, d)
		}
		if len(u) != 1 || u[0].cost != "0.000000" || u[0].price != "0.030000" {
			t.Errorf("u%d ledger %+v: want one row, cost 0 (cost_on delivered, not delivered), price 0.03 (charge_on submit)", i, u)
		}
	}
	r := ledger("rr1")
	if len(r) != 2 || r[0].op != "silknet" || r[0].price != "0.000000" || r[0].cost != "0.015000" || r[0].status != "undeliverable" ||
		r[1].op != "magti" || r[1].price != "0.030000" {
		t.Errorf("rr1 ledger %+v: want attempt 1 silknet cost 0.015 price 0 undeliverable (charge_on delivered, cost_on submit), then magti price 0.03", r)
	}
	// The month aggregates follow the ledger.
	var aggCost, ledgerCost, aggRevenue, ledgerRevenue string
	_ = e.st.Pool.QueryRow(context.Background(), `SELECT coalesce(sum(cost), 0)::text, coalesce(sum(revenue), 0)::text FROM billing_month WHERE operator <> ''`).Scan(&aggCost, &aggRevenue)
	_ = e.st.Pool.QueryRow(context.Background(), `SELECT sum(cost)::text, sum(price)::text FROM ledger`).Scan(&ledgerCost, &ledgerRevenue)
	if aggCost != ledgerCost || aggRevenue != ledgerRevenue {
		t.Errorf("billing_month cost %s revenue %s, ledger cost %s revenue %s", aggCost, aggRevenue, ledgerCost, ledgerRevenue)
	}
}
