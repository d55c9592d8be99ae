package dispatch

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/smsgate/smsgate/internal/message"
	"github.com/smsgate/smsgate/internal/policy"
)

// testGates: accounts with weights and tps; live instances 1.
func testGates(accts ...*policy.Account) (*accountGates, *prometheus.CounterVec) {
	t := &policy.Tables{Accounts: map[string]*policy.Account{}}
	for _, a := range accts {
		t.Accounts[a.Name] = a
	}
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "t"}, []string{"account"})
	return newAccountGates(func() *policy.Tables { return t }, c), c
}

func am(account string, i int, prio uint8, parts uint8) queued {
	return queued{m: &message.Message{ID: fmt.Sprintf("%s%d", account, i), Account: account, Priority: prio, Parts: parts}}
}

func pushN(t *testing.T, q *queue, account string, n int, prio uint8) {
	t.Helper()
	for i := 0; i < n; i++ {
		q.pushBack([]queued{am(account, i, prio, 1)})
	}
}

// Weights 1 and 3: what is taken splits 1:3 in every round, whatever the
// size of the takes, and each account's messages keep their order.
func TestQueueDRRWeights(t *testing.T) {
	g, _ := testGates(&policy.Account{Name: "a", Weight: 1}, &policy.Account{Name: "b", Weight: 3})
	q := newQueue(10000, g)
	pushN(t, q, "a", 1000, 0)
	pushN(t, q, "b", 1000, 0)
	next := map[string]int{}
	count := map[string]int{}
	now := time.Now()
	for _, size := range []int{1, 3, 7, 40, 97, 252} { // 400 in all: 100 rounds of 4
		got, wait := q.take(nil, size, now)
		if len(got) != size || wait != 0 {
			t.Fatalf("took %d (wait %v), want %d", len(got), wait, size)
		}
		for _, x := range got {
			a := x.m.Account
			if want := fmt.Sprintf("%s%d", a, next[a]); x.m.ID != want {
				t.Fatalf("took %s, want %s (FIFO within an account)", x.m.ID, want)
			}
			next[a]++
			count[a]++
		}
	}
	if count["a"] != 100 || count["b"] != 300 {
		t.Fatalf("split a:b = %d:%d, want 100:300", count["a"], count["b"])
	}
}

// A backlog of thousands queued before another account's message delays
// it by at most one round (the sum of the weights in parts).
func TestQueueBacklogDelaysOthersByOneRound(t *testing.T) {
	g, _ := testGates(&policy.Account{Name: "a", Weight: 1}, &policy.Account{Name: "b", Weight: 1})
	q := newQueue(10000, g)
	pushN(t, q, "a", 5000, 0)
	now := time.Now()
	q.take(nil, 123, now) // mid-backlog
	for i := 0; i < 50; i++ {
		q.pushBack([]queued{am("b", i, 0, 1)})
		got, _ := q.take(nil, 2, now)
		seen := false
		for _, x := range got {
			seen = seen || x.m.ID == fmt.Sprintf("b%d", i)
		}
		if !seen {
			t.Fatalf("b%d not in the next round after a's backlog: took %s, %s", i, got[0].m.ID, got[1].m.ID)
		}
	}
	// One take as large as the queue interleaves them too: while both
	// have messages, neither goes twice in a row.
	pushN(t, q, "b", 10, 0)
	got, _ := q.take(nil, 20, now)
	for i := 1; i < len(got); i++ {
		if got[i].m.Account == got[i-1].m.Account {
			t.Fatalf("take %d: %s twice in a row (%s)", i, got[i].m.Account, got[i].m.ID)
		}
	}
}

// Priority first; within a priority accounts take turns; multi-part
// messages count by parts.
func TestQueuePriorityThenTurnsByParts(t *testing.T) {
	g, _ := testGates(&policy.Account{Name: "a", Weight: 1}, &policy.Account{Name: "b", Weight: 1})
	q := newQueue(100, g)
	q.pushBack([]queued{am("a", 0, 0, 1), am("a", 1, 0, 1), am("a", 2, 0, 1), am("a", 3, 0, 1)})
	q.pushBack([]queued{am("b", 0, 0, 3), am("b", 1, 0, 1)})
	q.pushBack([]queued{am("a", 9, 5, 1)})
	got, _ := q.take(nil, 10, time.Now())
	s := ""
	for _, x := range got {
		s += x.m.ID + " "
	}
	// a9 (priority 5) first; then b0 (3 parts) waits three rounds of a.
	if want := "a9 a0 a1 a2 b0 a3 b1 "; s != want {
		t.Fatalf("order %q, want %q", s, want)
	}
}

