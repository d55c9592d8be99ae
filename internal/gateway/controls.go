package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/events"
	"github.com/smsgate/smsgate/internal/message"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/internal/web"
	"github.com/smsgate/smsgate/protect"
)

// Operator controls, shared by the cluster through Postgres
// (operator_controls) and read by every instance on each lease round:
//   - drained: journaling stops, in-flight work finishes, the queue is
//     parked and waits; new messages route as if the operator were down
//     (and wait for it, parked, when it is their only route).
//   - disabled: drained, and its binds close (the slot leaser holds none).
//   - enabled: the row is gone.
var errBadRequest = web.ErrBadRequest

const (
	controlDrained  = "drained"
	controlDisabled = "disabled"
)

func (g *Gateway) control(op string) string { return (*g.controls.Load())[op] }

// refreshControls reads the cluster's operator controls.
func (g *Gateway) refreshControls(ctx context.Context) error {
	c, err := store.OperatorControls(ctx, g.store.Pool)
	if err != nil {
		return err
	}
	old := g.controls.Swap(&c)
	for op := range g.pools {
		if (*old)[op] != c[op] {
			g.log.Info("operator control changed", zap.String("operator", op), zap.String("state", c[op]))
			g.dispatch.KickUnpark()
		}
	}
	return nil
}

// OperatorAction applies drain | disable | enable to the named operator
// for the whole cluster.
func (g *Gateway) OperatorAction(ctx context.Context, name, action string) error {
	if _, ok := g.operators[name]; !ok {
		return fmt.Errorf("operator %q: %w", name, web.ErrNotFound)
	}
	var state string
	switch action {
	case "drain":
		state = controlDrained
	case "disable":
		state = controlDisabled
	case "enable":
	default:
		return fmt.Errorf("action %q (want drain, disable or enable): %w", action, web.ErrNotFound)
	}
	if err := store.SetOperatorControl(ctx, g.store.Pool, name, state); err != nil {
		return err
	}
	return g.refreshControls(ctx)
}

// Holds lists held messages (fraud_hold, content).
func (g *Gateway) Holds(ctx context.Context) (any, error) {
	hs, err := store.Holds(ctx, g.store.Pool, 10000)
	if err != nil {
		return nil, err
	}
	// Every entry has a range: a content hold gets its destination's
	// range under the pumping rules (or their default width when pumping
	// is off), so the list can be grouped by range.
	for i := range hs {
		if hs[i].Range == "" {
			hs[i].Range = g.protect.guard.RangeOf(hs[i].Dest)
			if hs[i].Range == "" {
				hs[i].Range = protect.RangeOf(hs[i].Dest, config.DefaultPrefixDigits)
			}
		}
	}
	return hs, nil
}

// HoldAction releases (sent normally) or drops (rejected with the hold's
// reason) one held message.
func (g *Gateway) HoldAction(ctx context.Context, id, action string) error {
	switch action {
	case "release":
		err := store.ReleaseHold(ctx, g.store.Pool, id)
		if errors.Is(err, store.ErrNotHeld) {
			return fmt.Errorf("message %q: %w", id, web.ErrNotFound)
		}
		if err == nil {
			g.metrics.holds.WithLabelValues("released").Inc()
			g.dispatch.KickUnpark()
		}
		return err
	case "drop":
		var ev message.Event
		var batch int64
		lane := g.opts.InstanceID + "/control"
		err := pgx.BeginFunc(ctx, g.store.Pool, func(tx pgx.Tx) error {
			if err := store.RegisterLane(ctx, tx, lane, g.opts.InstanceID, "control"); err != nil {
				return err
			}
			var err error
			if batch, err = store.BeginBatch(ctx, tx, lane); err != nil {
				return err
			}
			d, err := store.DropHold(ctx, tx, batch, id)
			if err != nil {
				return err
			}
			ev = message.Event{ID: id, Account: d.Account, Status: "rejected", Reason: d.Reason, Detail: "dropped from hold",
				Parts: int(d.Parts), At: time.Now(), Meta: d.Meta}
			return nil
		})
		if errors.Is(err, store.ErrNotHeld) {
			return fmt.Errorf("message %q: %w", id, web.ErrNotFound)
		}
		if err == nil {
			g.metrics.holds.WithLabelValues("dropped").Inc()
			g.publisher.Enqueue(lane, batch, []*kgo.Record{g.topics.Status(&ev)}, nil)
		}
		return err
	}
	return fmt.Errorf("action %q (want release or drop): %w", action, web.ErrNotFound)
}

// Trace is a message's journey for the API and the status page.
func (g *Gateway) Trace(ctx context.Context, id string) (any, error) {
	doc, err := events.TraceOf(ctx, g.store.Pool, id, g.cfg.HTTP.ShowMessageText, g.lastPartOnly)
	if errors.Is(err, store.ErrNoMessage) {
		return nil, fmt.Errorf("message %q: %w", id, web.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	m := doc.Message
	for _, c := range g.tables.Load().Routes.Candidates(nil, m.To, m.Network, time.Now()) {
		doc.Routes = append(doc.Routes, events.TraceRoute{Operator: c.Route.Operator, Rank: c.Rank, Cost: c.Route.Cost.String(),
			Currency: c.Route.Currency, Weight: c.Route.Weight, Usable: g.Usable(c.Route.Operator)})
	}
	return doc, nil
}
