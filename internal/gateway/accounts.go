package gateway

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/policy"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/internal/web"
)

// rateWindow is how far back an account's rate looks, in one-second
// slots.
const rateWindow = 60

// accountRates counts the parts each account got accepted (or unknown)
// at an SMSC on this instance: the counter smsgate_account_parts_total
// and, for the API and the page, the rate over the last minute.
type accountRates struct {
	parts *prometheus.CounterVec
	mu    sync.Mutex
	by    map[string]*accountRing
	now   func() time.Time
}

// accountRing holds one account's parts per second of the last minute:
// slot i counts second sec[i] (a slot of an older second is stale).
type accountRing struct {
	counter prometheus.Counter
	n       [rateWindow]int64
	sec     [rateWindow]int64
}

func newAccountRates(reg prometheus.Registerer) *accountRates {
	r := &accountRates{by: map[string]*accountRing{}, now: time.Now,
		parts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_account_parts_total",
			Help: "Parts accepted or unknown at an SMSC per account (written outcomes) on this instance."}, []string{"account"})}
	if reg != nil {
		reg.MustRegister(r.parts)
	}
	return r
}

// sent is dispatch's OnSent: called once per written outcome.
func (r *accountRates) sent(account string, parts int) {
	if parts <= 0 {
		return
	}
	sec := r.now().Unix()
	r.mu.Lock()
	a := r.by[account]
	if a == nil {
		a = &accountRing{counter: r.parts.WithLabelValues(account)}
		r.by[account] = a
	}
	i := sec % rateWindow
	if a.sec[i] != sec {
		a.sec[i], a.n[i] = sec, 0
	}
	a.n[i] += int64(parts)
	r.mu.Unlock()
	a.counter.Add(float64(parts))
}

// rate is the account's parts per second over the last minute, the
// current second included.
func (r *accountRates) rate(account string) float64 {
	sec := r.now().Unix()
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.by[account]
	if a == nil {
		return 0
	}
	var sum int64
	for i := range a.n {
		if a.sec[i] > sec-rateWindow && a.sec[i] <= sec {
			sum += a.n[i]
		}
	}
	return float64(sum) / rateWindow
}

// accountGauges are the sampled account gauges and the label sets the
// last sample set (so that a removed account's series go).
type accountGauges struct {
	balance, low *prometheus.GaugeVec // account, currency
	quota        *prometheus.GaugeVec // account, period
	held         *prometheus.GaugeVec // account
	series       map[string][][]string
}

func newAccountGauges(reg prometheus.Registerer) *accountGauges {
	g := &accountGauges{series: map[string][][]string{},
		balance: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "smsgate_account_balance",
			Help: "Balance per configured account in its currency (credits minus billed prices), sampled."}, []string{"account", "currency"}),
		low: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "smsgate_account_low_balance",
			Help: "The account's low_balance threshold (accounts with one only); SmsgateAccountLowBalance fires below it."}, []string{"account", "currency"}),
		quota: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "smsgate_account_quota_used",
			Help: "Parts counted against the account's quota in its current day and month (its time zone), cluster-wide, sampled."}, []string{"account", "period"}),
		held: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "smsgate_account_held",
			Help: "Messages of the account held for insufficient funds (on_insufficient: hold), cluster-wide, sampled."}, []string{"account"}),
	}
	if reg != nil {
		reg.MustRegister(g.balance, g.low, g.quota, g.held)
	}
	return g
}

// sampleAccounts sets the account gauges of every configured account from
// account_funds and the held rows, and keeps the held counts for the page.
func (g *Gateway) sampleAccounts() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	funds, err := store.AllFunds(ctx, g.store.Pool)
	if err != nil {
		return err
	}
	held, err := store.HeldShort(ctx, g.store.Pool)
	if err != nil {
		return err
	}
	g.heldShort.Store(&held)
	byName := make(map[string]*store.Funds, len(funds))
	for i := range funds {
		byName[funds[i].Account] = &funds[i]
	}
	t := g.tables.Load()
	now := time.Now()
	ag := g.accountGauges
	set := map[string][][]string{}
	put := func(v *prometheus.GaugeVec, name string, val float64, labels ...string) {
		v.WithLabelValues(labels...).Set(val)
		set[name] = append(set[name], labels)
	}
	for _, a := range sortedAccounts(t) {
		f := byName[a.Name]
		if f == nil {
			f = &store.Funds{Account: a.Name}
		}
		put(ag.balance, "balance", f.Balance().Float64(), a.Name, a.Currency)
		if a.LowBalance != 0 {
			put(ag.low, "low", a.LowBalance.Float64(), a.Name, a.Currency)
		}
		day, month := f.Used(now, a.Loc)
		put(ag.quota, "quota", float64(day), a.Name, "day")
		put(ag.quota, "quota", float64(month), a.Name, "month")
		put(ag.held, "held", float64(held[a.Name]), a.Name)
	}
	// Series of an account that left the configuration (or changed its
	// currency or dropped low_balance) go; the others were overwritten in
	// place.
	vecs := map[string]*prometheus.GaugeVec{"balance": ag.balance, "low": ag.low, "quota": ag.quota, "held": ag.held}
	for name, old := range ag.series {
		keep := map[string]bool{}
		for _, l := range set[name] {
			keep[labelKey(l)] = true
		}
		for _, l := range old {
			if !keep[labelKey(l)] {
				vecs[name].DeleteLabelValues(l...)
			}
		}
	}
	ag.series = set
	return nil
}

func labelKey(l []string) string {
	k := ""
	for _, s := range l {
		k += s + "\x00"
	}
	return k
}

func sortedAccounts(t *policy.Tables) []*policy.Account {
	out := make([]*policy.Account, 0, len(t.Accounts))
	for _, a := range t.Accounts {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Accounts lists the configured accounts for the accounts API and the
// status page: their rules, this instance's rate and the sampled holds.
func (g *Gateway) Accounts() []web.AccountInfo {
	t := g.tables.Load()
	held := map[string]int64{}
	if h := g.heldShort.Load(); h != nil {
		held = *h
	}
	out := make([]web.AccountInfo, 0, len(t.Accounts))
	for _, a := range sortedAccounts(t) {
		info := web.AccountInfo{Name: a.Name, Billing: config.BillingPostpaid, Currency: a.Currency, CreditLimit: a.CreditLimit,
			LowBalance: a.LowBalance, OnInsufficient: config.InsufficientReject, TPS: a.TPS, QuotaDay: a.QuotaDay, QuotaMonth: a.QuotaMonth,
			Loc: a.Loc, Rate: g.accountRates.rate(a.Name), Held: held[a.Name], PartPrice: a.MinPrice, Floor: a.Floor()}
		if a.Prepaid {
			info.Billing = config.BillingPrepaid
		}
		if a.HoldShort {
			info.OnInsufficient = config.InsufficientHold
		}
		out = append(out, info)
	}
	return out
}

// KickUnpark asks dispatch to take due parked rows now (after a credit
// released messages held for funds).
func (g *Gateway) KickUnpark() { g.dispatch.KickUnpark() }
