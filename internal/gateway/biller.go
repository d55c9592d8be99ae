package gateway

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/router"
)

// biller prices parts billed by receipts within one transaction, with the
// accounts' month-to-date counters locked for volume tiers.
type biller struct {
	g      *Gateway
	t      *tables
	now    time.Time
	counts map[store.AccountMonth]int64
	added  map[store.AccountMonth]int64
	rows   []store.LedgerRow
	costs  []store.LedgerCost
}

func (g *Gateway) newBiller(ctx context.Context, tx pgx.Tx, t *tables, ids []string, msgs map[string]*store.MessageParts, now time.Time) (*biller, error) {
	b := &biller{g: g, t: t, now: now, added: map[store.AccountMonth]int64{}}
	keys := map[store.AccountMonth]struct{}{}
	for _, id := range ids {
		if mp := msgs[id]; mp != nil {
			if a := t.accounts[mp.Account]; a != nil {
				keys[store.AccountMonth{Account: a.name, Month: monthKey(now, a.loc)}] = struct{}{}
			}
		}
	}
	if len(keys) == 0 {
		return b, nil
	}
	ks := make([]store.AccountMonth, 0, len(keys))
	for k := range keys {
		ks = append(ks, k)
	}
	var err error
	b.counts, err = store.MonthCounts(ctx, tx, ks)
	return b, err
}

// bill adds a ledger row for part index p (0-based) of mp with status st:
// the customer's price (the month's tier counter advances) and the
// operator cost as the route's cost_on says (delivered: only when st is).
func (b *biller) bill(mp *store.MessageParts, p int, st store.State) {
	b.row(mp, p, st, true)
}

// costOnly adds a price-0 row for part p of a failed attempt whose
// operator cost applies (cost_on submit) though the customer is not
// charged for it (charge_on delivered; interface §6, reroute).
func (b *biller) costOnly(mp *store.MessageParts, p int, st store.State) {
	b.row(mp, p, st, false)
}

func (b *biller) row(mp *store.MessageParts, p int, st store.State, charge bool) {
	acct := b.t.accounts[mp.Account]
	if acct == nil {
		return
	}
	rate, ok := b.t.rates.Lookup(mp.Account, mp.Dest, mp.Network, b.now)
	if !ok {
		return
	}
	key := store.AccountMonth{Account: acct.name, Month: monthKey(b.now, acct.loc)}
	cost, costCur, costOnDeliv := routeCost(b.t, mp.Dest, mp.Network, mp.Operator, mp.PartSubmitted[p])
	if costOnDeliv && st != store.Delivered {
		cost = 0
	}
	var price billing.Amount
	if charge {
		price = rate.PriceFor(b.counts[key] + b.added[key])
		b.added[key]++
	} else if cost == 0 {
		return // nothing to record
	}
	b.rows = append(b.rows, store.LedgerRow{MessageID: mp.ID, Part: int16(p + 1), Attempt: mp.Attempt,
		Account: mp.Account, Operator: mp.Operator, Destination: mp.Dest, CountryPrefix: router.CountryPrefix(mp.Dest), Network: mp.Network,
		SubmittedAt: mp.PartSubmitted[p], Status: st.String(), Cost: cost, CostCurrency: costCur,
		Price: price, Currency: rate.Currency, Month: key.Month})
}

// deliveredCost records the operator cost of a part billed at submit with
// cost 0 because its route's cost_on is delivered, once it is delivered.
func (b *biller) deliveredCost(mp *store.MessageParts, p int) {
	cost, costCur, costOnDeliv := routeCost(b.t, mp.Dest, mp.Network, mp.Operator, mp.PartSubmitted[p])
	if !costOnDeliv || cost == 0 {
		return
	}
	b.costs = append(b.costs, store.LedgerCost{MessageID: mp.ID, Part: int16(p + 1), Attempt: mp.Attempt, Cost: cost, CostCurrency: costCur})
}

func (b *biller) flush(ctx context.Context, tx pgx.Tx) error {
	if err := store.SetLedgerCosts(ctx, tx, b.costs); err != nil {
		return err
	}
	if len(b.rows) == 0 {
		return nil
	}
	if _, err := store.InsertLedger(ctx, tx, b.rows); err != nil {
		return err
	}
	if b.g != nil {
		b.g.countLosses(b.rows)
	}
	return store.AddMonthCounts(ctx, tx, b.added)
}

// countLosses counts billed parts sold below their operator cost: a route
// allowed with allow_loss, or a price or cost that changed since config load.
func (g *Gateway) countLosses(rows []store.LedgerRow) {
	for i := range rows {
		r := &rows[i]
		if r.CostCurrency == r.Currency && r.Cost > r.Price {
			g.metrics.lossParts.WithLabelValues(r.Operator).Inc()
		}
	}
}
