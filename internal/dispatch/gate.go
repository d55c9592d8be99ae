package dispatch

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/internal/message"
	"github.com/smsgate/smsgate/internal/policy"
	"github.com/smsgate/smsgate/internal/store"
)

// The account gate runs in the intent lane's transaction, for accounts
// with a balance rule or a quota, just before a message may go on the
// wire. Their account_funds rows are locked (every instance passes here),
// the message's price at the highest of its rate's prices is reserved
// against the balance and its parts counted against the quota, and the
// outcome releases the reservation when it writes the charge. So a
// message is sent only if its price fits under the floor with everything
// sent before it, on any instance, paid or reserved.

// refusal is how a rule stopped a message in the intent lane: the state
// its row is written in (Rejected or Held) with reason and detail.
type refusal struct {
	state          message.State
	reason, detail string
}

// gateState is what the gate decided for one batch, applied when the
// batch's results are known.
type gateState struct {
	funds   map[string]*store.Funds
	reserve []int64 // per item: the reservation it made (micros)
	counted []bool  // per item: its parts were counted against the quota
}

// reservation is what a message may cost at most: its parts at the
// highest price of its rate (volume tiers only lower it).
func reservation(t *policy.Tables, m *message.Message, now time.Time) int64 {
	rate, ok := t.Rates.Lookup(m.Account, m.Dest, m.Network, now)
	if !ok {
		return 0
	}
	return int64(rate.MaxPrice()) * int64(max(m.Parts, 1))
}

// perPart is a part's share of what awaits a receipt's decision.
func perPart(t *policy.Tables, account, dest, network string, now time.Time) billing.Amount {
	rate, ok := t.Rates.Lookup(account, dest, network, now)
	if !ok {
		return 0
	}
	return rate.MaxPrice()
}

// gate decides the gated accounts' messages among items (those to be
// sent and not refused yet) and records refusals in ref.
func (s *Stage) gate(ctx context.Context, tx pgx.Tx, t *policy.Tables, items []intentItem, ref []refusal, now time.Time) (*gateState, error) {
	var accts []string
	for i := range items {
		r := &items[i].row
		if r.State != message.Sending || ref[i].state != 0 {
			continue
		}
		if a := t.Accounts[r.M.Account]; a != nil && a.Gated() {
			accts = append(accts, a.Name)
		}
	}
	if len(accts) == 0 {
		return nil, nil
	}
	funds, err := store.LockFunds(ctx, tx, accts)
	if err != nil {
		return nil, err
	}
	g := &gateState{funds: funds, reserve: make([]int64, len(items)), counted: make([]bool, len(items))}
	for _, f := range funds {
		a := t.Accounts[f.Account]
		// Quota counters restart with the account's day and month.
		day, month := now.In(a.Loc).Format("2006-01-02"), policy.MonthKey(now, a.Loc)
		if f.Day != day {
			f.Day, f.DayParts = day, 0
		}
		if f.Month != month {
			f.Month, f.MonthParts = month, 0
		}
	}
	for i := range items {
		r := &items[i].row
		m := r.M
		if r.State != message.Sending || ref[i].state != 0 {
			continue
		}
		a := t.Accounts[m.Account]
		f := funds[m.Account]
		if a == nil || f == nil {
			continue
		}
		parts := int64(max(m.Parts, 1))
		// A message counts against the quota once, on its first attempt;
		// failovers and reroutes of it do not count again.
		first := m.Attempt <= 1 && !m.Rerouted
		if first && ((a.QuotaDay > 0 && f.DayParts+parts > a.QuotaDay) || (a.QuotaMonth > 0 && f.MonthParts+parts > a.QuotaMonth)) {
			ref[i] = refusal{message.Rejected, store.ReasonQuotaExceeded, quotaDetail(a, f, parts)}
			continue
		}
		if a.Funded() {
			res := reservation(t, m, now)
			if billing.Amount(int64(f.Available())-res) < a.Floor() {
				st := message.Rejected
				if a.HoldShort {
					st = message.Held
				}
				ref[i] = refusal{st, store.ReasonInsufficientFunds, "the balance " + f.Balance().String() + " " + a.Currency +
					" with " + (f.Reserved + f.Awaiting).String() + " committed cannot pay " + billing.Amount(res).String()}
				continue
			}
			f.Reserved += billing.Amount(res)
			g.reserve[i] = res
		}
		if first {
			f.DayParts += parts
			f.MonthParts += parts
			g.counted[i] = true
		}
	}
	return g, nil
}

func quotaDetail(a *policy.Account, f *store.Funds, parts int64) string {
	if a.QuotaDay > 0 && f.DayParts+parts > a.QuotaDay {
		return "daily quota of " + strconv.FormatInt(a.QuotaDay, 10) + " parts reached (" + strconv.FormatInt(f.DayParts, 10) + " used)"
	}
	return "monthly quota of " + strconv.FormatInt(a.QuotaMonth, 10) + " parts reached (" + strconv.FormatInt(f.MonthParts, 10) + " used)"
}

// settle undoes what items not written (replays, duplicates, lost leases)
// reserved and counted, and writes the accounts' rows back.
func (g *gateState) settle(ctx context.Context, tx pgx.Tx, items []intentItem, res []IntentResult) error {
	if g == nil {
		return nil
	}
	for i := range items {
		if res[i] == Written {
			continue
		}
		f := g.funds[items[i].row.M.Account]
		if f == nil {
			continue
		}
		f.Reserved -= billing.Amount(g.reserve[i])
		g.reserve[i] = 0
		if g.counted[i] {
			parts := int64(max(items[i].row.M.Parts, 1))
			f.DayParts -= parts
			f.MonthParts -= parts
			g.counted[i] = false
		}
	}
	fs := make([]*store.Funds, 0, len(g.funds))
	for _, f := range g.funds {
		fs = append(fs, f)
	}
	return store.SaveGate(ctx, tx, fs)
}

// heldDue is the due time of a held row (as ingest writes it): never,
// until released.
var heldDue = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// releaseReserved gives back what intents parked again without reaching
// the wire had reserved, and clears it on their rows.
func releaseReserved(ctx context.Context, tx pgx.Tx, ms []*message.Message) error {
	var ds []store.FundsDelta
	var ids []string
	var gens []int32
	var zero []int64
	for _, m := range ms {
		if m.Reserved == 0 {
			continue
		}
		ds = append(ds, store.FundsDelta{Account: m.Account, Reserved: -billing.Amount(m.Reserved)})
		ids, gens, zero = append(ids, m.ID), append(gens, m.Gen), append(zero, 0)
	}
	if len(ds) == 0 {
		return nil
	}
	if err := store.SetReserved(ctx, tx, ids, gens, zero); err != nil {
		return err
	}
	return store.MoveFunds(ctx, tx, ds)
}
