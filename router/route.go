// Package router chooses the operator a message part is sent through.
//
// It is pure logic: a Table is an immutable, validated index of route rows
// (destination prefix or mobile network → operator, cost, weight, effective
// date); Holder swaps tables atomically so a config reload never blocks the
// send path; NormalizeMSISDN and CountryPrefix read numbers. Nothing here does
// I/O or keeps operator health: the caller says which operators are usable.
package router

import (
	"errors"
	"fmt"
	"time"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/timewin"
)

// MaxPrefixDigits is the longest route prefix accepted: an E.164 number has
// at most 15 digits, so a longer prefix could never match.
const MaxPrefixDigits = 15

// MaxWeight is the largest Weight accepted; it keeps the sum of the weights
// of a route set far from overflow.
const MaxWeight = 1_000_000

// Route is one row of the route table: sending to numbers that start with
// Prefix (or that belong to the mobile network MCCMNC) through Operator costs
// Cost per message part, from Effective on.
type Route struct {
	// Prefix is the E.164 destination prefix, digits only, without '+'.
	// Exactly one of Prefix and MCCMNC is set.
	Prefix string
	// MCCMNC names a mobile network as written in config: the 3-digit MCC
	// followed by the 2- or 3-digit MNC, e.g. "28202".
	MCCMNC string
	// Operator is the configured operator the part is sent through.
	Operator string
	// Cost is the operator's price per part; it ranks the routes of a key.
	Cost billing.Amount
	// Currency of Cost. All rows of one prefix or network must share it,
	// because they are ranked against each other by Cost.
	Currency string
	// Weight is the row's share of traffic among routes of equal rank.
	// 0 means the default, 1; at most MaxWeight.
	Weight int
	// Effective is when the row starts to apply; zero means always. A later
	// row for the same (prefix or network, operator) supersedes it from its
	// own Effective time.
	Effective time.Time
	// CostOnDelivered records the operator cost only for delivered parts
	// (config cost_on: delivered); false is cost_on: submit.
	CostOnDelivered bool
	// Active is the weekly window the row may be chosen in; nil or zero:
	// always. Choose skips a row outside it (see window.go); Candidates
	// does not, since it also prices sends made while it was open.
	Active *timewin.Weekly
}

// Candidate is one route usable for a destination, as returned by
// Table.Candidates, best first.
type Candidate struct {
	// Route is a copy of the row that applies; changing it does not change
	// the table.
	Route Route
	// Rank orders candidates: 0 is the cheapest; candidates of equal cost
	// share a rank and split traffic by Route.Weight.
	Rank int
}

// ErrInvalidRoute is wrapped by NewTable for every rejected row.
var ErrInvalidRoute = errors.New("invalid route")

// ErrNoRoute is returned (wrapped) by Choose when no route row applies to
// the destination, or the forced operator has none.
var ErrNoRoute = errors.New("no route")

// ErrNoUsableRoute is returned (wrapped) by Choose when routes exist but
// every one's operator was already tried or is not usable now. It wraps
// ErrNoRoute, so errors.Is(err, ErrNoRoute) holds for it too; callers that
// queue rather than reject (a drained operator) test for it first.
var ErrNoUsableRoute = fmt.Errorf("%w usable: every operator is tried or unusable", ErrNoRoute)

// validateRoute checks one row on its own; NewTable checks rows against
// each other.
func validateRoute(r Route) error {
	switch {
	case (r.Prefix == "") == (r.MCCMNC == ""):
		return fmt.Errorf("exactly one of prefix and mccmnc must be set: %w", ErrInvalidRoute)
	case !allDigits(r.Prefix):
		return fmt.Errorf("prefix %q: not digits only: %w", r.Prefix, ErrInvalidRoute)
	case len(r.Prefix) > MaxPrefixDigits:
		return fmt.Errorf("prefix %q: longer than %d digits: %w", r.Prefix, MaxPrefixDigits, ErrInvalidRoute)
	case r.MCCMNC != "" && (!allDigits(r.MCCMNC) || len(r.MCCMNC) < 5 || len(r.MCCMNC) > 6):
		return fmt.Errorf("mccmnc %q: want 5 or 6 digits (MCC + MNC): %w", r.MCCMNC, ErrInvalidRoute)
	case r.Operator == "":
		return fmt.Errorf("no operator: %w", ErrInvalidRoute)
	case r.Currency == "":
		return fmt.Errorf("no currency: %w", ErrInvalidRoute)
	case r.Cost < 0:
		return fmt.Errorf("negative cost %s: %w", r.Cost, ErrInvalidRoute)
	case r.Weight < 0 || r.Weight > MaxWeight:
		return fmt.Errorf("weight %d: want 0..%d: %w", r.Weight, MaxWeight, ErrInvalidRoute)
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
