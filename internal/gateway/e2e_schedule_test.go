package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/smsgate/smsgate/pkg/smppsim"
)

// Scheduled messages are not sent before send_at; expired ones never go
// out; expires_at travels as the validity period.
func TestScheduledAndExpired(t *testing.T) {
	e := newEnv(t, twoOperators(smppsim.Options{}, smppsim.Options{}), baseRouting)
	e.start()
	sendAt := time.Now().Add(3 * time.Second).UTC()
	expires := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	e.submit(
		msg("sched", "995599000201", "later", "send_at", sendAt.Format(time.RFC3339Nano)),
		msg("gone", "995599000202", "too late", "expires_at", time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)),
		msg("valid", "995599000203", "with validity", "expires_at", expires.Format(time.RFC3339)),
	)
	waitFor(t, 20*time.Second, "gone rejected and valid delivered", func() bool {
		g, v := e.events.last("gone"), e.events.last("valid")
		return g != nil && v != nil && v["status"] == "delivered"
	})
	if g := e.events.last("gone"); g["status"] != "rejected" || g["error"].(map[string]any)["reason"] != "expired" {
		t.Errorf("expired message: %v", g)
	}
	if n := submitsTo(e.sims["magti"])["995599000202"]; n != 0 {
		t.Errorf("an expired message reached the SMSC")
	}
	if time.Now().Before(sendAt) && submitsTo(e.sims["magti"])["995599000201"] != 0 {
		t.Errorf("scheduled message sent before send_at")
	}
	waitFor(t, 20*time.Second, "scheduled delivered", func() bool {
		l := e.events.last("sched")
		return l != nil && l["status"] == "delivered"
	})
	for _, s := range e.sims["magti"].Submits() {
		switch s.Dest {
		case "995599000201":
			if s.ReceivedAt.Before(sendAt) {
				t.Errorf("scheduled message reached the SMSC at %s, before send_at %s", s.ReceivedAt, sendAt)
			}
		case "995599000203":
			if want := expires.Format("060102150405") + "000+"; s.ValidityPeriod != want {
				t.Errorf("validity_period %q, want %q", s.ValidityPeriod, want)
			}
		}
	}
}

// STOP by MO opts the subscriber out of marketing (rejected opted_out),
// not of transactional traffic; START reverses it; the frequency cap holds.
func TestOptOutAndFrequencyCap(t *testing.T) {
	e := newEnv(t, twoOperators(smppsim.Options{}, smppsim.Options{}), baseRouting+`marketing:
  frequency_cap: 1/14d
  stop_keywords: [STOP]
  start_keywords: [START]
`)
	e.start()
	waitFor(t, 10*time.Second, "bound", func() bool { return e.gw.pools["magti"].Usable() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.sims["magti"].InjectMO(ctx, smppsim.MO{SystemID: "acme", From: "995599111111", To: "4422", Text: "stop"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "opt-out stored", func() bool {
		var n int
		_ = e.st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM optouts WHERE msisdn = '995599111111' AND account = 'acme'`).Scan(&n)
		return n == 1
	})
	e.submit(msg("mk1", "995599111111", "promo", "kind", "marketing"), msg("tx1", "995599111111", "your code 1234"))
	waitFor(t, 20*time.Second, "both final", func() bool {
		a, b := e.events.last("mk1"), e.events.last("tx1")
		return a != nil && b != nil && b["status"] == "delivered"
	})
	if l := e.events.last("mk1"); l["status"] != "rejected" || l["error"].(map[string]any)["reason"] != "opted_out" {
		t.Errorf("marketing to an opted-out number: %v", l)
	}
	if err := e.sims["magti"].InjectMO(ctx, smppsim.MO{SystemID: "acme", From: "995599111111", To: "4422", Text: "START"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "opt-in stored", func() bool {
		var n int
		_ = e.st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM optouts WHERE msisdn = '995599111111'`).Scan(&n)
		return n == 0
	})
	e.submit(msg("mk2", "995599111111", "promo again", "kind", "marketing"))
	waitFor(t, 20*time.Second, "mk2 delivered", func() bool {
		l := e.events.last("mk2")
		return l != nil && l["status"] == "delivered"
	})
	e.submit(msg("mk3", "995599111111", "third promo", "kind", "marketing"))
	waitFor(t, 20*time.Second, "mk3 final", func() bool { return e.events.last("mk3") != nil })
	if l := e.events.last("mk3"); l["status"] != "rejected" || l["error"].(map[string]any)["reason"] != "frequency_cap" {
		t.Errorf("second marketing message within 14 days: %v", l)
	}
}
