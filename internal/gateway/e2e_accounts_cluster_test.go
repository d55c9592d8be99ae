package gateway

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/pkg/smppsim"
)

// The balance bound across crashes and instances: a prepaid account never
// goes below zero (the gate reserves a message's highest price under the
// account's row lock before the wire, so what is in flight on any
// instance is already counted), and its balance is the sum of its ledger
// entries. These two tests run the real binary: kill -9 twice in the
// middle of a stream, and three instances sending for one account at
// once.

const prepaidAccounts = `routes:
  - {prefix: "995", operator: magti, cost: 0.010, currency: EUR}
accounts:
  - {name: acme, billing: prepaid, rates: [{prefix: "995", price: 0.020, currency: EUR}]}
`

func TestAccountBalanceExactAcrossKill9(t *testing.T) {
	bin := smsgateBinary(t)
	e := newEnv(t, []simSpec{{name: "magti", opts: smppsim.Options{RespDelay: time.Millisecond, MaxRedeliveries: 1000}}}, prepaidAccounts)
	cfg := writeConfig(t, e.yaml)
	const affordable = 2500
	recs := prepaidStream(t, e, "p", 4000, affordable)
	e.submit(recs...)
	sim := e.sims["magti"]
	for round := 1; round <= 2; round++ {
		cmd := runBinary(t, bin, cfg)
		target := uint64(round * 700)
		waitFor(t, 60*time.Second, fmt.Sprintf("%d submits before crash %d", target, round), func() bool { return sim.Stats().Submits >= target })
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		f, _ := store.GetFunds(context.Background(), e.st.Pool, "acme")
		t.Logf("crash %d after %d submits: balance %s, reserved %s, awaiting %s", round, sim.Stats().Submits, f.Balance(), f.Reserved, f.Awaiting)
	}
	cmd := runBinary(t, bin, cfg)
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); stopOrDump(t, "smsgate", cmd, 30*time.Second) })
	waitAllFinal(t, e, recs, 120*time.Second, "delivered", "unknown", "rejected")
	checkPrepaidExact(t, e, recs, affordable, sim)
}

func TestAccountBalanceExactThreeInstances(t *testing.T) {
	bin := smsgateBinary(t)
	e := newEnv(t, []simSpec{{name: "magti", opts: smppsim.Options{ReceiptOtherBind: true, MaxRedeliveries: 1000}}}, prepaidAccounts+
		`  - {name: capped, quota: {month: 500}, rates: [{prefix: "995", price: 0.020, currency: EUR}]}
`)
	yaml := strings.Replace(e.yaml, "window: 50, tps: 5000, binds: 1", "window: 50, tps: 600, binds: 3", 1)
	cfg := writeConfig(t, yaml)
	const affordable = 2500
	recs := prepaidStream(t, e, "q", 4000, affordable)
	var procs []*exec.Cmd
	for i := 0; i < 3; i++ {
		procs = append(procs, runBinary(t, bin, cfg, "-instance-id", fmt.Sprintf("acct%d", i)))
	}
	t.Cleanup(func() {
		for _, c := range procs {
			_ = c.Process.Signal(syscall.SIGTERM)
		}
		for i, c := range procs {
			stopOrDump(t, fmt.Sprintf("acct%d", i), c, 30*time.Second)
		}
	})
	// A quota on the same path: 1,000 single-part messages, 500 allowed.
	var capped []map[string]any
	for i := 0; i < 1000; i++ {
		capped = append(capped, msg(fmt.Sprintf("m%04d", i), fmt.Sprintf("99558%07d", i), "quota", "account", "capped"))
	}
	// Traffic starts once every instance holds one of the three binds, so
	// all three send for the account at once (600/s shared: ~4 s).
	waitFor(t, 60*time.Second, "three instances bound", func() bool {
		var holders int
		_ = e.st.Pool.QueryRow(context.Background(), `SELECT count(DISTINCT holder) FROM bind_slots WHERE operator = 'magti' AND up`).Scan(&holders)
		return holders == 3
	})
	e.submit(append(recs, capped...)...)
	waitAllFinal(t, e, append(recs, capped...), 120*time.Second, "delivered", "unknown", "rejected")
	quota := map[string]int{}
	for _, r := range capped {
		l := e.events.last(r["id"].(string))
		quota[fmt.Sprint(l["status"], "/", errReason(l))]++
	}
	if quota["delivered/"] != 500 || quota["rejected/quota_exceeded"] != 500 {
		t.Errorf("a monthly quota of 500 across three instances: %v", quota)
	}
	// The account's messages went out from more than one instance, each
	// passing the gate on the same row.
	var senders int
	if err := e.st.Pool.QueryRow(context.Background(), `SELECT count(DISTINCT l.instance) FROM attempts a
JOIN journal_batches b ON b.id = a.batch JOIN lanes l ON l.id = b.lane`).Scan(&senders); err != nil {
		t.Fatal(err)
	}
	t.Logf("instances that sent for the account: %d", senders)
	if senders < 3 {
		t.Errorf("only %d instance sent: the test did not share the account", senders)
	}
	checkPrepaidExact(t, e, recs, affordable, e.sims["magti"])
}

