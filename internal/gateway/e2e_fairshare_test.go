package gateway

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/pkg/smppsim"
)

// The benchmark's shape (benchmarks/fairshare), asserting order only: A's
// backlog of thousands of marketing messages is taken in (queued, the rest
// parked) before B sends, one message at a time, to the same operator. Each
// of B's messages reaches the SMSC while A's backlog advances by no more
// than what was already on its way (the journal-ahead and the window) plus
// one round — not behind A's queue (2,000) or its parked rows.
func TestFairShareBacklogDoesNotDelayAnotherAccount(t *testing.T) {
	e := newEnv(t, []simSpec{{name: "magti"}}, `routes:
  - {prefix: "99559", operator: magti, cost: 0.012, currency: EUR}
accounts:
  - {name: a, senders: [ACME], rates: [{prefix: "995", price: 0.03, currency: EUR}]}
  - {name: b, senders: [ACME], rates: [{prefix: "995", price: 0.03, currency: EUR}]}
`)
	// 300 msg/s: A's backlog takes 20 s to send; the queue holds 2,000.
	e.yaml = strings.Replace(e.yaml, "tps: 5000", "tps: 300", 1)
	e.cfg = e.parse(e.yaml)
	e.start()
	e.waitBound("magti")
	sim := e.sims["magti"]

	const backlog = 6000
	var a []map[string]any
	for i := 0; i < backlog; i++ {
		a = append(a, msg(fmt.Sprintf("a%04d", i), fmt.Sprintf("99559%07d", i), "offer", "account", "a", "kind", "marketing"))
	}
	e.submit(a...)
	// A's records are all taken in: in the queue, or rows (parked or sent).
	waitFor(t, 30*time.Second, "A's backlog taken in", func() bool {
		var rows int
		if err := e.st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM messages WHERE account = 'a'`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		return rows+e.gw.dispatch.Info("magti").Queued >= backlog
	})
	if sent := sim.Stats().Submits; sent > backlog/2 {
		t.Fatalf("A's backlog mostly sent (%d) before B started: no backlog to test against", sent)
	}

	// slack: what is journaled ahead of the queue and in the window when
	// B's message arrives, plus A's sends while ingest reads B's record.
	const slack = 150
	const nB = 10
	for i := 0; i < nB; i++ {
		id := fmt.Sprintf("b%02d", i)
		dest := fmt.Sprintf("995599%06d", i)
		before := aSent(sim)
		e.submit(msg(id, dest, "your code", "account", "b"))
		waitFor(t, 30*time.Second, id+" sent", func() bool {
			for _, s := range sim.Submits() {
				if s.Dest == dest {
					return true
				}
			}
			return false
		})
		// A's sends between B's produce and B's submit_sm, in SMSC order.
		ahead := 0
		for _, s := range sim.Submits()[before:] {
			if s.Dest == dest {
				break
			}
			if !strings.HasPrefix(s.Dest, "995599") {
				ahead++
			}
		}
		if ahead > slack {
			t.Fatalf("%s went after %d more of A's messages (bound %d): it waited behind A's backlog", id, ahead, slack)
		}
		if i == 0 || i == nB-1 {
			t.Logf("%s: %d of A's messages went between its produce and its submit_sm", id, ahead)
		}
	}
	if n := sim.Stats().Submits; n >= backlog+nB {
		t.Fatalf("A's backlog was sent out (%d) before B finished: the test proved nothing", n)
	}
}

// aSent is how many submits the simulator has recorded so far.
func aSent(sim *smppsim.Server) int { return len(sim.Submits()) }
