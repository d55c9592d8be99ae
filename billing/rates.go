package billing

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Tier is one volume step of a rate: Price applies to the account's billed
// parts of the calendar month after the From-th, i.e. from part From+1 on.
type Tier struct {
	From  int64
	Price Amount
}

// Rate is an account's price per message part for a destination prefix or a
// mobile network (MCC+MNC as written, e.g. "28202"). Exactly one of Prefix
// and Network is set. Effective is when the row starts to apply (zero:
// always); a later row for the same (account, prefix|network) supersedes it
// from its own Effective time.
type Rate struct {
	Account   string
	Prefix    string
	Network   string
	Price     Amount
	Currency  string
	Tiers     []Tier // ascending by From; validated by NewRateCard
	Effective time.Time
}

// PriceFor returns the price of one part given how many parts the account
// was already billed this month (monthCount): the part being priced is
// number monthCount+1, so a tier {From: N} applies once monthCount >= N.
func (r Rate) PriceFor(monthCount int64) Amount {
	p := r.Price
	for _, t := range r.Tiers {
		if monthCount < t.From {
			break
		}
		p = t.Price
	}
	return p
}

// MaxPrice is the highest price the rate can charge a part (its base or a
// tier): what a prepaid balance must cover before the tier is known.
func (r Rate) MaxPrice() Amount {
	p := r.Price
	for _, t := range r.Tiers {
		p = max(p, t.Price)
	}
	return p
}

// ErrInvalidRate is wrapped by NewRateCard for every rejected row.
var ErrInvalidRate = errors.New("invalid rate")

// RateCard is an immutable, validated set of rates for all accounts. It is
// safe for concurrent use; a config reload builds a new one.
type RateCard struct {
	accounts map[string]*accountRates
}

type accountRates struct {
	prefix    map[string][]Rate // per prefix, ascending by Effective
	network   map[string][]Rate // per network, ascending by Effective
	maxPrefix int
}

// NewRateCard validates rates and indexes them for Lookup. It rejects a
// row without account or currency, with both or neither of prefix and
// network, a non-digit prefix, a negative price, tiers that are not
// strictly ascending by a positive From, and two rows for the same
// (account, prefix|network) with the same Effective time.
func NewRateCard(rates []Rate) (*RateCard, error) {
	c := &RateCard{accounts: make(map[string]*accountRates)}
	for i, r := range rates {
		if err := validateRate(r); err != nil {
			return nil, fmt.Errorf("rate %d (account %q, prefix %q, network %q): %w", i, r.Account, r.Prefix, r.Network, err)
		}
		r.Tiers = append([]Tier(nil), r.Tiers...) // the card must not alias the caller's slice
		a := c.accounts[r.Account]
		if a == nil {
			a = &accountRates{prefix: map[string][]Rate{}, network: map[string][]Rate{}}
			c.accounts[r.Account] = a
		}
		if r.Network != "" {
			a.network[r.Network] = append(a.network[r.Network], r)
		} else {
			a.prefix[r.Prefix] = append(a.prefix[r.Prefix], r)
			a.maxPrefix = max(a.maxPrefix, len(r.Prefix))
		}
	}
	for acct, a := range c.accounts {
		for _, m := range []map[string][]Rate{a.prefix, a.network} {
			for key, rows := range m {
				sort.SliceStable(rows, func(i, j int) bool { return rows[i].Effective.Before(rows[j].Effective) })
				for i := 1; i < len(rows); i++ {
					if rows[i].Effective.Equal(rows[i-1].Effective) {
						return nil, fmt.Errorf("account %q, %q: two rates effective at %s: %w",
							acct, key, rows[i].Effective.Format(time.RFC3339), ErrInvalidRate)
					}
				}
			}
		}
	}
	return c, nil
}

func validateRate(r Rate) error {
	switch {
	case r.Account == "":
		return fmt.Errorf("no account: %w", ErrInvalidRate)
	case (r.Prefix == "") == (r.Network == ""):
		return fmt.Errorf("exactly one of prefix and network must be set: %w", ErrInvalidRate)
	case !allDigits(r.Prefix) || !allDigits(r.Network):
		return fmt.Errorf("prefix and network must be digits: %w", ErrInvalidRate)
	case r.Currency == "":
		return fmt.Errorf("no currency: %w", ErrInvalidRate)
	case r.Price < 0:
		return fmt.Errorf("negative price: %w", ErrInvalidRate)
	}
	var last int64
	for i, t := range r.Tiers {
		if t.From <= last {
			return fmt.Errorf("tier %d: from %d must be positive and above the previous tier's: %w", i, t.From, ErrInvalidRate)
		}
		if t.Price < 0 {
			return fmt.Errorf("tier %d: negative price: %w", i, ErrInvalidRate)
		}
		last = t.From
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

// Lookup returns the account's rate for a part sent at `at` to dest (E.164
// digits, a leading '+' ignored) on network (MCC+MNC, "" when unknown). A
// rate for the network wins over prefix rates; otherwise the longest prefix
// of dest that has a rate in effect at `at` is used (a prefix whose only
// rows start later does not shadow a shorter one). ok is false when the
// account has no applicable rate.
func (c *RateCard) Lookup(account, dest, network string, at time.Time) (Rate, bool) {
	if c == nil {
		return Rate{}, false
	}
	a := c.accounts[account]
	if a == nil {
		return Rate{}, false
	}
	if network != "" {
		if r, ok := effectiveAt(a.network[network], at); ok {
			return r, true
		}
	}
	dest = strings.TrimPrefix(dest, "+")
	for n := min(len(dest), a.maxPrefix); n > 0; n-- {
		if r, ok := effectiveAt(a.prefix[dest[:n]], at); ok {
			return r, true
		}
	}
	return Rate{}, false
}

// effectiveAt returns the last row (rows ascend by Effective) that has
// started by at.
func effectiveAt(rows []Rate, at time.Time) (Rate, bool) {
	for i := len(rows) - 1; i >= 0; i-- {
		if !rows[i].Effective.After(at) {
			return rows[i], true
		}
	}
	return Rate{}, false
}

// MonthStart returns the first instant (in UTC) of the calendar month that
// contains t in loc, the account's billing time zone (nil: UTC).
func MonthStart(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, loc).UTC()
}

// MonthEnd returns the first instant (in UTC) of the month after the one
// that contains t in loc: the exclusive end of t's billing month.
func MonthEnd(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	l := t.In(loc)
	return time.Date(l.Year(), l.Month()+1, 1, 0, 0, 0, 0, loc).UTC()
}

// MonthKey names the billing month of t in loc (nil: UTC), e.g. "2026-11";
// it keys the per-account tier counter.
func MonthKey(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01")
}