// At the bound an account below its fair share is admitted (up to twice
// the bound); one at or above it is refused and parked at once.
func TestQueueFairAdmission(t *testing.T) {
	g, _ := testGates(&policy.Account{Name: "a", Weight: 1}, &policy.Account{Name: "b", Weight: 1},
		&policy.Account{Name: "c", Weight: 1}, &policy.Account{Name: "d", Weight: 1}, &policy.Account{Name: "e", Weight: 1})
	q := newQueue(10, g)
	now := time.Now()
	push := func(acct string, i int) bool { return q.tryPush(am(acct, i, 0, 1), now) }
	for i := 0; i < 10; i++ {
		if !push("a", i) {
			t.Fatalf("a%d refused below the bound", i)
		}
	}
	if push("a", 10) || !q.overShare("a") {
		t.Fatal("a above its share of a full queue: want refused and over its share")
	}
	for i := 0; i < 5; i++ { // b's share: 10 × 1/2
		if !push("b", i) {
			t.Fatalf("b%d refused below its share", i)
		}
	}
	if push("b", 5) {
		t.Fatal("b admitted above its share")
	}
	for i := 0; i < 3; i++ { // c: 10/3
		if !push("c", i) {
			t.Fatalf("c%d refused below its share", i)
		}
	}
	for i := 0; i < 2; i++ { // d: 10/4; the queue reaches 2 × 10
		if !push("d", i) {
			t.Fatalf("d%d refused below its share", i)
		}
	}
	if push("e", 0) || q.len() != 20 {
		t.Fatalf("e admitted beyond twice the bound (len %d)", q.len())
	}
	if q.overShare("e") {
		t.Fatal("e holds nothing, yet over its share")
	}
}

// An account over its tps keeps its messages queued and does not hold up
// others, at any priority; its tokens count parts; a take that finds only
// it says how long to sleep; each held message is counted once.
func TestQueueAccountTPS(t *testing.T) {
	g, c := testGates(&policy.Account{Name: "a", Weight: 1, TPS: 10}, &policy.Account{Name: "b", Weight: 1})
	q := newQueue(100, g)
	q.pushBack([]queued{am("a", 0, 9, 1), am("a", 1, 9, 3), am("a", 2, 9, 1)})
	pushN(t, q, "b", 5, 0)
	now := time.Now()
	ids := func(qs []queued) string {
		s := ""
		for _, x := range qs {
			s += x.m.ID + " "
		}
		return s
	}
	// Burst is one part (100 ms of 10/s): a0 goes, a1 is held, b's go.
	got, wait := q.take(nil, 100, now)
	if s := ids(got); s != "a0 b0 b1 b2 b3 b4 " {
		t.Fatalf("took %q", s)
	}
	if wait <= 0 || wait > 101*time.Millisecond {
		t.Fatalf("wait %v, want about 100ms", wait)
	}
	if got, wait := q.take(nil, 100, now.Add(50*time.Millisecond)); len(got) != 0 || wait <= 0 {
		t.Fatalf("only a over its tps queued: took %q, wait %v", ids(got), wait)
	}
	// a1 has 3 parts: it goes once a part's token is there and leaves the
	// bucket in debt, so a2 waits for three more tokens.
	if got, _ := q.take(nil, 100, now.Add(100*time.Millisecond)); ids(got) != "a1 " {
		t.Fatalf("took %q, want a1", ids(got))
	}
	if got, _ := q.take(nil, 100, now.Add(350*time.Millisecond)); len(got) != 0 {
		t.Fatalf("took %q before a1's parts were paid for", ids(got))
	}
	if got, _ := q.take(nil, 100, now.Add(400*time.Millisecond)); ids(got) != "a2 " {
		t.Fatalf("took %q, want a2", ids(got))
	}
	if n := testutil.ToFloat64(c.WithLabelValues("a")); n != 2 {
		t.Fatalf("throttled counted %v, want 2 (a1 and a2, once each)", n)
	}
	if q.len() != 0 {
		t.Fatalf("%d left", q.len())
	}
}

// The cap is shared by the live instances in proportion to their demand
// (evenly while it is unknown); an instance alone has all of it; a reload
// changes weights and caps in place.
func TestAccountGateShareAndReload(t *testing.T) {
	acct := &policy.Account{Name: "a", Weight: 2, TPS: 90}
	g, _ := testGates(acct)
	a := g.get("a")
	now := time.Now()
	if a.rate != 90 || a.weightOf() != 2 {
		t.Fatalf("rate %v weight %d", a.rate, a.weightOf())
	}
	g.refresh(3, nil, nil, now)
	if a.rate != 30 {
		t.Fatalf("rate with 3 live instances and no demand known %v, want 30", a.rate)
	}
	// This instance carries nearly all the demand (the others hold no
	// bind for the account's operator): it gets nearly all the cap.
	g.refresh(3, map[string]int64{"a": 148}, map[string]int64{"a": 148}, now)
	if a.rate != 90*149.0/151 {
		t.Fatalf("rate with all the demand %v, want %v", a.rate, 90*149.0/151)
	}
	g.refresh(3, map[string]int64{"a": 0}, map[string]int64{"a": 148}, now)
	if a.rate != 90*1.0/151 {
		t.Fatalf("rate with none of the demand %v", a.rate)
	}
	acct.TPS, acct.Weight = 0, 5
	g.refresh(3, nil, nil, now)
	if ok, _ := a.take(1000, now); !ok || a.weightOf() != 5 {
		t.Fatal("tps 0 must be unlimited after a reload; weight 5")
	}
}
