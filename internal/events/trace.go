package events

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/smsgate/smsgate/internal/message"
	"github.com/smsgate/smsgate/internal/store"
)

// TraceDoc is a message's journey (its rows laid out in time) with the
// status its rows give now — what `smsgate trace`, the API and the status
// page's search all show.
type TraceDoc struct {
	*store.Trace
	// Status is the current status event as sms.status carries it; null
	// while the message has none yet (in flight for the first time, parked).
	Status json.RawMessage `json:"status"`
	// Routes are the destination's routes in the running gateway's table
	// now, best first, with whether each is usable now: why the message
	// went where it did (the API and the page; the CLI has no live view).
	Routes []TraceRoute `json:"routes,omitempty"`
}

// TraceRoute is one candidate route for the message's destination.
type TraceRoute struct {
	Operator string `json:"operator"`
	Rank     int    `json:"rank"` // 0 is the cheapest; equal costs share a rank and split by weight
	Cost     string `json:"cost"`
	Currency string `json:"currency"`
	Weight   int    `json:"weight"`
	Usable   bool   `json:"usable"` // bound in the cluster and accepting work now
}

// TraceOf loads message id's journey. showText adds its text.
func TraceOf(ctx context.Context, q store.Querier, id string, showText bool, lastPartOnly LastPartOnly) (*TraceDoc, error) {
	t, err := store.LoadTrace(ctx, q, id, showText)
	if err != nil {
		return nil, err
	}
	doc := &TraceDoc{Trace: t, Status: json.RawMessage("null")}
	views, err := store.LoadViews(ctx, q, []string{id})
	if err != nil {
		return nil, fmt.Errorf("trace %s: %w", id, err)
	}
	if v := views[id]; v != nil {
		if ev, ok := Derive(v, lastPartOnly, time.Now().UTC()); ok {
			doc.Status = ev.AppendJSON(nil)
			t.Steps = append(t.Steps, store.TraceStep{At: lastStep(t), What: "status now: " + statusLine(&ev)})
		}
	}
	return doc, nil
}

func lastStep(t *store.Trace) time.Time {
	if n := len(t.Steps); n > 0 {
		return t.Steps[n-1].At
	}
	return t.Message.AcceptedAt
}

func statusLine(ev *message.Event) string {
	s := ev.Status
	if ev.Reason != "" {
		s += " (" + ev.Reason + ")"
	}
	return s
}

// WriteTrace prints the journey as the status page shows it: the message,
// then one line per step in time order.
func WriteTrace(w io.Writer, doc *TraceDoc) error {
	m := doc.Message
	fmt.Fprintf(w, "message %s  account %s  from %s  to %s  %d part(s), %s, %s, priority %d\n", m.ID, m.Account, m.From, m.To,
		m.Parts, m.Encoding, m.Kind, m.Priority)
	if m.Text != "" {
		fmt.Fprintf(w, "text     %q\n", m.Text)
	}
	if m.Operator != "" {
		fmt.Fprintf(w, "route    %s", m.Operator)
		if len(m.Tried) > 0 {
			fmt.Fprintf(w, " (tried before: %v)", m.Tried)
		}
		if m.ForcedRoute != "" {
			fmt.Fprintf(w, " (forced: %s)", m.ForcedRoute)
		}
		fmt.Fprintln(w)
	}
	for _, s := range doc.Steps {
		if _, err := fmt.Fprintf(w, "%s  %s\n", s.At.UTC().Format("2006-01-02T15:04:05.000Z"), s.What); err != nil {
			return err
		}
	}
	for _, r := range doc.Receipts {
		if r.Text != "" {
			fmt.Fprintf(w, "receipt  part %d attempt %d  %s  %q\n", r.Part, r.Attempt, r.Operator, r.Text)
		}
	}
	for _, c := range doc.Ledger {
		fmt.Fprintf(w, "ledger   part %d attempt %d  %s  price %s cost %s %s  (%s, month %s)\n", c.Part, c.Attempt, c.Operator, c.Price, c.Cost,
			c.Currency, c.SubmittedAt.UTC().Format(time.RFC3339), c.Month)
	}
	return nil
}
