package gateway

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/pkg/smppsim"
)

// Reroute on an undelivered receipt: the message goes again on the next
// route with the same id; `submitted` is published once and the
// intermediate failure never as final; the failed attempt keeps its ledger
// row with its cost, price 0 and its status; the customer pays once. With
// every operator tried (max_attempts), the last failure is final. REJECTD
// is not listed, so it is final at once.
func TestRerouteOnUndelivered(t *testing.T) {
	// 9955 numbers outside 99559 route silknet (0.015) first, magti (0.018) next.
	silknet := smppsim.Options{DestStat: map[string]string{"995571": smppsim.StatUndeliv, "995572": smppsim.StatUndeliv, "995573": smppsim.StatRejected}}
	magti := smppsim.Options{DestStat: map[string]string{"995572": smppsim.StatUndeliv}}
	e := newEnv(t, twoOperators(magti, silknet), baseRouting+"reroute: {on: [UNDELIV], max_attempts: 2}\n")
	e.start()
	e.waitBound("magti", "silknet") // first attempts go to silknet, the cheaper route
	e.submit(
		msg("rr1", "995571000001", "rerouted, then delivered"),
		msg("rr2", "995571000002", strings.Repeat("two parts, rerouted ", 9)),
		msg("rr3", "995572000003", "undelivered everywhere"),
		msg("rr4", "995573000004", "rejected: not listed"),
	)
	final := map[string]string{"rr1": "delivered", "rr2": "delivered", "rr3": "undeliverable", "rr4": "undeliverable"}
	defer func() {
		if t.Failed() {
			for id := range final {
				t.Logf("%s: %v (db %s)", id, e.events.statuses(id), e.dbState(id))
			}
			var early, orphan int
			_ = e.st.Pool.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE orphan) FROM early_receipts`).Scan(&early, &orphan)
			rows, _ := e.st.Pool.Query(context.Background(), `SELECT message_id, part, attempt, operator, convert_from(coalesce(smsc_id, ''), 'UTF8'), state FROM attempts`)
			for rows.Next() {
				var id, op, smsc string
				var p, a, st int
				_ = rows.Scan(&id, &p, &a, &op, &smsc, &st)
				t.Logf("part %s/%d/%d %s %s state %d", id, p, a, op, smsc, st)
			}
			rows.Close()
			t.Logf("early receipts %d (orphan %d)", early, orphan)
			for n, sim := range e.sims {
				st := sim.Stats()
				t.Logf("%s: submits %d receipts sent %d acked %d nacked %d unacked %d", n, st.Submits, st.ReceiptsSent, st.ReceiptsAcked, st.ReceiptsNacked, st.ReceiptsUnacked)
			}
		}
	}()
	waitFor(t, 30*time.Second, "final statuses", func() bool {
		for id, want := range final {
			if l := e.events.last(id); l == nil || l["status"] != want {
				return false
			}
		}
		return true
	})
	for id := range final {
		st := e.events.statuses(id)
		if n := strings.Count(strings.Join(st, ","), "submitted"); n != 1 {
			t.Errorf("%s: statuses %v: want submitted once", id, st)
		}
		finals := 0
		for _, s := range st {
			if s == "delivered" || s == "undeliverable" || s == "expired" || s == "rejected" {
				finals++
			}
		}
		if finals != 1 {
			t.Errorf("%s: statuses %v: want one final", id, st)
		}
	}
	if l := e.events.last("rr1"); l["operator"] != "magti" {
		t.Errorf("rr1 delivered via %v, want magti (the second route)", l["operator"])
	}
	if l := e.events.last("rr4"); l["operator"] != "silknet" {
		t.Errorf("rr4 (REJECTD, not listed) went to %v, want silknet only", l["operator"])
	}
	type row struct {
		attempt     int
		op, status  string
		cost, price string
	}
	ledger := func(id string) []row {
		rows, err := e.st.Pool.Query(context.Background(), `SELECT attempt, operator, status, cost::text, price::text FROM ledger WHERE message_id = $1 AND part = 1 ORDER BY attempt`, id)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.attempt, &r.op, &r.status, &r.cost, &r.price); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		return out
	}
	r1 := ledger("rr1")
	if len(r1) != 2 || r1[0].op != "silknet" || r1[0].price != "0.000000" || r1[0].status != "undeliverable" || r1[0].cost != "0.015000" ||
		r1[1].op != "magti" || r1[1].price != "0.030000" || r1[1].cost != "0.018000" {
		t.Errorf("rr1 ledger %+v: want attempt 1 silknet cost 0.015 price 0 undeliverable, attempt 2 magti cost 0.018 price 0.03", r1)
	}
	var parts int
	var revenue string
	if err := e.st.Pool.QueryRow(context.Background(), `SELECT count(*), sum(price)::text FROM ledger WHERE message_id = 'rr2' AND price > 0`).Scan(&parts, &revenue); err != nil {
		t.Fatal(err)
	}
	if parts != 2 || revenue != "0.060000" {
		t.Errorf("rr2 billed %d parts for %s, want 2 parts (the last attempt) for 0.06", parts, revenue)
	}
	if got := submitsTo(e.sims["magti"])["995572000003"] + submitsTo(e.sims["silknet"])["995572000003"]; got != 2 {
		t.Errorf("rr3 sent %d times, want 2 (max_attempts)", got)
	}
	// Month revenue and the tier counter follow the refund.
	var monthRevenue string
	var tierParts int64
	if err := e.st.Pool.QueryRow(context.Background(), `SELECT coalesce(sum(revenue), 0)::text FROM billing_month WHERE operator <> ''`).Scan(&monthRevenue); err != nil {
		t.Fatal(err)
	}
	var ledgerRevenue string
	_ = e.st.Pool.QueryRow(context.Background(), `SELECT sum(price)::text FROM ledger`).Scan(&ledgerRevenue)
	if monthRevenue != ledgerRevenue {
		t.Errorf("billing_month revenue %s, ledger %s", monthRevenue, ledgerRevenue)
	}
	var billedParts int64
	_ = e.st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM ledger WHERE price > 0`).Scan(&billedParts)
	_ = e.st.Pool.QueryRow(context.Background(), `SELECT coalesce(sum(parts), 0) FROM billing_month WHERE operator = ''`).Scan(&tierParts)
	if tierParts != billedParts {
		t.Errorf("tier counter %d parts, ledger bills %d", tierParts, billedParts)
	}
}
