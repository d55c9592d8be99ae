package billing

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrCurrencyMismatch is returned when amounts in different currencies would
// be added: sums are only ever taken per currency.
var ErrCurrencyMismatch = errors.New("currency mismatch")

// ErrOverflow is returned when a sum leaves the range of Amount.
var ErrOverflow = errors.New("amount overflow")

// Money is an amount in a currency.
type Money struct {
	Amount
	Currency string
}

// String writes "0.012 EUR".
func (m Money) String() string { return m.Amount.String() + " " + m.Currency }

// Add returns m+o; it refuses different currencies and overflow.
func (m Money) Add(o Money) (Money, error) {
	if m.Currency != o.Currency {
		return Money{}, fmt.Errorf("add %s to %s: %w", o, m, ErrCurrencyMismatch)
	}
	s, err := addAmounts(m.Amount, o.Amount)
	if err != nil {
		return Money{}, err
	}
	return Money{Amount: s, Currency: m.Currency}, nil
}

func addAmounts(a, b Amount) (Amount, error) {
	s := a + b
	// Signed overflow: both operands have the same sign and the sum differs.
	if (a >= 0) == (b >= 0) && (s >= 0) != (a >= 0) {
		return 0, fmt.Errorf("%s + %s: %w", a, b, ErrOverflow)
	}
	return s, nil
}

// Totals sums money per currency; the zero value is not usable, make it
// with make(Totals) or a literal.
type Totals map[string]Amount

// Add adds m to the total of its currency.
func (t Totals) Add(m Money) error {
	s, err := addAmounts(t[m.Currency], m.Amount)
	if err != nil {
		return fmt.Errorf("total %s: %w", m.Currency, err)
	}
	t[m.Currency] = s
	return nil
}

// String writes the totals sorted by currency: "12.5 EUR, 3 USD".
func (t Totals) String() string {
	cur := make([]string, 0, len(t))
	for c := range t {
		cur = append(cur, c)
	}
	sort.Strings(cur)
	var b strings.Builder
	for i, c := range cur {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(Money{t[c], c}.String())
	}
	return b.String()
}
