package billing

import (
	"fmt"
	"io"
	"sort"
	"strconv"
)

// SummaryRow is the total of one account, operator and currency (or, in
// Totals, of a currency, with Account "total"). An account's credits
// (top-ups and adjustments) have a row of their own with Operator "" and
// only Credits set.
type SummaryRow struct {
	Account, Operator, Currency string
	Parts                       int64
	Cost, Price                 Amount
	Credits                     Amount
}

// Margin is price minus cost.
func (r SummaryRow) Margin() Amount { return r.Price - r.Cost }

// BalanceChange is what the row moved the account's balance by: credits
// in, billed prices out. An account's movement over the period is the sum
// over its rows.
func (r SummaryRow) BalanceChange() Amount { return r.Credits - r.Price }

// CreditStatus is the status of a credit's row in the billing export: a
// top-up or (negative) adjustment of an account's balance, with part 0,
// no operator or destination and the amount in price.
const CreditStatus = "credit"

// CreditID is the message_id of a credit's row in the billing export.
func CreditID(id int64) string { return "credit-" + strconv.FormatInt(id, 10) }

// IsCredit tells a credit's row from a billed part's.
func (r *BillingRow) IsCredit() bool { return r.Part == 0 && r.Status == CreditStatus }

// Summary adds up export rows exactly (micro-units).
type Summary struct {
	rows map[[3]string]*SummaryRow
}

// Add counts one billed part, or one credit.
func (s *Summary) Add(r *BillingRow) {
	if s.rows == nil {
		s.rows = map[[3]string]*SummaryRow{}
	}
	op := r.Operator
	if r.IsCredit() {
		op = ""
	}
	k := [3]string{r.Account, op, r.Currency}
	t := s.rows[k]
	if t == nil {
		t = &SummaryRow{Account: r.Account, Operator: op, Currency: r.Currency}
		s.rows[k] = t
	}
	if r.IsCredit() {
		t.Credits += r.Price
		return
	}
	t.Parts++
	t.Cost += r.Cost
	t.Price += r.Price
}

// Rows are the totals per account, operator and currency, sorted.
func (s *Summary) Rows() []SummaryRow {
	out := make([]SummaryRow, 0, len(s.rows))
	for _, r := range s.rows {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Account != b.Account {
			return a.Account < b.Account
		}
		if a.Operator != b.Operator {
			return a.Operator < b.Operator
		}
		return a.Currency < b.Currency
	})
	return out
}

// Totals are the grand totals, one per currency (amounts in different
// currencies are never added together).
func (s *Summary) Totals() []SummaryRow {
	by := map[string]*SummaryRow{}
	for _, r := range s.rows {
		t := by[r.Currency]
		if t == nil {
			t = &SummaryRow{Account: "total", Currency: r.Currency}
			by[r.Currency] = t
		}
		t.Parts += r.Parts
		t.Cost += r.Cost
		t.Price += r.Price
		t.Credits += r.Credits
	}
	out := make([]SummaryRow, 0, len(by))
	for _, t := range by {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Currency < out[j].Currency })
	return out
}

// SummaryHeader is the header of the summary (CSV and the XLSX sheet).
func SummaryHeader() []string {
	return []string{"account", "operator", "currency", "parts", "cost", "price", "margin", "credits", "balance_change"}
}

// WriteBillingSummaryCSV reads src to its end and writes the totals per
// account, operator and currency (an account's credits on a row with an
// empty operator), then one "total" row per currency.
func WriteBillingSummaryCSV(w io.Writer, src BillingSource) (int64, error) {
	var sum Summary
	var row BillingRow
	var n int64
	for {
		err := src.Next(&row)
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, fmt.Errorf("billing summary: row %d: %w", n+1, err)
		}
		sum.Add(&row)
		n++
	}
	rows := append(sum.Rows(), sum.Totals()...)
	i := 0
	next := func(r *SummaryRow) error {
		if i == len(rows) {
			return io.EOF
		}
		*r = rows[i]
		i++
		return nil
	}
	_, err := writeCSV(w, "billing summary", SummaryHeader(), next, func(r *SummaryRow, rec []string) {
		rec[0], rec[1], rec[2] = CSVText(r.Account), CSVText(r.Operator), CSVText(r.Currency)
		rec[3] = fmt.Sprint(r.Parts)
		rec[4], rec[5], rec[6] = r.Cost.String(), r.Price.String(), r.Margin().String()
		rec[7], rec[8] = r.Credits.String(), r.BalanceChange().String()
	}, nil)
	return n, err
}
