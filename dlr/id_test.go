package dlr

import (
	"slices"
	"strconv"
	"testing"
)

func TestParseIDMode(t *testing.T) {
	for in, want := range map[string]IDMode{"auto": IDAuto, "": IDAuto, "hex": IDHex, "dec": IDDec} {
		got, err := ParseIDMode(in)
		if err != nil || got != want {
			t.Errorf("ParseIDMode(%q) = %v,%v", in, got, err)
		}
		if in != "" && got.String() != in {
			t.Errorf("String() = %q, want %q", got.String(), in)
		}
	}
	for _, in := range []string{"HEX", "decimal", "x"} {
		if _, err := ParseIDMode(in); err == nil {
			t.Errorf("ParseIDMode(%q) accepted", in)
		}
	}
}

func TestCanonicalSubmitID(t *testing.T) {
	tests := map[string]string{
		"1234567890":      "1234567890",
		"5F3A01":          "5f3a01",
		"005f3A01":        "5f3a01",
		"0x5F3A01":        "5f3a01",
		"0X005F3A01":      "5f3a01",
		" 42\x00":         "42",
		"000":             "0",
		"0":               "0",
		"0x":              "x", // no digits after it, so not a prefix: only the leading zero goes
		"":                "",
		"abc-DEF-0001":    "abc-def-0001",
		"MSG.00001.AB":    "msg.00001.ab",
		"0000000000000a1": "a1",
	}
	for in, want := range tests {
		if got := CanonicalSubmitID(in); got != want {
			t.Errorf("CanonicalSubmitID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLookupKeys(t *testing.T) {
	tests := []struct {
		id   string
		mode IDMode
		want []string
	}{
		{"1234567890", IDAuto, []string{"1234567890", "499602d2", "78187493520"}},
		{"499602D2", IDAuto, []string{"499602d2", "1234567890"}},
		{"0499602d2", IDAuto, []string{"499602d2", "1234567890"}},
		{"6240769", IDAuto, []string{"6240769", "5f3a01", "103024489"}},
		{"0x5F3A01", IDAuto, []string{"5f3a01", "6240769"}},
		{"7", IDAuto, []string{"7"}},
		{"10", IDAuto, []string{"10", "a", "16"}},
		{"abc-1", IDAuto, []string{"abc-1"}},
		{"", IDAuto, nil},
		{"18446744073709551615", IDAuto, []string{"18446744073709551615", "ffffffffffffffff"}},
		{"18446744073709551616", IDAuto, []string{"18446744073709551616"}},
		{"FFFFFFFFFFFFFFFF", IDAuto, []string{"ffffffffffffffff", "18446744073709551615"}},
		{"1FFFFFFFFFFFFFFFF", IDAuto, []string{"1ffffffffffffffff"}},
		{"499602D2", IDHex, []string{"1234567890", "499602d2"}},
		{"10", IDHex, []string{"16", "10"}},
		{"zz", IDHex, []string{"zz"}},
		{"1234567890", IDDec, []string{"499602d2", "1234567890"}},
		{"6240769", IDDec, []string{"5f3a01", "6240769"}},
		{"0x10", IDDec, []string{"10"}},
		{"5f3a01", IDDec, []string{"5f3a01"}},
	}
	for _, tc := range tests {
		got := LookupKeys(nil, tc.id, tc.mode)
		if !slices.Equal(got, tc.want) {
			t.Errorf("LookupKeys(%q, %v) = %q, want %q", tc.id, tc.mode, got, tc.want)
		}
	}
	// dst is appended to, not overwritten.
	got := LookupKeys([]string{"x"}, "499602D2", IDAuto)
	if !slices.Equal(got, []string{"x", "499602d2", "1234567890"}) {
		t.Errorf("append: %q", got)
	}
}

// TestLookupKeysCorrelates checks the brief's pairs: a receipt id finds the
// canonical submit id in auto mode and in the explicit mode that fits.
func TestLookupKeysCorrelates(t *testing.T) {
	tests := []struct {
		submit, receipt string
		mode            IDMode
	}{
		{"1234567890", "499602D2", IDAuto},
		{"1234567890", "0499602d2", IDAuto},
		{"1234567890", "499602d2", IDHex},
		{"5F3A01", "6240769", IDAuto},
		{"5F3A01", "6240769", IDDec},
		{"5F3A01", "005f3a01", IDAuto},
		{"5F3A01", "005f3a01", IDDec},
		{"0012345", "12345", IDHex},
	}
	for _, tc := range tests {
		keys := LookupKeys(nil, tc.receipt, tc.mode)
		if !slices.Contains(keys, CanonicalSubmitID(tc.submit)) {
			t.Errorf("receipt %q (%v) keys %q miss submit %q", tc.receipt, tc.mode, keys, tc.submit)
		}
	}
}

// TestLookupKeysNoCollision is exhaustive over small ids. In hex and dec
// mode the first key of a receipt for n names n and no other submit id. In
// auto mode every key of a receipt for n is n read as decimal or as hex: a
// key never names an unrelated id.
func TestLookupKeysNoCollision(t *testing.T) {
	const max = 1 << 12
	var keys []string
	for n := uint64(0); n < max; n++ {
		dec, hex := strconv.FormatUint(n, 10), strconv.FormatUint(n, 16)
		keys = LookupKeys(keys[:0], hex, IDHex)
		if keys[0] != dec {
			t.Fatalf("hex mode: receipt %q first key %q, want %q", hex, keys[0], dec)
		}
		keys = LookupKeys(keys[:0], dec, IDDec)
		if keys[0] != hex {
			t.Fatalf("dec mode: receipt %q first key %q, want %q", dec, keys[0], hex)
		}
		for _, receipt := range []string{dec, hex, "0" + hex, "00" + dec} {
			keys = LookupKeys(keys[:0], receipt, IDAuto)
			if len(keys) == 0 || len(keys) > 3 {
				t.Fatalf("auto: %q gives %q", receipt, keys)
			}
			related := map[string]bool{CanonicalSubmitID(receipt): true}
			if v, err := strconv.ParseUint(receipt, 10, 64); err == nil {
				related[strconv.FormatUint(v, 16)] = true
			}
			if v, err := strconv.ParseUint(receipt, 16, 64); err == nil {
				related[strconv.FormatUint(v, 10)] = true
			}
			for _, k := range keys {
				if !related[k] {
					t.Fatalf("auto: receipt %q key %q is unrelated", receipt, k)
				}
			}
			if len(keys) != len(related) {
				t.Fatalf("auto: receipt %q keys %q, want the %d related ids", receipt, keys, len(related))
			}
		}
	}
}

var sinkKeys []string

func BenchmarkLookupKeys(b *testing.B) {
	for _, bc := range []struct {
		name, id string
		mode     IDMode
	}{
		{"auto-dec", "1234567890", IDAuto},
		{"auto-hex-upper", "0499602D2", IDAuto},
		{"hex", "499602d2", IDHex},
		{"opaque", "msg-abc-def", IDAuto},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dst := make([]string, 0, 4)
			b.ReportAllocs()
			for b.Loop() {
				dst = LookupKeys(dst[:0], bc.id, bc.mode)
			}
			sinkKeys = dst
		})
	}
}
