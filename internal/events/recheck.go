package events

import (
	"context"
	"encoding/json"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

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
	var out []*kgo.Record
	now := time.Now()
	for len(ids) > 0 {
		n := min(len(ids), 5000)
		views, err := store.LoadViews(ctx, q, ids[:n])
		if err != nil {
			return nil, err
		}
		for _, id := range ids[:n] {
			if v := views[id]; v != nil {
				if ev, ok := Derive(v, lastPartOnly, now); ok && ev.Status != sent[id] {
					out = append(out, t.Status(&ev))
				}
			}
		}
		ids = ids[n:]
	}
	return out, nil
}
