package numbering

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/smsgate/smsgate/router"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		number string
		want   string // "" valid, else a substring of the error
	}{
		{"995599123456", ""},
		{"+995599123456", ""},
		{"447911123456", ""},
		{"14155552671", ""},
		{"4915112345678", ""},
		{"79161234567", ""},
		{"99559912345", "too short for country 995: 8 digits after the code, want 9"},
		{"9955991234567", "too long for country 995: 10 digits after the code, want 9"},
		{"1415555267", "too short for country 1"},
		{"88812345678901", ""}, // 888: a non-geographic code, 11 digits
		{"8881234567", "too short for country 888"},
		{"2801234567", "unknown country calling code"},
		{"123456", "want 7 to 15 digits"},
		{"1234567890123456", "want 7 to 15 digits"},
		{"99559912345a", "want 7 to 15 digits"},
		{"", "want 7 to 15 digits"},
	} {
		err := Validate(tc.number)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("Validate(%q) = %v", tc.number, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("Validate(%q) = %v, want %q", tc.number, err, tc.want)
		case err != nil && !errors.Is(err, router.ErrInvalidNumber):
			t.Errorf("Validate(%q) error does not wrap ErrInvalidNumber", tc.number)
		}
	}
}

// An impossible length between two possible ones is named as such.
func TestValidateGapLength(t *testing.T) {
	// Find a calling code with a gap in its lengths.
	for cc, mask := range lengthsByCC {
		lo, hi := -1, -1
		for l := 0; l < 32; l++ {
			if mask&(1<<l) != 0 {
				if lo < 0 {
					lo = l
				}
				hi = l
			}
		}
		for l := lo + 1; l < hi; l++ {
			if mask&(1<<l) != 0 {
				continue
			}
			code := strconv.Itoa(cc)
			if router.CountryPrefix(code+"000000000") != code || len(code)+l < 7 || len(code)+l > 15 {
				continue
			}
			num := code + strings.Repeat("5", l)
			err := Validate(num)
			if err == nil || !strings.Contains(err.Error(), "impossible length for country "+code) {
				t.Fatalf("Validate(%s) = %v", num, err)
			}
			return
		}
	}
	t.Skip("no calling code with a gap in its lengths")
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ raw, country, want, err string }{
		{"0599 12 34 56", "995", "995599123456", ""},
		{"+44 7911 123456", "995", "447911123456", ""},
		{"0599 12 34 5", "995", "", "too short for country 995"},
		{"12ab", "995", "", "unexpected character"},
	} {
		got, err := Normalize(tc.raw, tc.country)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("Normalize(%q, %q) = %q, %v; want %q, %q", tc.raw, tc.country, got, err, tc.want, tc.err)
		}
	}
}

func TestLengthList(t *testing.T) {
	for mask, want := range map[uint32]string{
		1 << 9:                     "9",
		1<<8 | 1<<10:               "8 or 10",
		1<<5 | 1<<6 | 1<<7:         "5 to 7",
		1<<6 | 1<<8 | 1<<10:        "6, 8 or 10",
		1<<6 | 1<<7 | 1<<8 | 1<<10: "6, 7, 8 or 10",
	} {
		if got := lengthList(mask); got != want {
			t.Errorf("lengthList(%#x) = %q, want %q", mask, got, want)
		}
	}
}

func TestValidateNoAlloc(t *testing.T) {
	if a := testing.AllocsPerRun(1000, func() { _ = Validate("995599123456") }); a != 0 {
		t.Errorf("Validate allocates %v", a)
	}
}

// Every calling code the router knows, the generated table knows too (or
// the code reaches no phones in libphonenumber's metadata).
func TestLengthTableCoversRouterCodes(t *testing.T) {
	var missing []string
	for cc := 1; cc < 1000; cc++ {
		code := strconv.Itoa(cc)
		if router.CountryPrefix(code+"0000000") == code && lengthsByCC[cc] == 0 {
			missing = append(missing, code)
		}
	}
	t.Logf("calling codes without length data (E.164 bounds only): %v", missing)
	if len(missing) > 10 {
		t.Errorf("%d calling codes without length data: %v", len(missing), missing)
	}
}
