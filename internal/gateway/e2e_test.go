package gateway

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/smsgate/smsgate/pkg/smppsim"
	"github.com/smsgate/smsgate/smpp/pdu"
)

func twoOperators(magti, silknet smppsim.Options) []simSpec {
	return []simSpec{{name: "magti", opts: magti}, {name: "silknet", opts: silknet}}
}

// submitsTo counts the parts each destination received at a simulator.
func submitsTo(s *smppsim.Server) map[string]int {
	out := map[string]int{}
	for _, sub := range s.Submits() {
		out[sub.Dest]++
	}
	return out
}

func ledgerRows(t testing.TB, e *env) int {
	var n int
	if err := e.st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM ledger`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The main path: every message reaches the SMSC once, gets submitted then
// delivered on sms.status, and each part is billed once.
func TestEndToEndDelivered(t *testing.T) {
	e := newEnv(t, twoOperators(smppsim.Options{IDFormat: smppsim.IDDec, ReceiptIDFormat: smppsim.IDHexUpper},
		smppsim.Options{IDFormat: smppsim.IDHexLower}), baseRouting)
	e.start()
	// The routing assertions below assume both operators up: a message
	// ingested while silknet is still binding rightly goes to magti.
	e.waitBound("magti", "silknet")
	texts := []string{
		"Your code is 123456",
		"გამარჯობა! თქვენი შეკვეთა მზადაა 🎉",
		strings.Repeat("Long message with € and { braces } ", 12),
		"Привіт, {name}!",
	}
	var recs []map[string]any
	want := map[string]int{} // dest -> parts
	for i := 0; i < 40; i++ {
		to := fmt.Sprintf("+99559%07d", i)
		if i%2 == 1 {
			to = fmt.Sprintf("99532%07d", i)
		}
		r := msg(fmt.Sprintf("m%03d", i), to, texts[i%len(texts)], "params", map[string]string{"name": "Олена"}, "meta", map[string]any{"n": i})
		recs = append(recs, r)
	}
	e.submit(recs...)
	waitFor(t, 60*time.Second, "every message delivered", func() bool {
		for _, r := range recs {
			if l := e.events.last(r["id"].(string)); l == nil || l["status"] != "delivered" {
				t.Logf("%s: %v; db: %s", r["id"], e.events.statuses(r["id"].(string)), e.dbState(r["id"].(string)))
				return false
			}
		}
		return true
	})
	totalParts := 0
	for _, r := range recs {
		id := r["id"].(string)
		got := e.events.statuses(id)
		if strings.Join(got, ",") != "submitted,delivered" {
			t.Errorf("%s: statuses %v, want submitted,delivered", id, got)
		}
		last := e.events.last(id)
		parts := int(last["parts"].(float64))
		totalParts += parts
		if last["parts_done"].(float64) != float64(parts) || len(last["smsc_ids"].([]any)) != parts {
			t.Errorf("%s: delivered event %v", id, last)
		}
		if last["currency"] != "EUR" || last["meta"] == nil {
			t.Errorf("%s: event lacks billing or meta: %v", id, last)
		}
		want[strings.TrimPrefix(r["to"].(string), "+")] += parts
	}
	got := submitsTo(e.sims["magti"])
	for d, n := range submitsTo(e.sims["silknet"]) {
		got[d] += n
	}
	for d, n := range want {
		if got[d] != n {
			t.Errorf("dest %s: SMSC received %d parts, want %d", d, got[d], n)
		}
	}
	if n := ledgerRows(t, e); n != totalParts {
		t.Errorf("ledger rows %d, want %d (one per part)", n, totalParts)
	}
	// Routing: 99559 went to magti (longest prefix), 99532 to silknet (cheapest 995 route).
	for d := range submitsTo(e.sims["magti"]) {
		if !strings.HasPrefix(d, "99559") {
			t.Errorf("magti got %s", d)
		}
	}
}

// Every bad input of the contract goes to the DLQ with a reason; records
// whose id is readable get a rejected/invalid status; the rest flows.
func TestBadInputs(t *testing.T) {
	e := newEnv(t, twoOperators(smppsim.Options{}, smppsim.Options{}), baseRouting+"limits: {max_parts: 3, max_bytes: 2048}\n")
	e.start()
	bad := []struct {
		id, value, detail string
	}{
		{"", `not json`, "not a valid submit JSON"},
		{"b1", `{"id":"b1","account":"acme","from":"ACME","text":"x"}`, "missing required field to"},
		{"b2", `{"id":"b2","account":"acme","from":"ACME","to":"12ab","text":"x"}`, "bad destination"},
		{"b3", `{"id":"b3","account":"acme","from":"ACME","to":"995599000001","text":"x","encoding":"utf9"}`, "utf9"},
		{"b4", `{"id":"b4","account":"acme","from":"ACME","to":"995599000001","text":"hi {who}"}`, "placeholder {who}"},
		{"b5", `{"id":"b5","account":"acme","from":"ACME","to":"995599000001","text":"` + strings.Repeat("x", 600) + `"}`, "parts"},
		{"", `{"id":"b6","text":"` + strings.Repeat("y", 3000) + `"}`, "max_bytes"},
		{"b7", `{"id":"b7","account":"acme","from":"ACME","to":"995599000001","text":"x","priority":12}`, "priority"},
		{"b8", `{"id":"b8","account":"nobody","from":"ACME","to":"995599000001","text":"x"}`, "unknown account"},
		{"b9", `{"id":"b9","account":"acme","from":"ACME","to":"995599000001","text":7}`, "text"},
		{"", "\xff\xfe binary", "UTF-8"},
	}
	var recs []kafka.Message
	for i, b := range bad {
		recs = append(recs, kafka.Message{Key: []byte(fmt.Sprint("k", i)), Value: []byte(b.value)})
	}
	e.produce(recs...)
	e.submit(msg("good", "995599000002", "fine"))
	// Events of different ids travel on different partitions: wait for
	// each, not only for the last one produced.
	waitFor(t, 30*time.Second, "good message submitted, all bad ones in the DLQ and their statuses out", func() bool {
		if e.events.last("good") == nil || e.events.dlqCount() < len(bad) {
			return false
		}
		for _, b := range bad {
			if b.id != "" && e.events.last(b.id) == nil {
				return false
			}
		}
		return true
	})
	e.events.mu.Lock()
	dlq := append([]map[string]any{}, e.events.dlq...)
	e.events.mu.Unlock()
	if len(dlq) != len(bad) {
		t.Fatalf("dlq has %d records, want %d", len(dlq), len(bad))
	}
	byKey := map[string]map[string]any{}
	for _, d := range dlq {
		byKey[fmt.Sprint(d["key"])] = d
	}
	for i, b := range bad {
		d := byKey[fmt.Sprint("k", i)]
		if d == nil {
			t.Errorf("bad record %d missing from the DLQ", i)
			continue
		}
		if !strings.Contains(fmt.Sprint(d["reason"]), b.detail) {
			t.Errorf("dlq[%d] reason %q, want it to mention %q", i, d["reason"], b.detail)
		}
		if b.id != "" {
			l := e.events.last(b.id)
			if l == nil || l["status"] != "rejected" || l["error"].(map[string]any)["reason"] != "invalid" {
				t.Errorf("%s: want rejected/invalid, got %v", b.id, l)
			}
		}
	}
	if bin := byKey[fmt.Sprint("k", len(bad)-1)]; bin["value_base64"] == nil || bin["value"] != nil {
		t.Errorf("binary record must travel base64: %v", bin)
	}
	if big := byKey["k6"]; big["truncated"] != false || len(big["value"].(string)) < 3000 || big["topic"] != "sms.submit" {
		t.Errorf("oversize record %v", big)
	}
}

// The same id produced twice reaches the handset once and gets one
// duplicate event; the same record read again produces nothing.
func TestDuplicates(t *testing.T) {
	e := newEnv(t, twoOperators(smppsim.Options{}, smppsim.Options{}), baseRouting)
	e.start()
	e.submit(msg("d1", "995599000010", "first"))
	waitFor(t, 20*time.Second, "d1 delivered", func() bool {
		l := e.events.last("d1")
		return l != nil && l["status"] == "delivered"
	})
	e.submit(msg("d1", "995599000010", "first"), msg("d2", "995599000011", "x"), msg("d2", "995599000011", "x"))
	waitFor(t, 20*time.Second, "duplicate events", func() bool {
		return len(e.events.statuses("d1")) >= 3 && len(e.events.statuses("d2")) >= 3
	})
	time.Sleep(500 * time.Millisecond)
	if got := strings.Join(e.events.statuses("d1"), ","); got != "submitted,delivered,delivered(dup)" {
		t.Errorf("d1 statuses %s", got)
	}
	got := e.events.statuses("d2")
	dups := 0
	for _, s := range got {
		if strings.HasSuffix(s, "(dup)") {
			dups++
			if s == "queued(dup)" {
				t.Errorf("duplicate event shows a state outside the contract: %v", got)
			}
		}
	}
	if dups != 1 {
		t.Errorf("d2 statuses %v: want exactly one duplicate", got)
	}
	if n := submitsTo(e.sims["magti"])["995599000010"]; n != 1 {
		t.Errorf("d1 reached the SMSC %d times", n)
	}
	if n := submitsTo(e.sims["magti"])["995599000011"]; n != 1 {
		t.Errorf("d2 reached the SMSC %d times", n)
	}
}

// A temporary error is retried (never rejected); a permanent one is
// rejected with its code; 0x0B is not failed over.
func TestTemporaryAndPermanentErrors(t *testing.T) {
	e := newEnv(t, twoOperators(
		smppsim.Options{DestStatus: map[string]pdu.Status{"9955990001": pdu.ErrInvDstAdr}, ThrottleRatio: 0.5, Seed: 7},
		smppsim.Options{}), baseRouting)
	e.start()
	var recs []map[string]any
	for i := 0; i < 20; i++ {
		recs = append(recs, msg(fmt.Sprintf("t%d", i), fmt.Sprintf("99559900%04d", 2000+i), "throttled sometimes"))
	}
	recs = append(recs, msg("perm", "995599000123", "bad dest"))
	e.submit(recs...)
	waitFor(t, 60*time.Second, "all final", func() bool {
		for _, r := range recs {
			l := e.events.last(r["id"].(string))
			if l == nil || (l["status"] != "delivered" && l["status"] != "rejected") {
				return false
			}
		}
		return true
	})
	for _, r := range recs[:20] {
		if s := e.events.statuses(r["id"].(string)); strings.Join(s, ",") != "submitted,delivered" {
			t.Errorf("%s: %v (throttling must be retried, not rejected)", r["id"], s)
		}
	}
	l := e.events.last("perm")
	if l["status"] != "rejected" {
		t.Fatalf("perm: %v", l)
	}
	er := l["error"].(map[string]any)
	if er["reason"] != "operator_rejected" || er["code"] != "0x0000000B" {
		t.Errorf("perm error %v", er)
	}
	if n := submitsTo(e.sims["silknet"])["995599000123"]; n != 0 {
		t.Errorf("0x0B must not fail over; silknet got it %d times", n)
	}
	if n := ledgerRows(t, e); n != 20 {
		t.Errorf("ledger rows %d: rejected parts must not be billed", n)
	}
}
