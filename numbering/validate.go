package numbering

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	"github.com/smsgate/smsgate/router"
)

// lengthsByCC[cc] is nsnLengths as an array: bit L set when a national
// number of L digits is possible after calling code cc; 0 = no data.
var lengthsByCC = func() (a [1000]uint32) {
	for _, e := range nsnLengths {
		a[e.cc] = e.mask
	}
	return a
}()

// Normalize reads raw as router.NormalizeMSISDN does (national formats in
// defaultCountry, the account's country) and then rejects impossible
// numbers (Validate). Errors wrap router.ErrInvalidNumber and say why.
func Normalize(raw, defaultCountry string) (string, error) {
	e164, err := router.NormalizeMSISDN(raw, defaultCountry)
	if err != nil {
		return "", err
	}
	if err := Validate(e164); err != nil {
		return "", err
	}
	return e164, nil
}

// Validate rejects an E.164 number (digits, one leading '+' allowed) that
// cannot exist: not 7–15 digits, an unassigned country calling code, or a
// national part whose length the country does not use ("too short for
// country 995"). Lengths come from libphonenumber's metadata (see
// lengths_gen.go); a calling code it has no data for is only held to the
// E.164 bounds. It does not check number ranges within a country: a number
// no range matches resolves to SourceNone. No allocation unless it fails;
// errors wrap router.ErrInvalidNumber.
func Validate(e164 string) error {
	d := strings.TrimPrefix(e164, "+")
	if len(d) < router.MinE164Digits || len(d) > router.MaxE164Digits || !allDigits(d) {
		return fmt.Errorf("number %q: want %d to %d digits: %w", e164, router.MinE164Digits, router.MaxE164Digits, router.ErrInvalidNumber)
	}
	cc := router.CountryPrefix(d)
	if cc == "" {
		return fmt.Errorf("number %s: unknown country calling code: %w", d, router.ErrInvalidNumber)
	}
	code := 0
	for i := 0; i < len(cc); i++ {
		code = code*10 + int(cc[i]-'0')
	}
	mask := lengthsByCC[code]
	nsn := len(d) - len(cc)
	if mask == 0 || mask&(1<<nsn) != 0 {
		return nil
	}
	what := "an impossible length"
	switch {
	case nsn < bits.TrailingZeros32(mask):
		what = "too short"
	case nsn > 31-bits.LeadingZeros32(mask):
		what = "too long"
	}
	return fmt.Errorf("number %s: %s for country %s: %d digits after the code, want %s: %w",
		d, what, cc, nsn, lengthList(mask), router.ErrInvalidNumber)
}

// lengthList writes a length mask as "9", "8 or 10", "5 to 10", "6, 8 or 10".
func lengthList(mask uint32) string {
	var ls []int
	for m := mask; m != 0; m &= m - 1 {
		ls = append(ls, bits.TrailingZeros32(m))
	}
	if len(ls) == 1 {
		return strconv.Itoa(ls[0])
	}
	if len(ls) > 2 && ls[len(ls)-1]-ls[0] == len(ls)-1 {
		return fmt.Sprintf("%d to %d", ls[0], ls[len(ls)-1])
	}
	var b strings.Builder
	for i, l := range ls {
		switch {
		case i == len(ls)-1:
			b.WriteString(" or ")
		case i > 0:
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(l))
	}
	return b.String()
}
