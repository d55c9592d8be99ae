package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/events"
	"github.com/smsgate/smsgate/internal/web"
	"github.com/smsgate/smsgate/pkg/smppsim"
	"github.com/smsgate/smsgate/smpp/pdu"
)

// One message fails over (silknet keeps throttling the destination), is rerouted
// after an UNDELIV receipt and is delivered; another is rerouted and
// delivered. Their traces show every step, in order, and the API answers
// the same journey as events.TraceOf (what the CLI prints).
func TestTraceShowsEveryStep(t *testing.T) {
	silknet := smppsim.Options{DestStat: map[string]string{"995571": smppsim.StatUndeliv}}
	magti := smppsim.Options{DestStat: map[string]string{"995574": smppsim.StatUndeliv}}
	e := newEnv(t, twoOperators(magti, silknet), baseRouting+"reroute: {on: [UNDELIV], max_attempts: 3}\ndlr: {keep_text: true}\n")
	e.start()
	e.waitBound("magti", "silknet")
	e.sims["silknet"].SetDestStatus("995574", pdu.Status(0x58)) // throttled: temporary; after failover_after (3) the next route
	e.submit(msg("tr1", "995571000001", "rerouted, then delivered"), msg("tr2", "995574000002", "failed over, rerouted, delivered?"))
	defer func() {
		if t.Failed() {
			for _, id := range []string{"tr1", "tr2"} {
				t.Logf("%s: %v; %s", id, e.events.statuses(id), e.dbState(id))
			}
		}
	}()
	waitFor(t, 30*time.Second, "tr1 delivered, tr2 final", func() bool {
		a, b := e.events.last("tr1"), e.events.last("tr2")
		return a != nil && a["status"] == "delivered" && b != nil && (b["status"] == "delivered" || b["status"] == "undeliverable")
	})
	ctx := context.Background()
	doc, err := events.TraceOf(ctx, e.st.Pool, "tr1", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var whats []string
	for _, s := range doc.Steps {
		whats = append(whats, s.What)
	}
	want := []string{"accepted from sms.submit", "attempt 1 part 1: submit_sm to silknet", "attempt 1 part 1: submitted",
		"attempt 1 part 1: receipt from silknet: undeliverable", "attempt 2 part 1: submit_sm to magti", "attempt 2 part 1: submitted",
		"attempt 2 part 1: receipt from magti: delivered", "status now: delivered"}
	inOrder(t, "tr1", whats, want)
	if doc.Message.Encoding != "gsm7" {
		t.Errorf("encoding %q, want gsm7", doc.Message.Encoding)
	}
	if doc.Message.Text != "" {
		t.Error("text shown without show_message_text")
	}
	if len(doc.Ledger) == 0 || doc.Message.Operator != "magti" || len(doc.Message.Tried) == 0 {
		t.Errorf("tr1 message %+v ledger %+v", doc.Message, doc.Ledger)
	}
	// dlr.keep_text: the receipts' texts are kept, the message excerpt in
	// them redacted (show_message_text is off).
	for _, r := range doc.Receipts {
		if !strings.Contains(r.Text, "stat:") || !strings.Contains(r.Text, "text:•••") || strings.Contains(r.Text, "rerouted, then") {
			t.Errorf("receipt text %q: want the SMSC's text with its excerpt redacted", r.Text)
		}
	}
	for _, a := range doc.Attempts {
		if a.Bind == nil || a.Seq == nil || a.SMSCID == "" || a.RespAt == nil {
			t.Errorf("attempt without bind, seq, SMSC id or response time: %+v", a)
		}
	}

	doc2, err := events.TraceOf(ctx, e.st.Pool, "tr2", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var whats2 []string
	for _, s := range doc2.Steps {
		whats2 = append(whats2, s.What)
	}
	t.Logf("tr1:\n%s\ntr2:\n%s", strings.Join(whats, "\n"), strings.Join(whats2, "\n"))
	inOrder(t, "tr2", whats2, []string{"accepted from sms.submit", "submit_sm to silknet", "(0x00000058)", "submit_sm to magti",
		"receipt from magti: undeliverable", "status now:"})

	// The CLI prints the same steps in the same order.
	var cli strings.Builder
	if err := events.WriteTrace(&cli, doc); err != nil {
		t.Fatal(err)
	}
	inOrder(t, "tr1 (CLI)", strings.Split(cli.String(), "\n"), whats)

	// The API answers the same journey, under the status scope.
	srv := httptest.NewServer(web.New(web.Options{Trace: e.gw.Trace, Tokens: []config.Token{{Name: "noc", Token: "noc-token", Scopes: []string{config.ScopeStatus}}}}).Handler())
	defer srv.Close()
	get := func(id, tok string) (int, []byte) {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/messages/"+id, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, body := get("tr1", "noc-token")
	if code != 200 {
		t.Fatalf("API: %d %s", code, body)
	}
	var api struct {
		Steps  []struct{ What string } `json:"steps"`
		Status map[string]any          `json:"status"`
	}
	if err := json.Unmarshal(body, &api); err != nil {
		t.Fatal(err)
	}
	if len(api.Steps) != len(whats) {
		t.Fatalf("API has %d steps, TraceOf %d", len(api.Steps), len(whats))
	}
	for i := range whats {
		if api.Steps[i].What != whats[i] {
			t.Errorf("step %d: API %q, TraceOf %q", i, api.Steps[i].What, whats[i])
		}
	}
	var withRoutes struct {
		Routes []struct {
			Operator string
			Rank     int
			Usable   bool
		} `json:"routes"`
	}
	_ = json.Unmarshal(body, &withRoutes)
	if r := withRoutes.Routes; len(r) != 2 || r[0].Operator != "silknet" || r[1].Operator != "magti" || r[0].Rank != 0 || r[1].Rank != 1 || !r[1].Usable {
		t.Errorf("routes for 995571000001: %+v, want silknet (rank 0) then magti (rank 1, usable)", r)
	}
	if api.Status["status"] != "delivered" {
		t.Errorf("API status %v", api.Status)
	}
	if code, _ := get("tr1", ""); code != http.StatusUnauthorized {
		t.Errorf("without a token: %d", code)
	}
	if code, _ := get("no-such-id", "noc-token"); code != http.StatusNotFound {
		t.Errorf("unknown id: %d", code)
	}
}

// inOrder checks that each wanted fragment appears in a later line than
// the previous one.
func inOrder(t *testing.T, id string, lines, want []string) {
	t.Helper()
	i := 0
	for _, l := range lines {
		if i < len(want) && strings.Contains(l, want[i]) {
			i++
		}
	}
	if i < len(want) {
		t.Errorf("%s: step %q missing or out of order in:\n%s", id, want[i], strings.Join(lines, "\n"))
	}
}

// The journey: a message fails over (the cheapest operator keeps
// throttling it), is rerouted after an UNDELIV receipt from the next one
// and is delivered by the third — every step in order, the same in the
// CLI text and the API.
func TestTraceFailoverRerouteDelivered(t *testing.T) {
	sims := []simSpec{{name: "magti", opts: smppsim.Options{DestStat: map[string]string{"995574": smppsim.StatUndeliv}}},
		{name: "silknet", opts: smppsim.Options{}}, {name: "geocell", opts: smppsim.Options{}}}
	body := `routes:
  - {prefix: "995574", operator: silknet, cost: 0.010, currency: EUR}
  - {prefix: "995574", operator: magti, cost: 0.012, currency: EUR}
  - {prefix: "995574", operator: geocell, cost: 0.014, currency: EUR}
accounts:
  - name: acme
    senders: ["ACME"]
    country: "995"
    rates:
      - {prefix: "995", price: 0.030, currency: EUR}
reroute: {on: [UNDELIV], max_attempts: 3}
`
	e := newEnv(t, sims, body)
	e.start()
	e.waitBound("magti", "silknet", "geocell")
	e.sims["silknet"].SetDestStatus("995574", pdu.Status(0x58)) // throttled: temporary; after failover_after the next route
	e.submit(msg("tr3", "995574000003", "fails over, is rerouted, is delivered"))
	waitFor(t, 30*time.Second, "tr3 delivered", func() bool { l := e.events.last("tr3"); return l != nil && l["status"] == "delivered" })
	doc, err := events.TraceOf(context.Background(), e.st.Pool, "tr3", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var whats []string
	for _, s := range doc.Steps {
		whats = append(whats, s.What)
	}
	t.Logf("tr3:\n%s", strings.Join(whats, "\n"))
	inOrder(t, "tr3", whats, []string{"accepted from sms.submit", "submit_sm to silknet", "failover (0x00000058)",
		"submit_sm to magti", "submitted", "receipt from magti: undeliverable", "submit_sm to geocell", "submitted",
		"receipt from geocell: delivered", "status now: delivered"})
	var cli strings.Builder
	if err := events.WriteTrace(&cli, doc); err != nil {
		t.Fatal(err)
	}
	inOrder(t, "tr3 (CLI)", strings.Split(cli.String(), "\n"), whats)
	srv := httptest.NewServer(web.New(web.Options{Trace: e.gw.Trace, Tokens: []config.Token{config.PlainToken("tok")}}).Handler())
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/messages/tr3", nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var api struct {
		Steps []struct{ What string } `json:"steps"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&api); err != nil {
		t.Fatal(err)
	}
	var apiWhats []string
	for _, s := range api.Steps {
		apiWhats = append(apiWhats, s.What)
	}
	if strings.Join(apiWhats, "\n") != strings.Join(whats, "\n") {
		t.Errorf("API steps differ:\n%s", strings.Join(apiWhats, "\n"))
	}
}