// prepaidStream credits acme for affordable messages at 0.02 and returns
// n single-part messages for it.
func prepaidStream(t *testing.T, e *env, prefix string, n, affordable int) []map[string]any {
	t.Helper()
	if _, _, err := e.st.ApplyCredit(context.Background(), store.Credit{Account: "acme", Amount: billing.Amount(affordable) * 20000,
		Currency: "EUR", Reference: "top-up", IdempotencyKey: "t1"}); err != nil {
		t.Fatal(err)
	}
	recs := make([]map[string]any, 0, n)
	for i := 0; i < n; i++ {
		recs = append(recs, msg(fmt.Sprintf("%s%04d", prefix, i), fmt.Sprintf("99559%07d", i), "prepaid"))
	}
	return recs
}

// checkPrepaidExact: every message was sent or refused for funds, the
// account paid for what was sent and no more, and nothing stays reserved.
func checkPrepaidExact(t *testing.T, e *env, recs []map[string]any, affordable int, sims ...*smppsim.Server) {
	t.Helper()
	got := map[string]int{}
	for _, s := range sims {
		for d, c := range submitsTo(s) {
			got[d] += c
		}
	}
	statuses := map[string]int{}
	for _, r := range recs {
		l := e.events.last(r["id"].(string))
		k := fmt.Sprint(l["status"])
		if k == "rejected" {
			k += "/" + errReason(l)
		}
		statuses[k]++
		switch c := got[r["to"].(string)]; {
		case k == "delivered" && c != 1:
			t.Errorf("%s delivered but reached the SMSC %d times", r["id"], c)
		case k == "rejected/insufficient_funds" && c != 0:
			t.Errorf("%s refused for funds but reached the SMSC %d times", r["id"], c)
		}
	}
	t.Logf("final statuses: %v", statuses)
	for k := range statuses {
		if k != "delivered" && k != "unknown" && k != "rejected/insufficient_funds" {
			t.Errorf("unexpected final status %s", k)
		}
	}
	if statuses["delivered"] > affordable {
		t.Errorf("%d delivered, the credit pays for %d", statuses["delivered"], affordable)
	}
	if statuses["rejected/insufficient_funds"] == 0 {
		t.Errorf("no message refused for funds: the test did not reach the balance")
	}
	waitFor(t, 30*time.Second, "reservations released", func() bool {
		f, _ := store.GetFunds(context.Background(), e.st.Pool, "acme")
		return f.Reserved == 0 && f.Awaiting == 0
	})
	f := checkLedgerBalance(t, e, "acme")
	t.Logf("balance %s after %d delivered, %d unknown (unknown parts are not charged unless a receipt proves them)", f.Balance(), statuses["delivered"], statuses["unknown"])
	if f.Balance() < 0 {
		t.Errorf("prepaid balance %s below zero", f.Balance())
	}
}
