package numbering

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

const sampleRanges = `prefix,mcc,mnc,network
995,282,00,Georgia default
99555,282,01,Geocell
995599,282,02,Magti
9955990,282,01,Geocell (block moved)
44,234,15,Vodafone UK
447,234,10,O2 UK
1,310,260,"T-Mobile, US"
`

func mustRanges(t testing.TB, csv string) (*RangeTable, *Registry) {
	t.Helper()
	reg := NewRegistry()
	rt, err := LoadRanges(strings.NewReader(csv), reg, 0)
	if err != nil {
		t.Fatal(err)
	}
	return rt, reg
}

func TestRangeMatch(t *testing.T) {
	rt, reg := mustRanges(t, sampleRanges)
	if rt.Len() != 7 {
		t.Fatalf("Len = %d, want 7", rt.Len())
	}
	for _, tc := range []struct{ number, want, name string }{
		{"995599123456", "28202", "Magti"},
		{"+995599123456", "28202", "Magti"},
		{"995599012345", "28201", "Geocell"}, // longest prefix wins; a network keeps its first label
		{"995555123456", "28201", "Geocell"},
		{"995322123456", "28200", "Georgia default"},
		{"447911123456", "23410", "O2 UK"},
		{"441632960000", "23415", "Vodafone UK"},
		{"14155552671", "310260", "T-Mobile, US"},
		{"4915112345678", "", ""},    // no prefix
		{"99", "", ""},               // shorter than every prefix
		{"", "", ""},                 // empty
		{"99559912345x", "", ""},     // not digits
		{"9955991234567890", "", ""}, // 16 digits
	} {
		got := reg.Network(rt.Match(tc.number))
		if got.MCCMNC != tc.want || got.Name != tc.name {
			t.Errorf("Match(%q) = %+v, want %s %q", tc.number, got, tc.want, tc.name)
		}
		if tc.want != "" && (got.MCC != tc.want[:3] || got.MNC != tc.want[3:]) {
			t.Errorf("Match(%q): MCC %q MNC %q", tc.number, got.MCC, got.MNC)
		}
	}
}

// Prefixes with leading zeros are their own keys: "0" and "00" differ.
func TestRangeLeadingZeros(t *testing.T) {
	rt, reg := mustRanges(t, "prefix,mcc,mnc,network\n0,001,01,a\n00,001,02,b\n")
	if got := reg.Network(rt.Match("0012345")).MCCMNC; got != "00102" {
		t.Errorf("0012345 → %s, want 00102", got)
	}
	if got := reg.Network(rt.Match("0123456")).MCCMNC; got != "00101" {
		t.Errorf("0123456 → %s, want 00101", got)
	}
}

