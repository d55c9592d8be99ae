package faults

import (
	"fmt"
	"testing"
	"time"

	"github.com/smsgate/smsgate/pkg/smppsim"
)

// netRig is a rig whose simulator listens inside a fresh namespace.
func netRig(t *testing.T, o smppsim.Options) (*rig, *netns) {
	t.Helper()
	ns := newNetns(t)
	r := newRig(t, rigOpts{sim: o, startSim: ns.startSim})
	r.writeConfig(ns.nsIP, 2775)
	return r, ns
}

// Issue #8 scenario 2b: the SMSC stops answering without closing anything
// (half-open): nftables in its namespace drops every packet of the SMPP
// connection. smsgate must notice (enquire_link / response timeouts), make
// in-flight outcomes unknown, and bind again once the path is back.
func TestFaultHalfOpen(t *testing.T) {
	needTools(t, "ip", "nft")
	r, ns := netRig(t, smppsim.Options{RespDelay: 5 * time.Millisecond})
	var bindsBefore uint64
	res, _ := scenario(t, r, fmt.Sprintf("half-open SMSC (nftables drop) for %s", prof.halfOpenFor), 0, func(ends *faultEnds) {
		bindsBefore = r.sim.Stats().BindsTotal
		ns.dropSMPP(2775)
		time.Sleep(prof.halfOpenFor)
		ns.undrop()
		ends.mark()
	})
	if got := r.sim.Stats().BindsTotal; got <= bindsBefore {
		t.Errorf("no new bind after the path came back (binds total %d before, %d after)", bindsBefore, got)
	}
	res.notes = append(res.notes, simNote(r))
	report(t, res)
}

// Issue #8 scenario 2d: the link to the SMSC is limited to 64 kbit/s each
// way (tc tbf on both ends of the veth pair) for prof.faultFor.
func TestFaultBandwidth(t *testing.T) {
	needTools(t, "ip", "tc")
	r, ns := netRig(t, smppsim.Options{RespDelay: 2 * time.Millisecond})
	res, _ := scenario(t, r, fmt.Sprintf("64 kbit/s link (tc tbf) for %s", prof.faultFor), 0, func(ends *faultEnds) {
		ns.shape("64kbit")
		time.Sleep(prof.faultFor)
		ns.unshape()
		ends.mark()
	})
	res.notes = append(res.notes, simNote(r))
	report(t, res)
}

// Issue #8 scenario 2c: the SMSC answers slowly: toxiproxy delays every
// byte it sends by 1500 ± 500 ms (half of resp_timeout) for prof.faultFor.
func TestFaultSlowSMSC(t *testing.T) {
	r := newRig(t, rigOpts{sim: smppsim.Options{RespDelay: 2 * time.Millisecond}})
	tp := newToxiproxy(t, r.dir, r.sim.Addr())
	h, p := splitHostPort(t, tp.listen)
	r.writeConfig(h, p)
	res, _ := scenario(t, r, fmt.Sprintf("slow SMSC (toxiproxy +1.5±0.5 s) for %s", prof.faultFor), 0, func(ends *faultEnds) {
		tp.latency(1500, 500)
		time.Sleep(prof.faultFor)
		tp.clear()
		ends.mark()
	})
	res.notes = append(res.notes, simNote(r))
	report(t, res)
}
