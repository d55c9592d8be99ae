package billing

import (
	"math"
	"testing"
)

func TestParseAmount(t *testing.T) {
	good := map[string]Amount{"0.012": 12000, "12": 12_000_000, "-0.5": -500000, ".5": 500000, "0.0000010": 1, "1.000001": 1_000_001}
	for in, want := range good {
		got, err := ParseAmount(in)
		if err != nil || got != want {
			t.Errorf("ParseAmount(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "abc", "0.0000001", "1e3", "1.2.3", ".", "-", "0x10"} {
		if _, err := ParseAmount(in); err == nil {
			t.Errorf("ParseAmount(%q): want error", in)
		}
	}
}

func TestAmountString(t *testing.T) {
	cases := map[Amount]string{0: "0", 12000: "0.012", 12_000_000: "12", -500000: "-0.5", 1: "0.000001", 30000: "0.03",
		math.MinInt64: "-9223372036854.775808", math.MaxInt64: "9223372036854.775807"}
	for a, want := range cases {
		if got := a.String(); got != want {
			t.Errorf("%d.String() = %q; want %q", int64(a), got, want)
		}
	}
}

func FuzzAmountRoundTrip(f *testing.F) {
	for _, s := range []string{"0.012", "12", "-0.5", "999999.999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAmount(s)
		if err != nil {
			return
		}
		b, err := ParseAmount(a.String())
		if err != nil || a != b {
			t.Fatalf("round trip %q -> %q -> %v, %v", s, a.String(), b, err)
		}
	})
}
