package router

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// E.164 bounds on the length of a full number (country code included).
const (
	MinE164Digits = 7
	MaxE164Digits = 15
)

// ErrInvalidNumber is wrapped by NormalizeMSISDN for every number it cannot
// read.
var ErrInvalidNumber = errors.New("invalid phone number")

// NormalizeMSISDN returns raw as E.164 digits without '+', e.g.
// "995599123456".
//
// Spaces, dashes and parentheses are ignored; any other character besides
// one leading '+' is an error. The digits are then read as follows:
//
//  1. A leading '+' or "00" (international prefix) makes the number
//     international: what follows is country code and number.
//  2. Otherwise, with a defaultCountry (a country calling code such as
//     "995"), the number is national unless it already carries that code:
//     a leading trunk '0' is dropped and the country code put in front
//     ("0599123456" → "995599123456"); digits that start with
//     defaultCountry are taken as international ("995599123456"); digits
//     that would exceed 15 with the code in front cannot be national and
//     are taken as international; anything else gets the code in front
//     ("599123456" → "995599123456"). A foreign number written without '+'
//     or "00" is therefore read as national: international input should
//     carry its prefix.
//  3. Without a defaultCountry the digits are taken as international, and
//     a leading '0' is an error (a national number needs a country).
//
// Only '0' is treated as a trunk prefix. The result must have 7 to 15
// digits and start with a known country calling code (see CountryPrefix).
// Errors wrap ErrInvalidNumber.
func NormalizeMSISDN(raw, defaultCountry string) (string, error) {
	if defaultCountry != "" && (!allDigits(defaultCountry) || CountryPrefix(defaultCountry) != defaultCountry) {
		return "", fmt.Errorf("number %q: default country %q is not a country calling code: %w", raw, defaultCountry, ErrInvalidNumber)
	}
	// Longer than any formatted E.164 number can sensibly be: refuse before
	// copying, so hostile input costs nothing.
	if len(raw) > 64 {
		return "", fmt.Errorf("number of %d characters: too long: %w", len(raw), ErrInvalidNumber)
	}
	var buf [64]byte
	digits := buf[:0]
	plus := false
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case c == ' ' || c == '-' || c == '(' || c == ')':
		case c == '+' && !plus && len(digits) == 0:
			plus = true
		default:
			return "", fmt.Errorf("number %q: unexpected %s at byte %d: %w", raw, describeAt(raw, i), i, ErrInvalidNumber)
		}
	}
	if len(digits) == 0 {
		return "", fmt.Errorf("number %q: no digits: %w", raw, ErrInvalidNumber)
	}
	var e164 string
	switch {
	case plus:
		e164 = string(digits)
	case len(digits) >= 2 && digits[0] == '0' && digits[1] == '0':
		e164 = string(digits[2:])
	case defaultCountry == "":
		if digits[0] == '0' {
			return "", fmt.Errorf("number %q: national number (leading 0) but no default country: %w", raw, ErrInvalidNumber)
		}
		e164 = string(digits)
	case digits[0] == '0':
		e164 = defaultCountry + string(digits[1:])
	case hasPrefix(digits, defaultCountry), len(defaultCountry)+len(digits) > MaxE164Digits:
		e164 = string(digits)
	default:
		e164 = defaultCountry + string(digits)
	}
	switch {
	case len(e164) < MinE164Digits:
		return "", fmt.Errorf("number %q: %d digits, want at least %d: %w", raw, len(e164), MinE164Digits, ErrInvalidNumber)
	case len(e164) > MaxE164Digits:
		return "", fmt.Errorf("number %q: %d digits, want at most %d: %w", raw, len(e164), MaxE164Digits, ErrInvalidNumber)
	case CountryPrefix(e164) == "":
		return "", fmt.Errorf("number %q: unknown country calling code: %w", raw, ErrInvalidNumber)
	}
	return e164, nil
}

func hasPrefix(b []byte, p string) bool {
	return len(b) >= len(p) && string(b[:len(p)]) == p
}

// CountryPrefix returns the ITU-T E.164 country calling code that e164
// (digits, a leading '+' ignored) starts with — "995", "1", "44", "7" — or
// "" when it starts with no assigned code or is too short to hold its code.
// It does not allocate: the result is a substring of e164.
func CountryPrefix(e164 string) string {
	if len(e164) > 0 && e164[0] == '+' {
		e164 = e164[1:]
	}
	v, n := 0, 0
	for ; n < 3 && n < len(e164); n++ {
		c := e164[n]
		if c < '0' || c > '9' {
			break
		}
		v = v*10 + int(c-'0')
	}
	if n == 0 {
		return ""
	}
	for i := n; i < 3; i++ { // "99" is read as 990–999: its code, if any, is the first digits
		v *= 10
	}
	l := int(ccLen[v])
	if l == 0 || l > n {
		return ""
	}
	return e164[:l]
}

// describeAt names what starts at raw[i] for an error: a whole character
// (a Devanagari or Arabic-Indic digit is one character of several bytes),
// or the byte in hex when it begins no valid UTF-8.
func describeAt(raw string, i int) string {
	r, size := utf8.DecodeRuneInString(raw[i:])
	if r == utf8.RuneError && size <= 1 {
		return fmt.Sprintf("byte 0x%02X (not UTF-8)", raw[i])
	}
	if unicode.IsDigit(r) {
		return fmt.Sprintf("digit %q (U+%04X; only ASCII digits 0-9 are accepted)", r, r)
	}
	return fmt.Sprintf("character %q (U+%04X)", r, r)
}
