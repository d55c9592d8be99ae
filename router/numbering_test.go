package router

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeMSISDN(t *testing.T) {
	cases := []struct {
		raw, country, want string // want "" : error
	}{
		{"+995599123456", "", "995599123456"},
		{"+995599123456", "995", "995599123456"},
		{"+995599123456", "44", "995599123456"},
		{"00995599123456", "", "995599123456"},
		{"00995599123456", "995", "995599123456"},
		{"995599123456", "", "995599123456"},
		{"995599123456", "995", "995599123456"},
		{"0599123456", "995", "995599123456"},
		{"599123456", "995", "995599123456"}, // 599 is also Curaçao's code: national wins with a default country
		{"599123456", "", "599123456"},       // without one it is Curaçao
		{"+995 599 12-34-56", "", "995599123456"},
		{"(0599) 12 34 56", "995", "995599123456"},
		{" +1 (202) 555-0143 ", "", "12025550143"},
		{"2025550143", "1", "12025550143"},
		{"12025550143", "1", "12025550143"},
		{"+7 912 345-67-89", "", "79123456789"},
		{"447911123456", "", "447911123456"},
		{"447911123456", "995", "995447911123456"}, // foreign without + or 00 reads as national (documented)
		{"4479111234567", "995", "4479111234567"},  // too long for national: international
		{"+6831234", "", "6831234"},                // Niue: 7 digits is the E.164 minimum
		{"+881612345678", "", "881612345678"},      // Iridium
		// Errors.
		{"", "995", ""},
		{"   ", "995", ""},
		{"+", "", ""},
		{"00", "995", ""},
		{"+995.599.123.456", "", ""},
		{"995599l23456", "", ""},
		{"+995+599123456", "", ""},
		{"995+599123456", "", ""},
		{"+９９５599123456", "", ""}, // full-width digits
		{"+995599", "", ""},       // 6 digits
		{"+1234567890123456", "", ""},
		{"0599123456", "", ""},         // national without a country
		{"+0599123456", "", ""},        // no country code starts with 0
		{"000995599123456", "995", ""}, // "00" then 0…
		{"+2101234567", "", ""},        // 210 is spare
		{"+8091234567", "", ""},        // 809 is spare (the Dominican Republic is +1 809)
		{"599123456", "99", ""},        // 99 is not a country code
		{"599123456", "9a5", ""},
		{strings.Repeat("1", 65), "", ""},
		{strings.Repeat(" ", 60) + "+995599123456", "", ""}, // over 64 bytes
	}
	for _, c := range cases {
		got, err := NormalizeMSISDN(c.raw, c.country)
		if c.want == "" {
			if !errors.Is(err, ErrInvalidNumber) {
				t.Errorf("NormalizeMSISDN(%q, %q) = %q, %v; want ErrInvalidNumber", c.raw, c.country, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("NormalizeMSISDN(%q, %q) = %q, %v; want %q", c.raw, c.country, got, err, c.want)
		}
	}
}

func TestNormalizeMSISDNErrorNamesTheProblem(t *testing.T) {
	cases := map[string]string{
		"+995.599":    "unexpected character '.'",
		"+995599":     "6 digits, want at least 7",
		"0599123456":  "no default country",
		"+2101234567": "unknown country calling code",
		"+":           "no digits",
	}
	for raw, want := range cases {
		_, err := NormalizeMSISDN(raw, "")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NormalizeMSISDN(%q) error = %v; want it to say %q", raw, err, want)
		}
	}
}

func TestCountryPrefix(t *testing.T) {
	cases := map[string]string{
		"995599123456":  "995",
		"+995599123456": "995",
		"12025550143":   "1",
		"18095551234":   "1", // Dominican Republic shares +1
		"79123456789":   "7",
		"77012345678":   "7", // Kazakhstan shares +7
		"447911123456":  "44",
		"4420":          "44",
		"3906698":       "39",
		"379":           "379",
		"5999123":       "599",
		"8816":          "881",
		"995":           "995",
		"99":            "", // too short to hold 99x
		"9":             "",
		"4":             "",
		"":              "",
		"+":             "",
		"0995":          "",
		"2101234":       "",
		"2801234":       "",
		"6711234":       "",
		"8091234":       "",
		"9901234":       "",
		"abc":           "",
		"9x5":           "",
	}
	for in, want := range cases {
		if got := CountryPrefix(in); got != want {
			t.Errorf("CountryPrefix(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCountryCodeTable checks the embedded list itself: digits, 1–3 long,
// no duplicates, prefix-free (else the first-digits lookup is ambiguous),
// and every code maps to itself.
func TestCountryCodeTable(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range countryCodes {
		if len(c) < 1 || len(c) > 3 || !allDigits(c) || c[0] == '0' {
			t.Errorf("bad code %q", c)
		}
		if seen[c] {
			t.Errorf("duplicate code %q", c)
		}
		seen[c] = true
		if got := CountryPrefix(c + "1234567"); got != c {
			t.Errorf("CountryPrefix(%s…) = %q", c, got)
		}
	}
	for a := range seen {
		for b := range seen {
			if a != b && strings.HasPrefix(b, a) {
				t.Errorf("code %s is a prefix of %s", a, b)
			}
		}
	}
	// Every 2-digit code stands alone; every 2-digit start without one
	// must be a 3-digit zone; spot-check zones that must be fully assigned.
	for _, zone := range []string{"22", "23", "24", "26", "35", "37", "50", "59"} {
		for d := '0'; d <= '9'; d++ {
			if !seen[zone+string(d)] {
				t.Errorf("zone %s: %s%c missing", zone, zone, d)
			}
		}
	}
}

func TestCountryPrefixAllocs(t *testing.T) {
	var sink string
	if n := testing.AllocsPerRun(100, func() { sink = CountryPrefix("995599123456") }); n != 0 {
		t.Fatalf("CountryPrefix allocates %v times", n)
	}
	_ = sink
}

func FuzzNormalizeMSISDN(f *testing.F) {
	for _, s := range []string{"+995599123456", "00995599123456", "0599123456", "599123456",
		"(0599) 12-34-56", "+", "00", "0", "+0", "+1 202 555 0143", "995599l23456", "\x00", "+８"} {
		for _, country := range []string{"", "995", "1", "7", "99", "x"} {
			f.Add(s, country)
		}
	}
	f.Fuzz(func(t *testing.T, raw, country string) {
		got, err := NormalizeMSISDN(raw, country)
		if err != nil {
			if !errors.Is(err, ErrInvalidNumber) || got != "" {
				t.Fatalf("NormalizeMSISDN(%q, %q) = %q, %v", raw, country, got, err)
			}
			return
		}
		if len(got) < MinE164Digits || len(got) > MaxE164Digits || !allDigits(got) || CountryPrefix(got) == "" {
			t.Fatalf("NormalizeMSISDN(%q, %q) = %q: not 7–15 digits with a country code", raw, country, got)
		}
		// Normalised output is a fixed point, read as international.
		if again, err := NormalizeMSISDN("+"+got, country); err != nil || again != got {
			t.Fatalf("NormalizeMSISDN(+%s) = %q, %v", got, again, err)
		}
	})
}

// A non-ASCII character is named whole, never as one of its bytes.
func TestNormalizeErrorNamesWholeCharacter(t *testing.T) {
	for raw, want := range map[string]string{
		"99559٣000001":  `digit '٣' (U+0663; only ASCII digits 0-9 are accepted) at byte 5`,
		"995599Ù00001":  `character 'Ù' (U+00D9) at byte 6`,
		"995599\xd9x01": `byte 0xD9 (not UTF-8) at byte 6`,
	} {
		_, err := NormalizeMSISDN(raw, "995")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", raw, err, want)
		}
	}
}
