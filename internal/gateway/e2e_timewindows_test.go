package gateway

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/internal/message"
	"github.com/smsgate/smsgate/pkg/smppsim"
)

// withOperatorKeys adds flow-style keys to operator name's line of the
// generated config (before start).
func withOperatorKeys(e *env, name, keys string) {
	e.t.Helper()
	lines := strings.Split(e.yaml, "\n")
	found := false
	for i, l := range lines {
		if strings.Contains(l, "{name: "+name+",") {
			lines[i] = strings.TrimSuffix(l, "}") + ", " + keys + "}"
			found = true
		}
	}
	if !found {
		e.t.Fatalf("no operator %s in the config", name)
	}
	e.yaml = strings.Join(lines, "\n")
	e.cfg = e.parse(e.yaml)
}

func errorOf(ev map[string]any) (reason, code string) {
	er, _ := ev["error"].(map[string]any)
	r, _ := er["reason"].(string)
	c, _ := er["code"].(string)
	return r, c
}

// Supplier error codes: a receipt's err: value or network_error_code TLV
// found in the operator's error_map sets the status, error.code (as
// received) and error.reason of the final event, and retry decides the
// reroute whatever reroute.on says. Unmapped codes change nothing.
func TestSupplierErrorCodes(t *testing.T) {
	// 9955 numbers outside 99559 go to silknet first, magti second.
	silknet := smppsim.Options{
		DestStat: map[string]string{"995571": smppsim.StatUndeliv, "995572": smppsim.StatRejected, "995573": smppsim.StatUndeliv, "995574": smppsim.StatUndeliv},
		DestErr: map[string]smppsim.ReceiptError{
			"995571": {Err: "012"},                                 // mapped: expired, no retry although UNDELIV is listed
			"995572": {NetworkType: 3, NetworkCode: 0x000B},        // mapped by TLV: retry although REJECTD is not listed
			"995573": {Err: "13"},                                  // mapped: retry, then fails on magti too
			"995574": {Err: "077", NetworkType: 3, NetworkCode: 1}, // unmapped: reroute.on decides, error stays null
		},
	}
	magti := smppsim.Options{
		DestStat: map[string]string{"995573": smppsim.StatUndeliv},
		DestErr:  map[string]smppsim.ReceiptError{"995573": {Err: "013"}},
	}
	e := newEnv(t, twoOperators(magti, silknet), baseRouting+"reroute: {on: [UNDELIV], max_attempts: 2}\n")
	withOperatorKeys(e, "silknet", `error_map: [{err: "012", status: expired, reason: absent_subscriber, retry: false},`+
		` {network_error: "gsm:0x000B", reason: absent_subscriber_sm, retry: true}, {err: "013", reason: barred, retry: true}]`)
	withOperatorKeys(e, "magti", `error_map: [{err: "13", status: undeliverable, reason: barred_at_magti}]`)
	e.start()
	e.waitBound("magti", "silknet") // first attempts go to silknet, the cheaper route
	e.submit(
		msg("se1", "995571000001", "expired by code"),
		msg("se2", "995572000002", "rerouted by TLV code"),
		msg("se3", "995573000003", "fails twice"),
		msg("se4", "995574000004", "unmapped"),
	)
	final := map[string]string{"se1": "expired", "se2": "delivered", "se3": "undeliverable", "se4": "delivered"}
	waitFor(t, 30*time.Second, "final statuses", func() bool {
		for id, want := range final {
			if l := e.events.last(id); l == nil || l["status"] != want {
				return false
			}
		}
		return true
	})
	for id, want := range map[string][3]string{
		"se1": {"silknet", "absent_subscriber", "err:012"},
		"se2": {"magti", "", ""},
		"se3": {"magti", "barred_at_magti", "err:013"},
		"se4": {"magti", "", ""},
	} {
		l := e.events.last(id)
		reason, code := errorOf(l)
		if l["operator"] != want[0] || reason != want[1] || code != want[2] {
			t.Errorf("%s: operator %v, error %v; want %s, reason %q, code %q (statuses %v)", id, l["operator"], l["error"], want[0], want[1], want[2], e.events.statuses(id))
		}
		if n := strings.Count(strings.Join(e.events.statuses(id), ","), "submitted"); n != 1 {
			t.Errorf("%s: statuses %v, want submitted once", id, e.events.statuses(id))
		}
	}
	sent := func(dest string) int {
		return submitsTo(e.sims["magti"])[dest] + submitsTo(e.sims["silknet"])[dest]
	}
	for dest, want := range map[string]int{"995571000001": 1, "995572000002": 2, "995573000003": 2, "995574000004": 2} {
		if got := sent(dest); got != want {
			t.Errorf("%s sent %d times, want %d", dest, got, want)
		}
	}
	// Counted per operator and reason; a code no rule names is "unmapped".
	for _, c := range []struct {
		op, reason string
		want       float64
	}{{"silknet", "absent_subscriber", 1}, {"silknet", "absent_subscriber_sm", 1}, {"silknet", "barred", 1},
		{"silknet", "unmapped", 1}, {"magti", "barred_at_magti", 1}, {"magti", "unmapped", 0}} {
		if got := e.metric("smsgate_supplier_errors_total", map[string]string{"operator": c.op, "reason": c.reason}); got != c.want {
			t.Errorf("smsgate_supplier_errors_total{operator=%q,reason=%q} = %v, want %v", c.op, c.reason, got, c.want)
		}
	}
	// The receipt keeps the supplier's code as received.
	var perr string
	if err := e.st.Pool.QueryRow(context.Background(), `SELECT coalesce(err, '') FROM receipts WHERE message_id = 'se2' AND attempt = 1`).Scan(&perr); err != nil || perr != "3:0x000B" {
		t.Errorf("se2 attempt 1 receipt err %q (%v), want 3:0x000B", perr, err)
	}
}

