package events

import (
	"context"
	"encoding/json"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/smsgate/smsgate/internal/message"
	"github.com/smsgate/smsgate/internal/store"
)

// Recheck derives again the status of every message with a status event in
// recs (events rebuilt from the rows and just produced) and returns an
// event for each whose status has moved on since. Events rebuilt from the
// rows are produced outside the live lanes' order: a lane on any instance
// may commit a newer state (a receipt) after the rows were read and
// publish it before the rebuilt event lands. Producing the current status
// again afterwards makes the newest state the last one the consumer sees.
func Recheck(ctx context.Context, q store.Querier, t Topics, lastPartOnly LastPartOnly, recs []*kgo.Record) ([]*kgo.Record, error) {
	sent := map[string]string{}
	var ids []string
	for _, r := range recs {
		if r.Topic != t.StatusTopic {
			continue
		}
		var ev struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		if json.Unmarshal(r.Value, &ev) != nil || ev.ID == "" {
			continue
		}
		if _, dup := sent[ev.ID]; !dup {
			ids = append(ids, ev.ID)
		}
		sent[ev.ID] = ev.Status
	}
	return currentEvents(ctx, q, t, lastPartOnly, ids, func(id string, ev *message.Event) bool { return ev.Status != sent[id] })
}
