package billing

import (
	"fmt"
	"io"
	"sort"
)

// SummaryRow is the total of one account, operator and currency (or, in
// Totals, of a currency, with Account "total").
type SummaryRow struct {
	Account, Operator, Currency string
	Parts                       int64
	Cost, Price                 Amount
}

// Margin is price minus cost.
func (r SummaryRow) Margin() Amount { return r.Price - r.Cost }

// Summary adds up export rows exactly (micro-units).
type Summary struct {
	rows map[[3]string]*SummaryRow
}

// Add counts one billed part.
func (s *Summary) Add(r *BillingRow) {
	if s.rows == nil {
		s.rows = map[[3]string]*SummaryRow{}
	}
	k := [3]string{r.Account, r.Operator, r.Currency}
	t := s.rows[k]
	if t == nil {
		t = &SummaryRow{Account: r.Account, Operator: r.Operator, Currency: r.Currency}
		s.rows[k] = t
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
	return []string{"account", "operator", "currency", "parts", "cost", "price", "margin"}
}

// WriteBillingSummaryCSV reads src to its end and writes the totals per
// account, operator and currency, then one "total" row per currency.
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
	}, nil)
	return n, err
}