// clockRange is a daily window "HH:MM-HH:MM" from now+from to now+to (UTC).
func clockRange(now time.Time, from, to time.Duration) string {
	a, b := now.Add(from).UTC(), now.Add(to).UTC()
	return fmt.Sprintf("%02d:%02d-%02d:%02d", a.Hour(), a.Minute(), b.Hour(), b.Minute())
}

// Route time windows: a route outside its window is not chosen (its
// traffic goes to the other route); a destination whose only route is
// closed waits scheduled for the opening, never rejected; a message queued
// for a route whose window then closes is held back before it is sent.
func TestRouteActiveWindow(t *testing.T) {
	now := time.Now()
	closed := clockRange(now, 6*time.Hour, 7*time.Hour) // every day, far from now
	opens := now.Add(6 * time.Hour).UTC().Truncate(time.Minute)
	routes := func(magtiActive string) string {
		return fmt.Sprintf(`routes:
  - {prefix: "99559", operator: magti, cost: 0.012, currency: EUR%s}
  - {prefix: "99559", operator: silknet, cost: 0.015, currency: EUR}
  - {prefix: "99558", operator: magti, cost: 0.012, currency: EUR%s}
accounts:
  - name: acme
    senders: ["ACME"]
    rates:
      - {prefix: "995", price: 0.030, currency: EUR}
`, magtiActive, magtiActive)
	}
	e := newEnv(t, twoOperators(smppsim.Options{}, smppsim.Options{}), routes(fmt.Sprintf(", active: %q", closed)))
	e.start()
	e.waitBound("magti", "silknet")
	e.submit(msg("w1", "995599000001", "cheapest route closed"), msg("w2", "995589000002", "only route closed"))
	waitAllFinal(t, e, []map[string]any{msg("w1", "", "")}, 30*time.Second, "delivered")
	if l := e.events.last("w1"); l["operator"] != "silknet" {
		t.Errorf("w1 went via %v, want silknet (magti's route is closed)", l["operator"])
	}
	ctx := context.Background()
	waitFor(t, 10*time.Second, "w2 stored", func() bool {
		var n int
		_ = e.st.Pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE id = 'w2'`).Scan(&n)
		return n == 1
	})
	var st int16
	var op string
	var sendAt time.Time
	if err := e.st.Pool.QueryRow(ctx, `SELECT state, operator, due FROM messages WHERE id = 'w2'`).Scan(&st, &op, &sendAt); err != nil {
		t.Fatal(err)
	}
	if message.State(st) != message.Scheduled || op != "magti" || !sendAt.Equal(opens) {
		t.Errorf("w2: state %s operator %s send_at %s; want scheduled for magti at %s", message.State(st), op, sendAt.UTC(), opens)
	}
	if l := e.events.last("w2"); l != nil {
		t.Errorf("w2 published %v while waiting, want nothing", e.events.statuses("w2"))
	}
	if n := e.sims["magti"].Stats().Submits; n != 0 {
		t.Errorf("magti received %d submits while its routes were closed", n)
	}

	// Queued while open, closed before it is claimed: held back. magti is
	// drained so w3 waits in its queue; the window closes (reload), then
	// magti is enabled: the dispatcher defers w3 instead of sending it.
	e.cfg = e.parse(strings.Replace(e.yaml, fmt.Sprintf(", active: %q", closed), "", -1))
	if err := e.gw.Reload(e.cfg); err != nil {
		t.Fatal(err)
	}
	if err := e.gw.OperatorAction(ctx, "magti", "drain"); err != nil {
		t.Fatal(err)
	}
	e.submit(msg("w3", "995589000003", "queued, then closed"))
	waitFor(t, 10*time.Second, "w3 queued for magti", func() bool {
		var n int
		_ = e.st.Pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE id = 'w3' AND state = 0 AND due IS NOT NULL AND operator = 'magti'`).Scan(&n)
		return n == 1
	})
	e.cfg = e.parse(e.yaml) // closed again
	if err := e.gw.Reload(e.cfg); err != nil {
		t.Fatal(err)
	}
	if err := e.gw.OperatorAction(ctx, "magti", "enable"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "w3 held back until the window opens", func() bool {
		var n int
		_ = e.st.Pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE id = 'w3' AND state = 9 AND operator = 'magti' AND due = $1`, opens).Scan(&n)
		return n == 1
	})
	time.Sleep(time.Second)
	if n := e.sims["magti"].Stats().Submits; n != 0 {
		t.Errorf("magti received %d submits through a closed route", n)
	}
	if l := e.events.last("w3"); l != nil {
		t.Errorf("w3 published %v, want nothing while it waits", e.events.statuses("w3"))
	}
}

// Maintenance: no traffic to the operator during its window (its dispatcher
// claims nothing, its binds stay up, nothing is rejected); its queue goes
// out once the window ends.
func TestOperatorMaintenance(t *testing.T) {
	start := time.Now()
	end := start.Add(8 * time.Second).UTC().Truncate(time.Second)
	e := newEnv(t, twoOperators(smppsim.Options{}, smppsim.Options{}), baseRouting)
	withOperatorKeys(e, "magti", fmt.Sprintf(`maintenance: [%q, "Sun 02:00-02:01"]`,
		start.Add(-time.Minute).UTC().Format(time.RFC3339)+"/"+end.Format(time.RFC3339)))
	e.start()
	var recs []map[string]any
	for i := range 20 {
		recs = append(recs, msg(fmt.Sprintf("mt%02d", i), fmt.Sprintf("99559%07d", i), "after maintenance")) // magti only
	}
	e.submit(recs...)
	e.submit(msg("mt-other", "995571000001", "silknet is not in maintenance"))
	waitAllFinal(t, e, []map[string]any{msg("mt-other", "", "")}, 30*time.Second, "delivered")
	waitFor(t, 10*time.Second, "magti bound", func() bool { return e.sims["magti"].Stats().BindsCurrent > 0 })
	if time.Now().Before(end.Add(-2 * time.Second)) {
		var queued int
		if err := e.st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM messages WHERE operator = 'magti' AND state = 0 AND due IS NOT NULL`).Scan(&queued); err != nil {
			t.Fatal(err)
		}
		if queued != len(recs) {
			t.Errorf("%d messages queued for magti during maintenance, want %d", queued, len(recs))
		}
		for _, r := range recs {
			if l := e.events.last(r["id"].(string)); l != nil {
				t.Errorf("%s published %v during maintenance", r["id"], l["status"])
			}
		}
		for _, o := range e.gw.Live().([]OperatorLive) {
			if want := map[string]string{"magti": "maintenance", "silknet": "up"}[o.Name]; o.State != want {
				t.Errorf("status page: %s is %q, want %q", o.Name, o.State, want)
			}
		}
	} else {
		t.Log("machine too slow to check the queue inside the window")
	}
	waitAllFinal(t, e, recs, 60*time.Second, "delivered")
	for _, s := range e.sims["magti"].Submits() {
		if s.ReceivedAt.Before(end) {
			t.Errorf("magti received %s at %s, inside its maintenance window (ends %s)", s.Dest, s.ReceivedAt, end)
		}
	}
	if got := len(e.sims["magti"].Submits()); got != len(recs) {
		t.Errorf("magti received %d submits, want %d", got, len(recs))
	}
}
