package dispatch

import (
	"testing"
	"time"

	"github.com/smsgate/smsgate/internal/message"
)

func qm(id string, prio uint8) queued {
	return queued{m: &message.Message{ID: id, Priority: prio}}
}

// Higher priority first, arrival order within a priority; the bound holds
// and a queue full without draining says for how long.
func TestQueuePriorityAndBound(t *testing.T) {
	q := newQueue(4, nil)
	now := time.Now()
	for _, x := range []queued{qm("a", 0), qm("b", 9), qm("c", 0), qm("d", 5)} {
		if !q.tryPush(x, now) {
			t.Fatalf("push %s refused below the bound", x.m.ID)
		}
	}
	if q.tryPush(qm("e", 9), now) {
		t.Fatal("push above the bound accepted")
	}
	if d := q.stuckFor(now.Add(time.Second)); d != time.Second {
		t.Fatalf("stuck for %v, want 1s", d)
	}
	got := ""
	took, _ := q.take(nil, 3, now)
	for _, x := range took {
		got += x.m.ID
	}
	if got != "bda" {
		t.Fatalf("took %q, want bda", got)
	}
	if q.stuckFor(now.Add(time.Hour)) != 0 {
		t.Fatal("a drained queue still counts as stuck")
	}
	q.pushBack([]queued{qm("f", 0), qm("g", 0)})
	got = ""
	for _, x := range q.takeAll() {
		got += x.m.ID
	}
	if got != "cfg" || q.len() != 0 {
		t.Fatalf("took %q (len %d), want cfg", got, q.len())
	}
}
