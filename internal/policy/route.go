package policy

import (
	"errors"
	"time"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/router"
)

// Usable reports whether new messages may be routed to op now: it is bound
// somewhere in the cluster and accepting work (not drained, disabled or in
// maintenance).
type Usable func(op string) bool

func anyOperator(string) bool { return true }

// ErrNoRoute: no route applies to the destination at all.
var ErrNoRoute = errors.New("no route")

// Decision is where a message goes and whether it can go now.
type Decision struct {
	Operator string
	// Ready: the operator is usable now. Otherwise the message waits: for
	// the operator to come back (OpensAt zero) or for its route's time
	// window to open at OpensAt.
	Ready   bool
	OpensAt time.Time
}

// Route chooses the operator for a message (interface §6): the best usable
// route not tried yet; failing that a route that exists but is down or
// drained (the message waits for it); failing that the route whose time
// window opens first. forced names an operator (still subject to windows).
func (t *Tables) Route(dest, network, forced string, tried []string, now time.Time, usable Usable, rnd float64) (Decision, error) {
	if c, err := t.Routes.Choose(dest, network, forced, now, usable, tried, rnd); err == nil {
		return Decision{Operator: c.Route.Operator, Ready: true}, nil
	}
	if c, err := t.Routes.Choose(dest, network, forced, now, anyOperator, tried, rnd); err == nil {
		return Decision{Operator: c.Route.Operator}, nil
	}
	if c, opens, ok := t.Routes.NextOpen(dest, network, forced, now, tried); ok {
		return Decision{Operator: c.Route.Operator, OpensAt: opens}, nil
	}
	return Decision{}, ErrNoRoute
}

// NextOperator is the best usable route not yet tried, for failover after
// temporary errors ("" when there is none now).
func (t *Tables) NextOperator(dest, network, forced string, tried []string, now time.Time, usable Usable, rnd float64) string {
	if forced != "" {
		return ""
	}
	c, err := t.Routes.Choose(dest, network, "", now, usable, tried, rnd)
	if err != nil {
		return ""
	}
	return c.Route.Operator
}

// WindowClosed reports whether op's route to dest is outside its time
// window at now (the message must not go there now).
func (t *Tables) WindowClosed(dest, network, op string, now time.Time) bool {
	return t.Routes.Windowed() && t.Routes.Closed(dest, network, op, now)
}

// RouteCost is the cost of sending one part to dest through operator at
// t, and whether the route's cost applies only on delivery.
func (t *Tables) RouteCost(dest, network, operator string, at time.Time) (cost billing.Amount, currency string, onDelivery bool) {
	var buf [16]router.Candidate
	for _, c := range t.Routes.Candidates(buf[:0], dest, network, at) {
		if c.Route.Operator == operator {
			return c.Route.Cost, c.Route.Currency, c.Route.CostOnDelivered
		}
	}
	return 0, "", false
}

// MonthKey is the billing month of at in loc, e.g. "2026-11".
func MonthKey(at time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return at.In(loc).Format("2006-01")
}
