package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/smsgate/smsgate/pkg/smppsim"
)

// Network resolution end to end: the range table names the network and
// network routes win over prefix routes; a ported number (imported while
// running) overrides the range table within seconds; a slow lookup service
// (500 ms against a 30 ms lookup_timeout) does not hold up sending — the
// range table decides — and its late answer serves the next message; the
// network is on status events and ledger rows; impossible numbers are
// rejected invalid with the reason.
func TestNetworkResolutionEndToEnd(t *testing.T) {
	bin := smsgateBinary(t)
	slowAnswers := map[string]string{"995593333333": `{"mcc":"282","mnc":"02"}`}
	lookups := make(chan string, 100)
	hlr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := r.URL.Query().Get("number")
		lookups <- n
		time.Sleep(500 * time.Millisecond)
		if a, ok := slowAnswers[n]; ok {
			_, _ = w.Write([]byte(a))
			return
		}
		http.NotFound(w, r)
	}))
	defer hlr.Close()
	dir := t.TempDir()
	ranges := filepath.Join(dir, "ranges.csv")
	if err := os.WriteFile(ranges, []byte("prefix,mcc,mnc,network\n99559,282,01,Magti\n99557,282,02,Silknet\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, twoOperators(smppsim.Options{}, smppsim.Options{}), fmt.Sprintf(`numbering:
  default_country: "995"
  ranges: %s
  portability: {cache_ttl: 1h, lookup_url: "%s/lookup?number={number}", lookup_timeout: 30ms}
routes:
  - {mccmnc: "28201", operator: magti, cost: 0.010, currency: EUR}
  - {mccmnc: "28202", operator: silknet, cost: 0.010, currency: EUR}
  - {prefix: "995", operator: magti, cost: 0.020, currency: EUR}
accounts:
  - name: acme
    rates: [{prefix: "995", price: 0.03, currency: EUR}, {mccmnc: "28202", price: 0.025, currency: EUR}]
`, ranges, hlr.URL))
	e.start()
	e.submit(
		msg("r1", "995591111111", "range says magti"),
		msg("r2", "995571111111", "range says silknet"),
		msg("slow", "995593333333", "lookup is slow"),
		msg("bad", "99559", "too short"),
	)
	waitFor(t, 30*time.Second, "first statuses", func() bool {
		for _, id := range []string{"r1", "r2", "slow", "bad"} {
			if l := e.events.last(id); l == nil || (l["status"] != "delivered" && l["status"] != "rejected") {
				return false
			}
		}
		return true
	})
	check := func(id, op, network string) {
		t.Helper()
		l := e.events.last(id)
		if l["operator"] != op || l["network"] != network {
			t.Errorf("%s: operator %v network %v, want %s %s", id, l["operator"], l["network"], op, network)
		}
	}
	check("r1", "magti", "28201")
	check("r2", "silknet", "28202")
	// The lookup did not answer within 30 ms: the range table decided.
	check("slow", "magti", "28201")
	if l := e.events.last("bad"); l["status"] != "rejected" || !strings.Contains(fmt.Sprint(l["error"]), "invalid") {
		t.Errorf("impossible number: %v", l)
	}
	var net string
	if err := e.st.Pool.QueryRow(context.Background(), `SELECT network FROM ledger WHERE message_id = 'r2'`).Scan(&net); err != nil || net != "28202" {
		t.Errorf("ledger network of r2: %q %v", net, err)
	}
	// The late answer is cached: the same number now goes to silknet.
	time.Sleep(700 * time.Millisecond)
	e.submit(msg("slow2", "995593333333", "lookup answered"))
	waitFor(t, 30*time.Second, "slow2", func() bool { l := e.events.last("slow2"); return l != nil && l["status"] == "delivered" })
	check("slow2", "silknet", "28202")
	if st := e.gw.nets.lookup.Stats(); st.Timeouts == 0 || st.Late == 0 {
		t.Errorf("lookup stats %+v: want the timeout and the late answer counted", st)
	}
	if n, err := testutil.GatherAndCount(e.reg, "smsgate_network_lookups_total"); err != nil || n == 0 {
		t.Errorf("lookup metrics: %d %v", n, err)
	}

	// Portability imported while running overrides the range table.
	csv := filepath.Join(dir, "ported.csv")
	if err := os.WriteFile(csv, []byte("number,mcc,mnc\n+995591111111,282,02\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "import", "portability", csv)
	cmd.Env = append(os.Environ(), "SMSGATE_POSTGRES_DSN="+e.dsn)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	waitFor(t, 10*time.Second, "ported number applied", func() bool { return e.gw.nets.Network("995591111111") == "28202" })
	e.submit(msg("p1", "995591111111", "ported to silknet"))
	waitFor(t, 30*time.Second, "p1", func() bool { l := e.events.last("p1"); return l != nil && l["status"] == "delivered" })
	check("p1", "silknet", "28202")
}

// A route allowed to lose money (allow_loss) bills, and every part sold
// below its cost is counted for the alert.
func TestLossMakingPartsCounted(t *testing.T) {
	e := newEnv(t, twoOperators(smppsim.Options{}, smppsim.Options{}), `routes:
  - {prefix: "99559", operator: magti, cost: 0.050, currency: EUR, allow_loss: true}
  - {prefix: "995", operator: silknet, cost: 0.010, currency: EUR}
accounts:
  - name: acme
    rates: [{prefix: "995", price: 0.03, currency: EUR}]
`)
	e.start()
	e.submit(msg("loss", "995591234567", "expensive"), msg("fine", "995571234567", "cheap"),
		msg("loss2", "995591234568", strings.Repeat("two parts ", 20)))
	waitFor(t, 30*time.Second, "delivered", func() bool {
		for _, id := range []string{"loss", "fine", "loss2"} {
			if l := e.events.last(id); l == nil || l["status"] != "delivered" {
				return false
			}
		}
		return true
	})
	if n := e.metric("smsgate_billing_loss_parts_total", map[string]string{"operator": "magti"}); n != 3 {
		t.Errorf("loss-making parts through magti: %v, want 3", n)
	}
	if n := e.metric("smsgate_billing_loss_parts_total", map[string]string{"operator": "silknet"}); n != 0 {
		t.Errorf("silknet parts counted as losses: %v", n)
	}
}
