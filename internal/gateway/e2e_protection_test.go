package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/internal/web"
	"github.com/smsgate/smsgate/pkg/smppsim"
)

const protectionConfig = baseRouting + `  - name: spam
    rates: [{prefix: "995", price: 0.03, currency: EUR}, {prefix: "44", price: 0.03, currency: EUR}]
protection:
  blocklist: true
  pumping: {prefix_digits: 4, max_per_minute: 40, min_delivery_rate: 0.2, min_samples: 20, hold_for: 10m,
            mode: {default: block, "44": monitor}, safe: ["995555"]}
  content:
    - {pattern: "bit\\.ly/", action: reject}
    - {pattern: "(?i)casino", action: hold}
  senders:
    - {country: "995", alphanumeric: true, numeric: false, replace_with: "INFO"}
  loop: {max: 3, per: 1m}
`

// Traffic protection end to end: blocklist (API), content reject and
// hold, sender replacement, loop guard, and a pumping attack on one range
// held while the same account's other traffic flows; monitor mode only
// counts; a released hold is sent once, a dropped one ends rejected.
func TestProtectionEndToEnd(t *testing.T) {
	e := newEnv(t, twoOperators(smppsim.Options{}, smppsim.Options{}),
		strings.Replace(protectionConfig, `routes:
`, `routes:
  - {prefix: "44", operator: silknet, cost: 0.01, currency: EUR}
`, 1))
	e.start()
	ctx := context.Background()
	if err := e.gw.SetBlocked(ctx, "+995599000001", true); err != nil {
		t.Fatal(err)
	}
	if err := e.gw.SetBlocked(ctx, "99559x", true); !errors.Is(err, web.ErrBadRequest) {
		t.Errorf("a bad number: %v, want ErrBadRequest", err)
	}
	e.submit(
		msg("blk", "995599000001", "hello"),
		msg("url", "995599000002", "see bit.ly/abc"),
		msg("cas", "995599000003", "Casino night!"),
		msg("num", "995599000004", "from a number", "from", "+4420000000"),
	)
	for i := 0; i < 4; i++ {
		e.submit(msg(fmt.Sprintf("loop%d", i), "995599000005", "again"))
	}
	waitFor(t, 30*time.Second, "protection verdicts", func() bool {
		for i := 0; i < 4; i++ {
			if e.events.last(fmt.Sprintf("loop%d", i)) == nil {
				return false
			}
		}
		return e.events.last("blk") != nil && e.events.last("url") != nil && e.events.last("cas") != nil &&
			e.events.last("num") != nil
	})
	expect := func(id, status, reason string) {
		t.Helper()
		l := e.events.last(id)
		if l == nil || l["status"] != status {
			t.Errorf("%s: %v, want %s/%s", id, l, status, reason)
			return
		}
		if reason != "" {
			er, _ := l["error"].(map[string]any)
			if er == nil || er["reason"] != reason {
				t.Errorf("%s: error %v, want reason %s", id, l["error"], reason)
			}
		}
	}
	expect("blk", "rejected", "blocked")
	expect("url", "rejected", "content")
	expect("cas", "held", "content")
	// The fourth message of the pair within loop.per is rejected: which of
	// the four is fourth depends on the partitions' read order (keys are ids).
	loops := 0
	for i := 0; i < 4; i++ {
		l := e.events.last(fmt.Sprintf("loop%d", i))
		if er, _ := l["error"].(map[string]any); l["status"] == "rejected" && er != nil && er["reason"] == "loop" {
			loops++
		}
	}
	if loops != 1 {
		t.Errorf("%d of 4 messages between the same pair rejected loop, want 1 (loop.max 3)", loops)
	}
	waitFor(t, 30*time.Second, "num delivered", func() bool { l := e.events.last("num"); return l != nil && l["status"] == "delivered" })
	for _, s := range e.sims["magti"].Submits() {
		if s.Dest == "995599000004" && s.Source != "INFO" {
			t.Errorf("numeric sender to 995 went out as %q, want the replacement INFO", s.Source)
		}
	}
	// Unblocking takes effect too.
	if err := e.gw.SetBlocked(ctx, "995599000001", false); err != nil {
		t.Fatal(err)
	}
	e.submit(msg("unblk", "995599000001", "hello again"))

	// A pumping attack: 100 messages to one range of the "spam" account;
	// the same account's traffic to other ranges and the safe prefix flows.
	var attack, normal []string
	for i := 0; i < 100; i++ {
		id := fmt.Sprintf("pump%03d", i)
		attack = append(attack, id)
		r := msg(id, fmt.Sprintf("99557712%04d", i), "code 1234")
		r["account"] = "spam"
		e.submit(r)
	}
	for i := 0; i < 30; i++ {
		id := fmt.Sprintf("norm%02d", i)
		normal = append(normal, id)
		r := msg(id, fmt.Sprintf("9955%02d99%04d", 10+i, i), "code 1234")
		r["account"] = "spam"
		e.submit(r)
	}
	for i := 0; i < 60; i++ {
		r := msg(fmt.Sprintf("safe%02d", i), fmt.Sprintf("99555500%04d", i), "code")
		r["account"] = "spam"
		normal = append(normal, r["id"].(string))
		e.submit(r)
	}
	// Monitor mode for +44: counted, sent.
	for i := 0; i < 60; i++ {
		r := msg(fmt.Sprintf("uk%02d", i), fmt.Sprintf("4477009%05d", i), "code")
		r["account"] = "spam"
		normal = append(normal, r["id"].(string))
		e.submit(r)
	}
	waitFor(t, 60*time.Second, "every attack and normal message decided", func() bool {
		for _, id := range append(append([]string{}, attack...), normal...) {
			l := e.events.last(id)
			if l == nil || (l["status"] != "delivered" && l["status"] != "held") {
				return false
			}
		}
		return true
	})
	held := 0
	for _, id := range attack {
		if e.events.last(id)["status"] == "held" {
			held++
			expect(id, "held", "fraud_hold")
		}
	}
	if held != 60 {
		t.Errorf("%d of 100 attack messages held, want the 60 beyond max_per_minute 40", held)
	}
	for _, id := range normal {
		expect(id, "delivered", "")
	}
	if n := testutil.ToFloat64(e.gw.protect.ranges.WithLabelValues("monitor", "velocity")); n != 1 {
		t.Errorf("monitor-mode triggers: %v, want 1", n)
	}

	// The holds API lists the held messages; release one, drop one.
	holdsAny, err := e.gw.Holds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	holds := holdsAny.([]store.Hold)
	if len(holds) != 61 { // 60 fraud + 1 content
		t.Errorf("%d holds listed, want 61", len(holds))
	}
	var fraud []store.Hold
	for _, h := range holds {
		// The contract lists id, account, range, reason and since for
		// every hold; a content hold has its destination's range.
		if b, _ := json.Marshal(h); !strings.Contains(string(b), `"range":"99`) {
			t.Errorf("hold without its range: %s", b)
		}
		if h.Reason == "fraud_hold" {
			fraud = append(fraud, h)
			if h.Account != "spam" || h.Range != "99557712" {
				t.Errorf("hold %+v: want account spam, range 99557712", h)
			}
		}
	}
	if len(fraud) < 2 {
		t.Fatalf("only %d fraud holds", len(fraud))
	}
	if err := e.gw.HoldAction(ctx, fraud[0].ID, "release"); err != nil {
		t.Fatal(err)
	}
	if err := e.gw.HoldAction(ctx, fraud[1].ID, "drop"); err != nil {
		t.Fatal(err)
	}
	if err := e.gw.HoldAction(ctx, fraud[1].ID, "drop"); !errors.Is(err, web.ErrNotFound) {
		t.Errorf("dropping twice: %v, want ErrNotFound", err)
	}
	if err := e.gw.HoldAction(ctx, "cas", "release"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "released holds delivered, dropped rejected", func() bool {
		a, b, c, u := e.events.last(fraud[0].ID), e.events.last(fraud[1].ID), e.events.last("cas"), e.events.last("unblk")
		return a != nil && a["status"] == "delivered" && b != nil && b["status"] == "rejected" &&
			c != nil && c["status"] == "delivered" && u != nil && u["status"] == "delivered"
	})
	expect(fraud[1].ID, "rejected", "fraud_hold")
	sent := submitsTo(e.sims["magti"])
	for d, n := range submitsTo(e.sims["silknet"]) {
		sent[d] += n
	}
	released := ""
	for _, id := range attack {
		if id == fraud[0].ID {
			released = id
		}
	}
	n, _ := fmt.Sscanf(released, "pump%03d", new(int))
	if n != 1 {
		t.Fatalf("released id %q", released)
	}
	var idx int
	fmt.Sscanf(released, "pump%03d", &idx)
	if c := sent[fmt.Sprintf("99557712%04d", idx)]; c != 1 {
		t.Errorf("the released message reached the SMSC %d times, want once", c)
	}
	if c := sent["995599000003"]; c != 1 {
		t.Errorf("the released content hold reached the SMSC %d times, want once", c)
	}
	if c := sent["995599000001"]; c != 1 {
		t.Errorf("the blocklisted-then-unblocked number got %d messages, want 1 (after removal)", c)
	}
}
