package config

import (
	"strings"
	"testing"
	"time"
)

const windowsYAML = `postgres: {dsn: "postgres://127.0.0.1:5432/smsgate"}
operators:
  - name: magti
    host: 127.0.0.1
    port: 2775
    system_id: acme
    password: ${MAGTI_PASSWORD}
    error_map:
      - {err: "012", status: undeliverable, reason: absent_subscriber, retry: true}
      - {err: "AB", reason: barred, retry: false}
      - {network_error: "gsm:0x000B", status: expired, reason: absent_subscriber_sm}
    maintenance: ["2026-12-24T22:00:00Z/2026-12-25T02:00:00Z", "Sun 02:00-04:00 Asia/Tbilisi"]
routes:
  - {prefix: "995", operator: magti, cost: 0.01, currency: EUR, active: "Mon-Fri 08:00-20:00, Sat 10:00-14:00 Asia/Tbilisi"}
  - {prefix: "99559", operator: magti, cost: 0.01, currency: EUR}
accounts:
  - name: acme
    rates: [{prefix: "995", price: 0.03, currency: EUR}]
reroute: {on: [UNDELIV]}
`

// error_map, maintenance and route windows are read, and a printed config
// reads back the same.
func TestErrorMapAndWindows(t *testing.T) {
	setSecrets(t)
	c, err := Parse([]byte(windowsYAML), "")
	if err != nil {
		t.Fatal(err)
	}
	o := c.Operators[0]
	if len(o.ErrorMap) != 3 || o.ErrorMap[0].Err != "012" || o.ErrorMap[0].Status != "undeliverable" ||
		o.ErrorMap[0].Retry == nil || !*o.ErrorMap[0].Retry || o.ErrorMap[1].Retry == nil || *o.ErrorMap[1].Retry ||
		o.ErrorMap[2].Retry != nil || o.ErrorMap[2].NetworkError != "gsm:0x000B" {
		t.Errorf("error_map %+v", o.ErrorMap)
	}
	if len(o.Maintenance) != 2 {
		t.Fatalf("maintenance %v", o.Maintenance)
	}
	at := func(s string) time.Time { tm, _ := time.Parse(time.RFC3339, s); return tm }
	if !o.Maintenance[0].Contains(at("2026-12-24T23:00:00Z")) || o.Maintenance[0].Contains(at("2026-12-25T02:00:00Z")) {
		t.Error("absolute maintenance window")
	}
	if !o.Maintenance[1].Contains(at("2026-12-12T22:30:00Z")) { // Sunday 02:30 in Tbilisi
		t.Error("weekly maintenance window in Asia/Tbilisi")
	}
	r := c.Routes[0]
	if !r.Active.Contains(at("2026-12-07T04:00:00Z")) || r.Active.Contains(at("2026-12-07T16:00:00Z")) || !c.Routes[1].Active.IsZero() {
		t.Errorf("route active %q", r.Active)
	}
	s := c.String()
	for _, want := range []string{"active: Mon-Fri 08:00-20:00, Sat 10:00-14:00 Asia/Tbilisi", "Sun 02:00-04:00 Asia/Tbilisi", "network_error: gsm:0x000B"} {
		if !strings.Contains(s, want) {
			t.Errorf("printed config lacks %q:\n%s", want, s)
		}
	}
	back, err := parse([]byte(s), "", func(string) (string, bool) { return "x", true })
	if err != nil {
		t.Fatalf("printed config: %v\n%s", err, s)
	}
	if back.String() != s {
		t.Errorf("round trip differs:\n%s\n---\n%s", s, back.String())
	}
	if NormalizeErrCode("012") != "12" || NormalizeErrCode("000") != "0" || NormalizeErrCode("ab") != "AB" {
		t.Error("NormalizeErrCode")
	}
}
