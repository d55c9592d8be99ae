package faults

import (
	"fmt"
	"testing"
	"time"

	"github.com/smsgate/smsgate/pkg/smppsim"
)

// Issue #8 scenario 1: kill -9 of smsgate every killEvery, restarted each
// time, under load.
func TestFaultKill9(t *testing.T) {
	r := newRig(t, rigOpts{sim: smppsim.Options{RespDelay: 5 * time.Millisecond}})
	kills := 0
	res, _ := scenario(t, r, fmt.Sprintf("kill -9 every %s for %s", prof.killEvery, prof.killFor), 0, func(ends *faultEnds) {
		for stop := time.Now().Add(prof.killFor); time.Now().Add(prof.killEvery).Before(stop.Add(time.Second)); {
			time.Sleep(prof.killEvery)
			r.gateway().kill()
			kills++
			r.startGateway()
			ends.mark()
		}
	})
	res.notes = append(res.notes, fmt.Sprintf("%d kills", kills), simNote(r))
	report(t, res)
}

// Issue #8 scenario 2a: the SMSC closes every connection (no unbind) while
// submits are outstanding, every 2 s for prof.faultFor.
func TestFaultSMSCDrop(t *testing.T) {
	// A 50 ms answer keeps several submits in each window when the drop hits.
	r := newRig(t, rigOpts{sim: smppsim.Options{RespDelay: 50 * time.Millisecond}})
	res, _ := scenario(t, r, "SMSC drops TCP mid-window every 2s", 0, func(ends *faultEnds) {
		for stop := time.Now().Add(prof.faultFor); time.Now().Before(stop); {
			r.sim.DropAll()
			ends.mark()
			time.Sleep(2 * time.Second)
		}
	})
	res.notes = append(res.notes, simNote(r))
	report(t, res)
}

// Issue #8 scenario 3: a throttling storm, half of all submits answered
// ESME_RTHROTTLED (0x58) for prof.stormFor. 0x58 is temporary: retried,
// never rejected.
func TestFaultThrottleStorm(t *testing.T) {
	r := newRig(t, rigOpts{sim: smppsim.Options{RespDelay: 2 * time.Millisecond, Seed: 58}})
	res, _ := scenario(t, r, fmt.Sprintf("50%% ESME_RTHROTTLED for %s", prof.stormFor), 0, func(ends *faultEnds) {
		r.sim.SetThrottleRatio(0.5)
		time.Sleep(prof.stormFor)
		r.sim.SetThrottleRatio(0)
		ends.mark()
	})
	if r.sim.Stats().Throttled == 0 {
		t.Error("the simulator throttled nothing: the storm did not happen")
	}
	res.notes = append(res.notes, simNote(r))
	report(t, res)
}

// Issue #8 scenario 5: a hostile SMSC sends prof.garbage malformed PDUs
// (unknown command ids, truncated TLVs, unterminated strings, sm_length
// overruns, nonsense receipts, 100 kB PDUs) on every bind, then one PDU
// with command_length 8 that desynchronises the stream. The process must
// survive and the binds come back.
func TestFaultHostileSMSC(t *testing.T) {
	r := newRig(t, rigOpts{sim: smppsim.Options{RespDelay: 2 * time.Millisecond}})
	sentGarbage := 0
	res, _ := scenario(t, r, fmt.Sprintf("hostile SMSC: %d malformed PDUs per bind + desync", prof.garbage), 0, func(ends *faultEnds) {
		for i := 0; sentGarbage < prof.garbage; i++ {
			n := min(250, prof.garbage-sentGarbage)
			if _, err := r.sim.SendGarbage(n, int64(i)); err != nil {
				// Between a drop and the rebind nothing is bound.
				time.Sleep(100 * time.Millisecond)
				continue
			}
			sentGarbage += n
			time.Sleep(50 * time.Millisecond)
		}
		waitFor(t, 60*time.Second, "binds before the desync", func() bool { return r.sim.Stats().BindsCurrent >= 2 })
		if _, err := r.sim.SendGarbageDesync(0, 99); err != nil {
			t.Errorf("desync PDU: %v", err)
		}
		ends.mark()
	})
	if gw := r.gateway(); gw.exited() {
		t.Fatalf("smsgate died: %v", gw.err)
	}
	waitFor(t, 60*time.Second, "both binds back after the hostile PDUs", func() bool { return r.sim.Stats().BindsCurrent >= 2 })
	st := r.sim.Stats()
	res.notes = append(res.notes, fmt.Sprintf("%d garbage PDUs written, %d generic_nack received by the SMSC, binds total %d",
		st.GarbageSent, st.GenericNacksReceived, st.BindsTotal))
	report(t, res)
}

// Issue #8 scenario 6: malformed Kafka records mixed into the load; every
// one reaches sms.dlq (and a rejected status when its id is readable),
// the rest flows.
func TestFaultMalformedInput(t *testing.T) {
	r := newRig(t, rigOpts{sim: smppsim.Options{RespDelay: 2 * time.Millisecond}})
	total := float64(prof.rate) * (prof.warmup + prof.faultFor + prof.tail).Seconds()
	every := max(2, int(total)/prof.malformed)
	res, ld := scenario(t, r, "malformed Kafka records mixed in", every, func(ends *faultEnds) {
		time.Sleep(prof.faultFor)
	})
	_, bad, _ := ld.results()
	deadline := time.Now().Add(prof.settle)
	missing := func() (dlq, rejected []string) {
		for _, b := range bad {
			if r.events.dlqCount(b.key) == 0 {
				dlq = append(dlq, b.key)
			}
			if b.withID && lastReal(r.events.statuses(b.key)) != "rejected" {
				rejected = append(rejected, b.key)
			}
		}
		return
	}
	var md, mr []string
	for {
		md, mr = missing()
		if (len(md) == 0 && len(mr) == 0) || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if len(md) > 0 {
		t.Errorf("%d of %d malformed records never reached sms.dlq, e.g. %v", len(md), len(bad), md[:min(5, len(md))])
	}
	if len(mr) > 0 {
		t.Errorf("%d malformed records with a readable id got no rejected status, e.g. %v", len(mr), mr[:min(5, len(mr))])
	}
	for _, b := range bad {
		if b.withID {
			if e := r.events.lastError(b.key); e == nil || e["reason"] != "invalid" {
				t.Errorf("%s: rejected without reason invalid: %v", b.key, e)
				break
			}
		}
	}
	res.notes = append(res.notes, fmt.Sprintf("%d malformed records: all in sms.dlq: %v", len(bad), len(md) == 0))
	report(t, res)
}
