package gateway

import (
	"time"

	"github.com/smsgate/smsgate/internal/store"
)

// Time windows: routes[].active (router: Choose skips a route outside its
// window) and operators[].maintenance (no traffic to the operator: it is
// not chosen for new messages and its dispatcher claims nothing, while
// its binds stay up and its queue waits).

// inMaintenance reports whether op is in one of its maintenance windows.
func (t *tables) inMaintenance(op string, now time.Time) bool {
	ws := t.maintenance[op]
	for i := range ws {
		if ws[i].Contains(now) {
			return true
		}
	}
	return false
}

// maintenanceNow is inMaintenance on the current tables at the current
// time; free when no operator has maintenance windows.
func (g *Gateway) maintenanceNow(op string) bool {
	t := g.tables.Load()
	if len(t.maintenance) == 0 {
		return false
	}
	return t.inMaintenance(op, time.Now())
}

// waitForWindow is the last resort of a route decision that found nothing
// open: the route whose window opens first takes the message, which waits
// (scheduled) until then instead of being rejected. ok is false when no
// route applies at all.
func (g *Gateway) waitForWindow(t *tables, m *store.Message, forced string, now time.Time) (op string, ok bool) {
	c, opens, ok := t.routes.NextOpen(m.Dest, m.Network, forced, now, nil)
	if !ok {
		return "", false
	}
	if opens.After(m.SendAt) {
		m.SendAt = opens
		if m.State == store.Queued {
			m.State = store.Scheduled
		}
	}
	return c.Route.Operator, true
}

// windowHold checks a claimed message against its route's window before
// it is sent: a route that closed while the message waited in the queue
// gives it to another route open now (or to a usable one's queue), else
// it waits (scheduled) for the route that opens first. nil: send it.
func (g *Gateway) windowHold(m *inflightMsg, now time.Time) *outcome {
	t := g.tables.Load()
	if !t.routes.Windowed() || !t.routes.Closed(m.c.Dest, m.c.Network, m.operator, now) {
		return nil
	}
	o := &outcome{m: m, deferred: true, state: store.Queued}
	forced, tried := m.c.ForcedRoute, m.c.Tried
	if c, err := t.routes.Choose(m.c.Dest, m.c.Network, forced, now, g.usableForNew, tried, g.rand()); err == nil {
		o.deferOp = c.Route.Operator
		return o
	}
	if c, err := t.routes.Choose(m.c.Dest, m.c.Network, forced, now, func(string) bool { return true }, tried, g.rand()); err == nil {
		o.deferOp = c.Route.Operator
		return o
	}
	o.state = store.Scheduled
	if c, opens, ok := t.routes.NextOpen(m.c.Dest, m.c.Network, forced, now, tried); ok {
		o.deferOp, o.deferUntil = c.Route.Operator, opens
		return o
	}
	// Every other route is tried: wait for this one.
	o.deferOp, o.deferUntil = m.operator, now.Add(time.Minute)
	if _, opens, ok := t.routes.NextOpen(m.c.Dest, m.c.Network, m.operator, now, nil); ok {
		o.deferUntil = opens
	}
	return o
}
