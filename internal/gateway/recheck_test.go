package gateway

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/smsgate/smsgate/internal/events"
	"github.com/smsgate/smsgate/internal/message"
	"github.com/smsgate/smsgate/pkg/smppsim"
)

// An event rebuilt from the rows that a newer state overtook (a receipt
// committed while it was produced) is followed by the current status; one
// that is still current is not produced again.
func TestRecheckProducesTheNewerStatus(t *testing.T) {
	e := newEnv(t, twoOperators(smppsim.Options{}, smppsim.Options{}), baseRouting)
	e.start()
	e.submit(msg("rc1", "995599300001", "recheck"))
	waitFor(t, 30*time.Second, "rc1 delivered", func() bool { l := e.events.last("rc1"); return l != nil && l["status"] == "delivered" })
	topics := events.Topics{StatusTopic: "sms.status", MOTopic: "sms.mo"}
	stale := topics.Status(&message.Event{ID: "rc1", Account: "acme", Status: "submitted", At: time.Now()})
	current := topics.Status(&message.Event{ID: "rc1", Account: "acme", Status: "delivered", At: time.Now()})
	fix, err := events.Recheck(context.Background(), e.st.Pool, topics, nil, []*kgo.Record{stale})
	if err != nil {
		t.Fatal(err)
	}
	if len(fix) != 1 {
		t.Fatalf("%d records after a stale submitted, want the current status once", len(fix))
	}
	var ev map[string]any
	if err := json.Unmarshal(fix[0].Value, &ev); err != nil || ev["status"] != "delivered" || string(fix[0].Key) != "rc1" {
		t.Errorf("recheck produced %s (key %s)", fix[0].Value, fix[0].Key)
	}
	if fix, err := events.Recheck(context.Background(), e.st.Pool, topics, nil, []*kgo.Record{current}); err != nil || len(fix) != 0 {
		t.Errorf("a current event produced again: %d records, %v", len(fix), err)
	}
}
