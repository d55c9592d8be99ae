package billing

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Amount is a money value in millionths of a currency unit (micros). Prices
// and costs are exact to 6 fractional digits and never pass through binary
// floating point: config, Postgres (numeric(18,6)) and exports all read and
// write the decimal text form.
type Amount int64

// MicrosPerUnit is the number of micros in one currency unit.
const MicrosPerUnit = 1_000_000

var errAmountSyntax = errors.New("not a decimal amount with at most 6 fractional digits")

// ParseAmount reads "0.012", "12", "-0.5". More than 6 fractional digits is an
// error rather than a silent rounding.
func ParseAmount(s string) (Amount, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("amount %q: %w", s, errAmountSyntax)
	}
	neg := false
	body := s
	if body[0] == '-' || body[0] == '+' {
		neg = body[0] == '-'
		body = body[1:]
	}
	intPart, frac, hasDot := strings.Cut(body, ".")
	if intPart == "" && (!hasDot || frac == "") {
		return 0, fmt.Errorf("amount %q: %w", s, errAmountSyntax)
	}
	if len(frac) > 6 {
		// Trailing zeros beyond 6 digits are harmless.
		trimmed := strings.TrimRight(frac[6:], "0")
		if trimmed != "" {
			return 0, fmt.Errorf("amount %q: %w", s, errAmountSyntax)
		}
		frac = frac[:6]
	}
	for _, c := range intPart + frac {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("amount %q: %w", s, errAmountSyntax)
		}
	}
	var whole int64
	if intPart != "" {
		v, err := strconv.ParseInt(intPart, 10, 64)
		if err != nil || v > (1<<63-1)/MicrosPerUnit-1 {
			return 0, fmt.Errorf("amount %q: out of range", s)
		}
		whole = v
	}
	frac += strings.Repeat("0", 6-len(frac))
	f, _ := strconv.ParseInt(frac, 10, 64)
	v := whole*MicrosPerUnit + f
	if neg {
		v = -v
	}
	return Amount(v), nil
}

// String writes the shortest exact decimal form: 0.012, 12, -0.5.
func (a Amount) String() string {
	return string(a.Append(nil))
}

// Append appends the decimal form to dst without allocating beyond dst.
func (a Amount) Append(dst []byte) []byte {
	// The magnitude is taken as uint64 so that the most negative value,
	// whose negation overflows int64, prints correctly too.
	v := uint64(a)
	if a < 0 {
		dst = append(dst, '-')
		v = -v
	}
	dst = strconv.AppendUint(dst, v/MicrosPerUnit, 10)
	f := v % MicrosPerUnit
	if f == 0 {
		return dst
	}
	var buf [6]byte
	for i := 5; i >= 0; i-- {
		buf[i] = byte('0' + f%10)
		f /= 10
	}
	n := 6
	for n > 0 && buf[n-1] == '0' {
		n--
	}
	dst = append(dst, '.')
	return append(dst, buf[:n]...)
}

// UnmarshalText reads the decimal form. yaml.v3 passes it the literal text
// of a YAML number or string, so 0.1 in a config stays exactly 0.1.
func (a *Amount) UnmarshalText(b []byte) error {
	v, err := ParseAmount(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// MarshalText writes the decimal form.
func (a Amount) MarshalText() ([]byte, error) { return a.Append(nil), nil }

// Float64 is for display and JSON status events only, never for sums.
func (a Amount) Float64() float64 { return float64(a) / MicrosPerUnit }
