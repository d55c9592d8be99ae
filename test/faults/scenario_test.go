package faults

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// scenario starts the gateway, runs the load for prof.warmup, calls fault
// (which returns once the fault is over, having marked when each fault
// ended), keeps the load for prof.tail, stops it and checks the outcome.
// gatewayMayExit is false everywhere except where the test kills it.
func scenario(t *testing.T, r *rig, name string, malformedEvery int, fault func(ends *faultEnds)) (*result, *load) {
	t.Helper()
	r.startGateway()
	waitFor(t, 60*time.Second, "the gateway's binds", func() bool { return r.sim.Stats().BindsCurrent >= 2 })
	prefix := strings.ToLower(strings.TrimPrefix(t.Name(), "TestFault"))
	maxDur := prof.warmup + prof.killFor + prof.tail + 2*time.Minute
	if r.opts.loadFor > 0 {
		maxDur = r.opts.loadFor
	}
	ld, stop := startLoad(t, r, prefix, maxDur, malformedEvery)
	time.Sleep(prof.warmup)
	ends := &faultEnds{}
	fault(ends)
	time.Sleep(prof.tail)
	stop()
	loadEnd := time.Now()
	if gw := r.gateway(); gw.exited() {
		t.Errorf("smsgate exited during the scenario: %v\n%s", gw.err, gw.tail(40))
	}
	res := check(t, r, name, ld, loadEnd, ends.list())
	if t.Failed() {
		t.Logf("smsgate log tail:\n%s", r.gateway().tail(40))
	}
	return res, ld
}

// waitFor polls cond every 50 ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func simNote(r *rig) string {
	st := r.sim.Stats()
	return fmt.Sprintf("SMSC: %d submit_sm, %d throttled, %d unanswered, %d binds, %d drops, receipts %d sent %d nacked %d dropped",
		st.Submits, st.Throttled, st.Unanswered, st.BindsTotal, st.Drops, st.ReceiptsSent, st.ReceiptsNacked, st.ReceiptsDropped)
}
