package gateway

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/pkg/smppsim"
)

// Graceful restart in the middle of a stream (invariants 1 and 4): every id
// ends with a status, none reaches the SMSC twice unless it went through
// unknown, statuses never go back, no part is billed twice, and nothing is
// left claimed.
func TestRestartMidStream(t *testing.T) {
	e := newEnv(t, twoOperators(smppsim.Options{RespDelay: 2 * time.Millisecond}, smppsim.Options{RespDelay: 2 * time.Millisecond}), baseRouting)
	const n = 3000
	var recs []map[string]any
	for i := 0; i < n; i++ {
		to := fmt.Sprintf("99559%07d", i)
		if i%2 == 1 {
			to = fmt.Sprintf("99532%07d", i)
		}
		recs = append(recs, msg(fmt.Sprintf("r%04d", i), to, "restart test"))
	}
	e.submit(recs...)
	e.start()
	waitFor(t, 60*time.Second, "some messages submitted", func() bool {
		return e.sims["magti"].Stats().Submits+e.sims["silknet"].Stats().Submits > 300
	})
	e.stop()
	e.start()
	waitFor(t, 120*time.Second, "every id final", func() bool {
		for _, r := range recs {
			l := e.events.last(r["id"].(string))
			if l == nil || (l["status"] != "delivered" && l["status"] != "unknown" && l["status"] != "expired") {
				return false
			}
		}
		return true
	})
	got := submitsTo(e.sims["magti"])
	for d, c := range submitsTo(e.sims["silknet"]) {
		got[d] += c
	}
	rank := map[string]int{"submitted": 1, "unknown": 1, "delivered": 2, "undeliverable": 2, "expired": 2, "rejected": 2}
	for _, r := range recs {
		id := r["id"].(string)
		st := e.events.statuses(id)
		if got[r["to"].(string)] != 1 && !strings.Contains(strings.Join(st, ","), "unknown") {
			t.Errorf("%s reached the SMSC %d times (statuses %v)", id, got[r["to"].(string)], st)
		}
		for i := 1; i < len(st); i++ {
			if st[i] == st[i-1] {
				continue // published again (at-least-once: crash or retry between produce and delete)
			}
			if rank[st[i]] < rank[st[i-1]] || (rank[st[i-1]] == 2) {
				t.Errorf("%s: status went back or changed after final: %v", id, st)
				break
			}
		}
	}
	counts := map[string]int{}
	for _, r := range recs {
		counts[fmt.Sprint(e.events.last(r["id"].(string))["status"])]++
	}
	t.Logf("final statuses: %v", counts)
	var unknownParts int
	_ = e.st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM attempts WHERE state = 3`).Scan(&unknownParts)
	t.Logf("unknown attempt rows %d", unknownParts)
	var dupLedger int
	if err := e.st.Pool.QueryRow(context.Background(), `SELECT count(*) - count(DISTINCT (message_id, part)) FROM ledger`).Scan(&dupLedger); err != nil {
		t.Fatal(err)
	}
	if dupLedger != 0 {
		t.Errorf("%d parts billed twice", dupLedger)
	}
	// A graceful stop drains windows and writes every outcome: nothing
	// may be left claimed (which would come back as unknown).
	if counts["unknown"] != 0 || unknownParts != 0 {
		t.Errorf("graceful restart left %d unknown (%d unknown attempt rows)", counts["unknown"], unknownParts)
	}
	if rows := ledgerRows(t, e); rows != n {
		t.Errorf("ledger rows %d for %d single-part messages", rows, n)
	}
}

// Failover: the cheapest route's SMSC is gone, so messages go to the next
// route; destinations with a single route wait for it instead.
func TestFailoverToNextRoute(t *testing.T) {
	e := newEnv(t, twoOperators(smppsim.Options{}, smppsim.Options{}), baseRouting)
	e.sims["silknet"].Close() // cheapest for 995 (not 99559)
	e.start()
	var recs []map[string]any
	for i := 0; i < 20; i++ {
		recs = append(recs, msg(fmt.Sprintf("f%02d", i), fmt.Sprintf("99532%07d", i), "via the next route"))
	}
	e.submit(recs...)
	waitFor(t, 60*time.Second, "delivered via magti", func() bool {
		for _, r := range recs {
			if l := e.events.last(r["id"].(string)); l == nil || l["status"] != "delivered" {
				return false
			}
		}
		return true
	})
	for _, r := range recs {
		if l := e.events.last(r["id"].(string)); l["operator"] != "magti" {
			t.Errorf("%s went through %v", r["id"], l["operator"])
		}
	}
}

// No head-of-line blocking (invariant 3): operator A's SMSC stops
// answering with a backlog queued for it; operator B's messages, produced
// after A's, are all delivered while A's wait.
func TestNoHeadOfLineBlocking(t *testing.T) {
	e := newEnv(t, twoOperators(smppsim.Options{StopAnswering: true}, smppsim.Options{}), baseRouting)
	e.start()
	var a, b []map[string]any
	for i := 0; i < 500; i++ {
		a = append(a, msg(fmt.Sprintf("a%03d", i), fmt.Sprintf("99559%07d", i), "to the stalled operator"))
	}
	for i := 0; i < 100; i++ {
		b = append(b, msg(fmt.Sprintf("b%03d", i), fmt.Sprintf("99532%07d", i), "to the healthy operator"))
	}
	e.submit(a...)
	e.submit(b...)
	waitFor(t, 30*time.Second, "every message to the healthy operator delivered", func() bool {
		for _, r := range b {
			if l := e.events.last(r["id"].(string)); l == nil || l["status"] != "delivered" {
				return false
			}
		}
		return true
	})
	if n := e.sims["magti"].Stats().Submits; n > 60 {
		t.Errorf("the stalled operator took %d submits: more than its window", n)
	}
	var queued int
	if err := e.st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM messages WHERE operator = 'magti' AND state = 0 AND due IS NOT NULL`).Scan(&queued); err != nil {
		t.Fatal(err)
	}
	if queued < 400 {
		t.Errorf("only %d of A's messages wait in Postgres; the backlog must stay in the durable queue", queued)
	}
}
