// Package policy holds the decisions the pipeline makes from the
// configuration, without I/O: the hot-swappable tables (routes, rates,
// accounts, keywords), per-operator rules, route choice with its
// fallbacks (a usable route, else any route, else the first to open),
// failover and reroute targets, supplier error maps, quiet hours and
// route quality.
package policy

import (
	"fmt"
	"time"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/dlr"
	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/router"
	"github.com/smsgate/smsgate/timewin"
)

// Tables is the reloadable part of the configuration. A reload builds a
// new value and swaps it atomically; readers take one snapshot per batch.
type Tables struct {
	Routes         *router.Table
	Rates          *billing.RateCard
	Accounts       map[string]*Account
	SenderOwners   map[string][]string // sender / short code → accounts claiming it
	DefaultCountry string
	MaxParts       int
	MaxBytes       int
	FreqCount      int
	FreqPer        time.Duration
	Quiet          *QuietHours
	StopWords      map[string]struct{}
	StartWords     map[string]struct{}
	Keywords       map[string]struct{} // mo.keywords ∪ stop ∪ start
	AutoReply      map[string]string   // keyword → reply text
	DLRTimeout     time.Duration
	EarlyHold      time.Duration
	MOTimeout      time.Duration
	Reroute        *Reroute // nil: off
	// ErrorMaps and Maintenance are per operator; operators without one
	// are absent.
	ErrorMaps   map[string]*ErrorMap
	Maintenance map[string][]timewin.Window
}

// Reroute is the reroute section: receipt states that send the message
// again on the next route, up to MaxAttempts attempts in all.
type Reroute struct {
	On          map[string]bool
	MaxAttempts int
}

// Account is one customer's runtime settings.
type Account struct {
	Name    string
	Senders []string
	Loc     *time.Location
	Country string
	// Weight is the account's fair share of an operator against others
	// at the same priority (≥ 1).
	Weight int
	// TPS caps parts per second across the cluster; 0 = unlimited.
	TPS int
	// QuotaDay and QuotaMonth cap parts sent; 0 = unlimited.
	QuotaDay, QuotaMonth int64
	// Prepaid: the balance may not go below zero. Otherwise CreditLimit
	// > 0 is how far below zero it may go (0 = no limit).
	Prepaid     bool
	CreditLimit billing.Amount
	// HoldShort: a message the balance cannot pay for is held until funds
	// arrive instead of rejected.
	HoldShort  bool
	LowBalance billing.Amount
	// Currency is the balance's currency (the first rate's).
	Currency string
	// MinPrice is the lowest price per part of any of its rates: a credit
	// releases as many messages held for funds as it could pay at it.
	MinPrice billing.Amount
}

// Funded reports whether the balance limits what the account may send.
func (a *Account) Funded() bool { return a.Prepaid || a.CreditLimit > 0 }

// Floor is the lowest balance the account may reach by sending.
func (a *Account) Floor() billing.Amount {
	if a.Prepaid {
		return 0
	}
	return -a.CreditLimit
}

// Gated reports whether the intent lane checks this account (funds or a
// quota) under its row lock before a message is sent.
func (a *Account) Gated() bool { return a.Funded() || a.QuotaDay > 0 || a.QuotaMonth > 0 }