func TestLoadRangesErrors(t *testing.T) {
	for _, tc := range []struct {
		name, csv string
		want      []string // substrings of the error
		lines     []int    // *LineError lines expected
	}{
		{"empty", "", []string{"empty file"}, nil},
		{"bad header", "prefix,mcc,mnc\n995,282,01\n", []string{"line 1: header"}, nil},
		{"header order", "mcc,prefix,mnc,network\n", []string{"header"}, nil},
		{"prefix letters", "prefix,mcc,mnc,network\n995,282,01,a\n99a,282,01,b\n", []string{"line 3", `prefix "99a"`}, []int{3}},
		{"prefix 16 digits", "prefix,mcc,mnc,network\n1234567890123456,282,01,a\n", []string{"line 2", "1 to 15 digits"}, []int{2}},
		{"prefix empty", "prefix,mcc,mnc,network\n,282,01,a\n", []string{"line 2"}, []int{2}},
		{"mcc 2 digits", "prefix,mcc,mnc,network\n995,28,01,a\n", []string{"line 2", `mcc "28"`}, []int{2}},
		{"mnc 1 digit", "prefix,mcc,mnc,network\n995,282,1,a\n", []string{"line 2", `mnc "1"`}, []int{2}},
		{"mnc 4 digits", "prefix,mcc,mnc,network\n995,282,0001,a\n", []string{`mnc "0001"`}, []int{2}},
		{"fields", "prefix,mcc,mnc,network\n995,282,01\n", []string{"line 2", "3 fields"}, []int{2}},
		{"duplicate", "prefix,mcc,mnc,network\n995,282,01,a\n995,282,02,b\n", []string{"line 3", "given twice"}, []int{3}},
		{"several", "prefix,mcc,mnc,network\nx,282,01,a\n995,282,01,a\n995,2,01,a\n", []string{"2 bad lines", "line 2", "line 4"}, []int{2, 4}},
		{"bare quote", "prefix,mcc,mnc,network\n995,282,01,a\"b\n996,282,01,c\n", []string{"line 2"}, []int{2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt, err := LoadRanges(strings.NewReader(tc.csv), NewRegistry(), 0)
			if err == nil {
				t.Fatalf("loaded %d ranges, want an error", rt.Len())
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			var lines []int
			collectLines(err, &lines)
			if fmt.Sprint(lines) != fmt.Sprint(tc.lines) {
				t.Errorf("line errors %v, want %v (%v)", lines, tc.lines, err)
			}
		})
	}
}

func collectLines(err error, lines *[]int) {
	var le *LineError
	if errors.As(err, &le) && le == err {
		*lines = append(*lines, le.Line)
		return
	}
	switch e := err.(type) {
	case interface{ Unwrap() []error }:
		for _, x := range e.Unwrap() {
			collectLines(x, lines)
		}
	case interface{ Unwrap() error }:
		collectLines(e.Unwrap(), lines)
	}
}

func TestLoadRangesTooManyErrorsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("prefix,mcc,mnc,network\n")
	for range 200 {
		b.WriteString("x,282,01,a\n")
	}
	_, err := LoadRanges(strings.NewReader(b.String()), NewRegistry(), 0)
	if err == nil || !strings.Contains(err.Error(), "200 bad lines") || !strings.Contains(err.Error(), "and 150 more") {
		t.Fatalf("err = %v", err)
	}
	var lines []int
	collectLines(err, &lines)
	if len(lines) != maxRangeErrors {
		t.Errorf("%d line errors, want %d", len(lines), maxRangeErrors)
	}
}

func TestLoadRangesBOMAndGrowth(t *testing.T) {
	var b strings.Builder
	b.WriteString("\uFEFFprefix,mcc,mnc,network\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "%d,282,%02d,n%d\n", 100000+i, i%100, i%100)
	}
	rt, reg := mustRanges(t, b.String()) // size hint 0: the table grows
	if rt.Len() != 5000 || reg.Len() != 100 {
		t.Fatalf("Len %d networks %d", rt.Len(), reg.Len())
	}
	for i := range 5000 {
		want := fmt.Sprintf("282%02d", i%100)
		if got := reg.Network(rt.Match(fmt.Sprintf("%d99999", 100000+i))).MCCMNC; got != want {
			t.Fatalf("range %d → %q, want %s", i, got, want)
		}
	}
}

func TestRangeMatchNoAlloc(t *testing.T) {
	rt, _ := mustRanges(t, sampleRanges)
	if a := testing.AllocsPerRun(1000, func() { rt.Match("995599012345") }); a != 0 {
		t.Errorf("Match allocates %v", a)
	}
}

func FuzzLoadRanges(f *testing.F) {
	f.Add(sampleRanges)
	f.Add("prefix,mcc,mnc,network\n0,001,01,a\n00,001,02,b\n")
	f.Add("prefix,mcc,mnc,network\n\"99\n5\",282,01,a\n")
	f.Add("\uFEFFprefix,mcc,mnc,network\r\n995,282,001,\"x,\"\"y\"\"\"\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		reg := NewRegistry()
		rt, err := LoadRanges(strings.NewReader(in), reg, 0)
		if err != nil {
			return
		}
		// Every accepted prefix, padded to 15 digits, must match a range at
		// least as long: the longest prefix is never lost.
		lines := strings.Split(in, "\n")
		for _, l := range lines[1:] {
			f := strings.Split(strings.TrimSuffix(l, "\r"), ",")
			if len(f) < 3 || !allDigits(f[0]) || f[0] == "" || len(f[0]) > maxDigits {
				continue
			}
			num := f[0] + strings.Repeat("9", maxDigits-len(f[0]))
			if rt.Match(num) == 0 {
				t.Fatalf("prefix %q accepted but %s matches nothing", f[0], num)
			}
		}
	})
}
