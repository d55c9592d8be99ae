package faults

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

var finalStatus = map[string]bool{"delivered": true, "undeliverable": true, "expired": true, "rejected": true}

// result is one row of the reliability table.
type result struct {
	scenario   string
	messages   int           // valid ids produced and acknowledged
	lost       int           // no final/unknown status, or final status the SMSC contradicts
	dupSMSC    int           // parts the SMSC accepted more than once without an unknown status
	excused    int           // parts accepted twice whose message went through unknown
	billed2    int           // ledger rows beyond the first per (message, part)
	unknown    int           // ids whose statuses include unknown
	recovery   time.Duration // worst time from a fault's end to the first accepted message produced after it
	settle     time.Duration // end of load to every id having its outcome
	notes      []string
	recoveryOK bool
}

// faultEnds collects the instants at which a fault ended (a restart was
// issued, a rule removed...), for recovery times.
type faultEnds struct {
	mu sync.Mutex
	at []time.Time
}

func (f *faultEnds) mark() {
	f.mu.Lock()
	f.at = append(f.at, time.Now())
	f.mu.Unlock()
}

func (f *faultEnds) list() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.at...)
}

// check waits (bounded by prof.settle) until every produced id has a final
// or unknown status, then compares statuses, the SMSC's accepted submits
// and the ledger. It reports violations with t.Errorf and returns the row.
func check(t *testing.T, r *rig, name string, ld *load, loadEnd time.Time, ends []time.Time) *result {
	t.Helper()
	msgs, _, err := ld.results()
	if err != nil {
		t.Errorf("load: %v", err)
	}
	res := &result{scenario: name, messages: len(msgs)}
	pending := func() []string {
		var out []string
		for _, m := range msgs {
			if !settled(r.events.statuses(m.id)) {
				out = append(out, m.id)
			}
		}
		return out
	}
	deadline := time.Now().Add(prof.settle)
	var left []string
	for {
		left = pending()
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		if gw := r.gateway(); gw != nil && gw.exited() {
			t.Errorf("smsgate exited while settling: %v\n%s", gw.err, gw.tail(30))
			left = pending()
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	res.settle = time.Since(loadEnd).Round(100 * time.Millisecond)
	if len(left) > 0 {
		sort.Strings(left)
		var ex []string
		for _, id := range left[:min(len(left), 5)] {
			ex = append(ex, fmt.Sprintf("%s=%v", id, r.events.statuses(id)))
		}
		t.Errorf("%d of %d ids without a final or unknown status after %s: %s", len(left), len(msgs), prof.settle, strings.Join(ex, " "))
		res.lost += len(left)
	}

	// What the SMSC accepted, per destination (unique per message) and part.
	byDest := map[string]map[int]int{}
	firstAt := map[string]time.Time{}
	for _, s := range r.sim.Submits() {
		part := 1
		if s.Concat != "" {
			part = int(s.Seq)
		}
		if byDest[s.Dest] == nil {
			byDest[s.Dest] = map[int]int{}
		}
		byDest[s.Dest][part]++
		if f, ok := firstAt[s.Dest]; !ok || s.ReceivedAt.Before(f) {
			firstAt[s.Dest] = s.ReceivedAt
		}
	}
	counts := map[string]int{}
	for _, m := range msgs {
		sts := r.events.statuses(m.id)
		joined := strings.Join(sts, ",")
		mayRepeat := strings.Contains(joined, "unknown")
		if mayRepeat {
			res.unknown++
		}
		last := lastReal(sts)
		counts[last]++
		if finals := distinctFinals(sts); len(finals) > 1 {
			t.Errorf("%s: more than one final status: %s", m.id, joined)
		}
		got := byDest[m.to]
		for p := 1; p <= m.parts; p++ {
			c := got[p]
			switch {
			case c > 1 && mayRepeat:
				res.excused++
			case c > 1:
				res.dupSMSC++
				t.Errorf("%s part %d accepted by the SMSC %d times; statuses %s", m.id, p, c, joined)
			}
			// A message reported delivered (or submitted) whose part never
			// reached the SMSC was lost while being reported as sent.
			if c == 0 && (last == "delivered" || last == "submitted") {
				res.lost++
				t.Errorf("%s part %d never reached the SMSC but its status is %s", m.id, p, joined)
				break
			}
		}
		if last == "rejected" {
			// The simulator rejects nothing in these scenarios: a rejected
			// valid message means a fault turned into a permanent error.
			t.Errorf("%s rejected under a fault: %s (error %v)", m.id, joined, r.events.lastError(m.id))
		}
	}
	res.billed2 = r.billedTwice()
	if res.billed2 != 0 {
		t.Errorf("%d ledger rows bill a (message, part) a second time", res.billed2)
	}
	if bad := r.events.badEvents(); len(bad) > 0 {
		t.Errorf("%d malformed output events, e.g. %s", len(bad), bad[0])
	}
	res.notes = append(res.notes, fmt.Sprintf("statuses %s", fmtCounts(counts)))

	// Recovery: for each fault end, the first SMSC accept of a message
	// produced after it.
	res.recoveryOK = len(ends) > 0
	for _, e := range ends {
		var best time.Time
		for _, m := range msgs {
			if m.produced.Before(e) {
				continue
			}
			if f, ok := firstAt[m.to]; ok && (best.IsZero() || f.Before(best)) {
				best = f
			}
		}
		if best.IsZero() {
			res.recoveryOK = false
			t.Errorf("no message produced after the fault ended at %s reached the SMSC", e.Format("15:04:05.000"))
			continue
		}
		res.recovery = max(res.recovery, best.Sub(e))
	}
	return res
}

func settled(sts []string) bool {
	for _, s := range sts {
		if finalStatus[s] || s == "unknown" {
			return true
		}
	}
	return false
}

// lastReal is the last status that is not a duplicate notice.
func lastReal(sts []string) string {
	for i := len(sts) - 1; i >= 0; i-- {
		if !strings.HasSuffix(sts[i], "(dup)") {
			return sts[i]
		}
	}
	return "none"
}

func distinctFinals(sts []string) map[string]bool {
	out := map[string]bool{}
	for _, s := range sts {
		if finalStatus[s] {
			out[s] = true
		}
	}
	return out
}

func (l *eventLog) badEvents() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.bad...)
}

func fmtCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s=%d", k, m[k])
	}
	return b.String()
}

// report prints the row and appends it to $FAULTS_RESULTS when set.
func report(t *testing.T, res *result) {
	t.Helper()
	rec := "n/a"
	if res.recoveryOK {
		rec = res.recovery.Round(10 * time.Millisecond).String()
	}
	notes := append([]string{fmt.Sprintf("unknown %d (SMSC repeats excused %d)", res.unknown, res.excused),
		fmt.Sprintf("settled %s after load", res.settle)}, res.notes...)
	if t.Failed() {
		notes = append([]string{"**FAILED**"}, notes...)
	}
	row := fmt.Sprintf("| %s | %s | %d | %d | %d | %d | %s | %s |", prof.name, res.scenario, res.messages, res.lost,
		res.dupSMSC, res.billed2, rec, strings.Join(notes, "; "))
	t.Log(row)
	if p := os.Getenv("FAULTS_RESULTS"); p != "" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Errorf("results file: %v", err)
			return
		}
		defer f.Close()
		fmt.Fprintln(f, row)
	}
}