// Build turns the reloadable part of a config into tables. An error leaves
// the running tables in place (hot reload).
func Build(cfg *config.Config) (*Tables, error) {
	routes := make([]router.Route, 0, len(cfg.Routes))
	for _, r := range cfg.Routes {
		rr := router.Route{Prefix: r.Prefix, MCCMNC: r.MCCMNC, Operator: r.Operator, Cost: r.Cost,
			Currency: r.Currency, Weight: r.Weight, Effective: r.Effective, CostOnDelivered: r.CostOn == "delivered"}
		if !r.Active.IsZero() {
			w := r.Active
			rr.Active = &w
		}
		routes = append(routes, rr)
	}
	rt, err := router.NewTable(routes)
	if err != nil {
		return nil, fmt.Errorf("routes: %w", err)
	}
	var rates []billing.Rate
	t := &Tables{Routes: rt, Accounts: map[string]*Account{}, SenderOwners: map[string][]string{},
		MaxParts: cfg.Limits.MaxParts, MaxBytes: cfg.Limits.MaxBytes,
		FreqCount: cfg.Marketing.FrequencyCap.Count, FreqPer: cfg.Marketing.FrequencyCap.Per,
		DLRTimeout: cfg.DLR.Timeout, EarlyHold: cfg.DLR.EarlyHold, MOTimeout: cfg.MO.ReassemblyTimeout}
	if r := cfg.Reroute; r != nil {
		t.Reroute = &Reroute{On: map[string]bool{}, MaxAttempts: r.MaxAttempts}
		for _, s := range r.On {
			t.Reroute.On[s] = true
		}
	}
	if cfg.Numbering != nil {
		t.DefaultCountry = cfg.Numbering.DefaultCountry
	}
	t.ErrorMaps, t.Maintenance = map[string]*ErrorMap{}, map[string][]timewin.Window{}
	for i := range cfg.Operators {
		o := &cfg.Operators[i]
		em, err := buildErrorMap(o.ErrorMap)
		if err != nil {
			return nil, fmt.Errorf("operator %s: %w", o.Name, err)
		}
		if em != nil {
			t.ErrorMaps[o.Name] = em
		}
		if len(o.Maintenance) > 0 {
			t.Maintenance[o.Name] = o.Maintenance
		}
	}
	if cfg.Marketing.QuietHours.Set {
		t.Quiet = &QuietHours{start: cfg.Marketing.QuietHours.Start, end: cfg.Marketing.QuietHours.End}
	}
	t.StopWords = dlr.KeywordSet(cfg.Marketing.StopKeywords)
	t.StartWords = dlr.KeywordSet(cfg.Marketing.StartKeywords)
	t.Keywords = dlr.KeywordSet(cfg.MO.Keywords, cfg.Marketing.StopKeywords, cfg.Marketing.StartKeywords)
	t.AutoReply = map[string]string{}
	for k, v := range cfg.MO.AutoReply {
		for kw := range dlr.KeywordSet([]string{k}) {
			t.AutoReply[kw] = v
		}
	}
	for i := range cfg.Accounts {
		a := &cfg.Accounts[i]
		loc := a.Location
		if loc == nil {
			loc = time.UTC
		}
		acct := &Account{Name: a.Name, Senders: a.Senders, Loc: loc, Country: a.Country, Weight: max(a.Weight, 1),
			TPS: a.TPS, QuotaDay: a.Quota.Day, QuotaMonth: a.Quota.Month, Prepaid: a.Prepaid(), CreditLimit: a.CreditLimit,
			HoldShort: a.OnInsufficient == config.InsufficientHold, LowBalance: a.LowBalance}
		if len(a.Rates) > 0 {
			acct.Currency, acct.MinPrice = a.Rates[0].Currency, a.Rates[0].Price
		}
		for _, r := range a.Rates {
			acct.MinPrice = min(acct.MinPrice, r.Price)
			for _, tr := range r.Tiers {
				acct.MinPrice = min(acct.MinPrice, tr.Price)
			}
		}
		t.Accounts[a.Name] = acct
		for _, s := range a.Senders {
			t.SenderOwners[s] = append(t.SenderOwners[s], a.Name)
		}
		for _, r := range a.Rates {
			tiers := make([]billing.Tier, len(r.Tiers))
			for j, tr := range r.Tiers {
				tiers[j] = billing.Tier{From: tr.From, Price: tr.Price}
			}
			rates = append(rates, billing.Rate{Account: a.Name, Prefix: r.Prefix, Network: r.MCCMNC, Price: r.Price,
				Currency: r.Currency, Tiers: tiers, Effective: r.Effective})
		}
	}
	if t.Rates, err = billing.NewRateCard(rates); err != nil {
		return nil, fmt.Errorf("rates: %w", err)
	}
	return t, nil
}

// InMaintenance reports whether op is in one of its maintenance windows.
func (t *Tables) InMaintenance(op string, now time.Time) bool {
	ws := t.Maintenance[op]
	for i := range ws {
		if ws[i].Contains(now) {
			return true
		}
	}
	return false
}

// CountryOf is the country an account's national-format numbers are read in.
func (t *Tables) CountryOf(account string) string {
	if a := t.Accounts[account]; a != nil && a.Country != "" {
		return a.Country
	}
	return t.DefaultCountry
}
