package gateway

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/pkg/smppsim"
)

// Receipts arriving before their submit_sm_resp, on another bind, and only
// for the last part of a multipart message all correlate.
func TestReceiptQuirks(t *testing.T) {
	cases := []struct {
		name     string
		sim      smppsim.Options
		binds    string
		lastOnly bool
	}{
		{name: "receipt before response", sim: smppsim.Options{ReceiptFirst: true, IDFormat: smppsim.IDHexLower, ReceiptIDFormat: smppsim.IDDec}},
		{name: "receipt on another bind", sim: smppsim.Options{ReceiptOtherBind: true}, binds: "binds: 2"},
		{name: "receipt for the last part only", sim: smppsim.Options{ReceiptLastPartOnly: true}, lastOnly: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := baseRouting
			e := newEnv(t, twoOperators(c.sim, smppsim.Options{}), body)
			if c.binds != "" {
				e.cfg.Operators[0].Binds = 2
			}
			e.cfg.Operators[0].DLRLastPartOnly = c.lastOnly
			e.start()
			long := strings.Repeat("three parts of text, ", 20) // > 2 × 153 GSM septets
			var ids []string
			for i := 0; i < 10; i++ {
				id := fmt.Sprintf("q%d", i)
				ids = append(ids, id)
				e.submit(msg(id, fmt.Sprintf("9955992%05d", i), long))
			}
			waitFor(t, 40*time.Second, "all delivered", func() bool {
				for _, id := range ids {
					if l := e.events.last(id); l == nil || l["status"] != "delivered" {
						return false
					}
				}
				return true
			})
			for _, id := range ids {
				st := e.events.statuses(id)
				// delivered is last; anything before it is submitted (a
				// receipt that beats its response may make delivered the
				// only event); a repeated identical event is at-least-once.
				for i, s := range st {
					if s != "submitted" && s != "delivered" || (s == "submitted" && i > 0 && st[i-1] == "delivered") {
						t.Errorf("%s: %v", id, st)
						break
					}
				}
				if l := e.events.last(id); l["parts"].(float64) != 3 {
					t.Errorf("%s: %v parts", id, l["parts"])
				}
			}
			var orphans int
			_ = e.st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM early_receipts WHERE orphan`).Scan(&orphans)
			if orphans != 0 {
				t.Errorf("%d receipts orphaned", orphans)
			}
		})
	}
}

// Quiet hours defer marketing (no rejection), not transactional traffic.
func TestQuietHours(t *testing.T) {
	tbilisi, _ := time.LoadLocation("Asia/Tbilisi")
	now := time.Now().In(tbilisi)
	start, end := now.Add(-time.Hour), now.Add(time.Hour)
	e := newEnv(t, twoOperators(smppsim.Options{}, smppsim.Options{}), baseRouting+fmt.Sprintf("marketing:\n  quiet_hours: \"%s-%s\"\n",
		start.Format("15:04"), end.Format("15:04")))
	e.start()
	e.submit(msg("qm", "995599000501", "promo at night", "kind", "marketing"), msg("qt", "995599000502", "your code"))
	waitFor(t, 20*time.Second, "transactional delivered", func() bool { l := e.events.last("qt"); return l != nil && l["status"] == "delivered" })
	time.Sleep(time.Second)
	if l := e.events.last("qm"); l != nil {
		t.Errorf("marketing during quiet hours produced %v", l)
	}
	if n := submitsTo(e.sims["magti"])["995599000501"]; n != 0 {
		t.Errorf("marketing sent during quiet hours")
	}
	var state int16
	var sendAt time.Time
	if err := e.st.Pool.QueryRow(context.Background(), `SELECT state, due FROM messages WHERE id = 'qm'`).Scan(&state, &sendAt); err != nil {
		t.Fatal(err)
	}
	if state != 9 || sendAt.In(tbilisi).Format("15:04") != end.Format("15:04") {
		t.Errorf("deferred message: state %d due %s, want scheduled until %s", state, sendAt.In(tbilisi), end.Format("15:04"))
	}
}

// No receipt within dlr.timeout: expired with error.reason dlr_timeout.
func TestDLRTimeout(t *testing.T) {
	e := newEnv(t, twoOperators(smppsim.Options{NoReceipts: true}, smppsim.Options{}), baseRouting+"dlr: {timeout: 1s}\n")
	e.start()
	e.submit(msg("nt1", "995599000601", "no receipt will come"))
	waitFor(t, 30*time.Second, "expired", func() bool { l := e.events.last("nt1"); return l != nil && l["status"] == "expired" })
	l := e.events.last("nt1")
	if l["error"] == nil || l["error"].(map[string]any)["reason"] != "dlr_timeout" {
		t.Errorf("expired event %v", l)
	}
	if got := strings.Join(e.events.statuses("nt1"), ","); got != "submitted,expired" {
		t.Errorf("statuses %s", got)
	}
}
