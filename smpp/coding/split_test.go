package coding

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

var allConcats = []Concat{UDH8, UDH16, SAR, Payload}

func TestParseConcat(t *testing.T) {
	for in, want := range map[string]Concat{"": UDH8, "udh8": UDH8, "udh16": UDH16, "sar": SAR, "payload": Payload} {
		got, err := ParseConcat(in)
		if err != nil || got != want {
			t.Errorf("ParseConcat(%q) = %v, %v; want %v", in, got, err, want)
		}
		if in != "" && got.String() != in {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
	for _, in := range []string{"UDH8", "udh", "tlv"} {
		if _, err := ParseConcat(in); !errors.Is(err, ErrUnknownConcat) || !strings.Contains(err.Error(), `"`+in+`"`) {
			t.Errorf("ParseConcat(%q) err = %v", in, err)
		}
	}
}

// partText is the encoded text of a part (UDH removed) and the fill bits
// that precede packed GSM after it; it also checks the part's header.
func partText(t testing.TB, p Part, opt SplitOptions, i, n int) ([]byte, int) {
	t.Helper()
	if int(p.Total) != n || int(p.Seq) != i+1 {
		t.Fatalf("part %d: Total %d Seq %d, want %d %d", i, p.Total, p.Seq, n, i+1)
	}
	wantUDH := n > 1 && (opt.Concat == UDH8 || opt.Concat == UDH16)
	if p.UDHI != wantUDH {
		t.Fatalf("part %d: UDHI %v, want %v", i, p.UDHI, wantUDH)
	}
	wantRef := uint16(0)
	if n > 1 {
		wantRef = opt.Ref
		if opt.Concat == UDH8 {
			wantRef &= 0xff
		}
	}
	if p.Ref != wantRef {
		t.Fatalf("part %d: Ref %d, want %d", i, p.Ref, wantRef)
	}
	if !p.UDHI {
		return p.ShortMessage, 0
	}
	h, rest, err := ParseUDH(p.ShortMessage)
	if err != nil {
		t.Fatalf("part %d: %v", i, err)
	}
	if !h.Concat || h.Ref != p.Ref || h.Total != p.Total || h.Seq != p.Seq || h.Ref16 != (opt.Concat == UDH16) {
		t.Fatalf("part %d: UDH %+v does not match part %+v", i, h, p)
	}
	fill := 0
	if opt.GSM7Packed {
		fill = FillBits(h.Len)
	}
	return rest, fill
}

// checkSplit verifies the parts of text against the limits in doc.go and
// returns the text decoded back; septets, when not nil, gives each packed
// part's septet count (else it is derived, as a receiver does).
func checkSplit(t testing.TB, text string, enc Encoding, opt SplitOptions, parts []Part, septets []int) string {
	t.Helper()
	lim, err := limitsFor(enc, opt.Concat)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) == 0 {
		t.Fatal("no parts")
	}
	limit := lim.single
	if len(parts) > 1 {
		limit = lim.multi
	}
	var out []byte
	for i, p := range parts {
		payload, fill := partText(t, p, opt, i, len(parts))
		packed := opt.GSM7Packed && enc == GSM7
		switch {
		case packed:
			if opt.Concat != Payload && len(p.ShortMessage) > 140 {
				t.Fatalf("part %d: %d octets packed", i, len(p.ShortMessage))
			}
		case enc == GSM7:
			if len(payload) > limit {
				t.Fatalf("part %d: %d septets > %d", i, len(payload), limit)
			}
			if i < len(parts)-1 && payload[len(payload)-1] == gsmEscape {
				t.Fatalf("part %d ends in an escape", i)
			}
		case enc == UCS2:
			if len(payload)%2 != 0 || len(payload)/2 > limit {
				t.Fatalf("part %d: %d octets of UCS2 > %d units", i, len(payload), limit)
			}
			if len(payload) >= 2 && payload[0]&0xFC == 0xDC {
				t.Fatalf("part %d starts with a low surrogate", i)
			}
		default:
			if len(payload) > limit {
				t.Fatalf("part %d: %d octets > %d", i, len(payload), limit)
			}
		}
		if enc == Binary {
			out = append(out, payload...)
			continue
		}
		do := DecodeOptions{GSM7Packed: packed, FillBits: fill}
		if septets != nil {
			do.Septets = septets[i]
		}
		out, err = AppendDecode(out, enc.DataCoding(), payload, do)
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
	}
	return string(out)
}

func TestSplitRoundTrip(t *testing.T) {
	a := strings.Repeat
	tests := []struct {
		name   string
		text   string
		enc    Encoding // 0: Choose(auto)
		concat Concat
		parts  int   // expected number of parts
		sizes  []int // expected units per part (nil: not checked)
	}{
		{"ascii", "Hello, world!", 0, UDH8, 1, []int{13}},
		{"empty", "", 0, UDH8, 1, []int{0}},
		{"extension chars", "{}[]~\\|^€", 0, UDH8, 1, []int{18}},
		{"160 septets", a("a", 160), 0, UDH8, 1, []int{160}},
		{"161 septets", a("a", 161), 0, UDH8, 2, []int{153, 8}},
		{"161 septets udh16", a("a", 161), 0, UDH16, 2, []int{152, 9}},
		{"161 septets sar", a("a", 161), 0, SAR, 2, []int{152, 9}},
		{"161 septets payload", a("a", 161), 0, Payload, 1, []int{161}},
		{"306 septets", a("b", 153*2), 0, UDH8, 2, []int{153, 153}},
		{"307 septets", a("b", 153*2+1), 0, UDH8, 3, []int{153, 153, 1}},
		{"159 plus escape", a("a", 159) + "€", 0, UDH8, 2, []int{153, 8}},
		{"escape at 153 boundary", a("a", 152) + "{" + a("b", 10), 0, UDH8, 2, []int{152, 12}},
		{"escape at 152 boundary udh16", a("a", 151) + "}" + a("b", 10), 0, UDH16, 2, []int{151, 12}},
		{"escape fits at 153", a("a", 151) + "~" + a("b", 10), 0, UDH8, 2, []int{153, 10}},
		{"all escapes", a("€", 100), 0, UDH8, 2, []int{152, 48}},
		{"georgian", "გამარჯობა", 0, UDH8, 1, []int{9}},
		{"persian", "سلام دنیا", 0, UDH8, 1, []int{9}},
		{"ukrainian", "Привіт, світ", 0, UDH8, 1, []int{12}},
		{"emoji", "👍🏽🎉", 0, UDH8, 1, []int{6}},
		{"70 units", a("ж", 70), 0, UDH8, 1, []int{70}},
		{"71 units", a("ж", 71), 0, UDH8, 2, []int{67, 4}},
		{"71 units udh16", a("ж", 71), 0, UDH16, 2, []int{66, 5}},
		{"surrogate at 67", a("ж", 66) + "👍" + a("ж", 10), 0, UDH8, 2, []int{66, 12}},
		{"surrogate ends at 67", a("ж", 65) + "👍" + a("ж", 10), 0, UDH8, 2, []int{67, 10}},
		{"surrogate at 66 udh16", a("ж", 65) + "🎉" + a("ж", 10), 0, UDH16, 2, []int{65, 12}},
		{"surrogate at 70 single", a("ж", 69) + "👍", 0, UDH8, 2, []int{67, 4}},
		{"emoji only", a("👍🏽🎉", 30), 0, UDH8, 3, []int{66, 66, 48}},
		{"georgian 300", a("ა", 300), 0, UDH8, 5, []int{67, 67, 67, 67, 32}},
		{"latin1", "café ñ", Latin1, UDH8, 1, []int{6}},
		{"latin1 140", a("é", 140), Latin1, UDH8, 1, []int{140}},
		{"latin1 141", a("é", 141), Latin1, UDH8, 2, []int{134, 7}},
		{"latin1 141 udh16", a("ÿ", 141), Latin1, UDH16, 2, []int{133, 8}},
		{"ucs2 forced ascii", a("x", 71), UCS2, UDH8, 2, []int{67, 4}},
		{"binary", a("\x00\xff", 71), Binary, UDH8, 2, []int{134, 8}},
		{"binary 140", a("\x01", 140), Binary, UDH8, 1, []int{140}},
	}
	for _, tt := range tests {
		for _, packed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/packed=%v", tt.name, packed), func(t *testing.T) {
				enc, err := Choose(tt.text, tt.enc)
				if err != nil {
					t.Fatal(err)
				}
				opt := SplitOptions{Concat: tt.concat, GSM7Packed: packed, Ref: 0x1a2b}
				parts, err := Split(tt.text, enc, opt)
				if err != nil {
					t.Fatal(err)
				}
				if len(parts) != tt.parts {
					t.Fatalf("%d parts, want %d", len(parts), tt.parts)
				}
				if n := CountParts(tt.text, enc, tt.concat); n != len(parts) {
					t.Fatalf("CountParts = %d, Split gave %d", n, len(parts))
				}
				if got := checkSplit(t, tt.text, enc, opt, parts, nil); got != tt.text {
					t.Fatalf("round trip:\n got %q\nwant %q", got, tt.text)
				}
				if packed && enc == GSM7 {
					return // sizes are checked unpacked
				}
				for i, p := range parts {
					payload, _ := partText(t, p, opt, i, len(parts))
					units := len(payload)
					if enc == UCS2 {
						units /= 2
					}
					if units != tt.sizes[i] {
						t.Fatalf("part %d has %d units, want %v", i, units, tt.sizes)
					}
				}
			})
		}
	}
}

func TestSplitFixtures(t *testing.T) {
	a := strings.Repeat
	tests := []struct {
		name string
		text string
		enc  Encoding
		opt  SplitOptions
		hex  []string // every part, or "" to skip one
	}{
		{"gsm single", "hello", GSM7, SplitOptions{}, []string{"68656c6c6f"}},
		{"gsm packed single", "hellohello", GSM7, SplitOptions{GSM7Packed: true}, []string{"e8329bfd4697d9ec37"}},
		{"gsm udh8 escape moved", a("a", 152) + "{" + a("x", 8), GSM7, SplitOptions{Ref: 0x1234},
			[]string{"050003340201" + a("61", 152), "0500033402021b28" + a("78", 8)}},
		{"gsm udh16", a("a", 152) + a("h", 9), GSM7, SplitOptions{Concat: UDH16, Ref: 0x1234},
			[]string{"060804123402 01" + a("61", 152), "060804123402 02" + a("68", 9)}},
		// 1 fill bit after the 6-octet UDH: 'h'<<1 = d0, then 'i'.
		{"packed udh8 fill", a("a", 306) + "hi", GSM7, SplitOptions{GSM7Packed: true, Ref: 1},
			[]string{"", "", "050003010303d069"}},
		// No fill bits after the 7-octet UDH.
		{"packed udh16", a("a", 304) + "hi", GSM7, SplitOptions{Concat: UDH16, GSM7Packed: true, Ref: 1},
			[]string{"", "", "0608040001 0303e834"}},
		{"sar has no udh", a("a", 152) + a("h", 9), GSM7, SplitOptions{Concat: SAR, Ref: 0xbeef},
			[]string{a("61", 152), a("68", 9)}},
		{"ucs2 emoji", "👍🏽🎉", UCS2, SplitOptions{}, []string{"d83ddc4dd83cdffdd83cdf89"}},
		{"ucs2 georgian", "გამარჯობა", UCS2, SplitOptions{}, []string{"10d210d010db10d010e010ef10dd10d110d0"}},
		{"ucs2 persian", "سلام دنیا", UCS2, SplitOptions{}, []string{"06330644062706450020062f064606cc0627"}},
		{"ucs2 ukrainian", "Привіт, світ", UCS2, SplitOptions{}, []string{"041f04400438043204560442002c00200441043204560442"}},
		{"ucs2 pair moved", a("ж", 66) + "👍" + a("ж", 3), UCS2, SplitOptions{Ref: 7},
			[]string{"050003070201" + a("0436", 66), "050003070202d83ddc4d" + a("0436", 3)}},
		{"latin1", "café ñ", Latin1, SplitOptions{}, []string{"636166e920f1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts, err := Split(tt.text, tt.enc, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if len(parts) != len(tt.hex) {
				t.Fatalf("%d parts, want %d", len(parts), len(tt.hex))
			}
			for i, h := range tt.hex {
				if h == "" {
					continue
				}
				if want := mustHex(t, stripSpaces(h)); !bytes.Equal(parts[i].ShortMessage, want) {
					t.Errorf("part %d = %x, want %x", i, parts[i].ShortMessage, want)
				}
			}
		})
	}
}

func TestSplitPackedFullPart(t *testing.T) {
	for _, c := range []struct {
		concat Concat
		n      int
	}{{UDH8, 153}, {UDH16, 152}, {SAR, 152}} {
		parts, err := Split(strings.Repeat("a", 400), GSM7, SplitOptions{Concat: c.concat, GSM7Packed: true})
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range parts[:len(parts)-1] {
			if c.concat != SAR && len(p.ShortMessage) != 140 {
				t.Errorf("%v part %d: %d octets, want 140", c.concat, i, len(p.ShortMessage))
			}
			if c.concat == SAR && len(p.ShortMessage) != PackedLen(c.n, 0) {
				t.Errorf("sar part %d: %d octets, want %d", i, len(p.ShortMessage), PackedLen(c.n, 0))
			}
		}
	}
	parts, err := Split(strings.Repeat("a", 160), GSM7, SplitOptions{GSM7Packed: true})
	if err != nil || len(parts) != 1 || len(parts[0].ShortMessage) != 140 {
		t.Fatalf("160 septets packed: %d parts, err %v", len(parts), err)
	}
}

func TestSplitErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		enc  Encoding
		opt  SplitOptions
		is   error
	}{
		{"gsm unencodable", "abc ж", GSM7, SplitOptions{}, ErrUnencodable},
		{"latin1 unencodable", "€", Latin1, SplitOptions{}, ErrUnencodable},
		{"ucs2 invalid utf8", "a\xff", UCS2, SplitOptions{}, ErrInvalidUTF8},
		{"gsm invalid utf8", "a\xff", GSM7, SplitOptions{}, ErrInvalidUTF8},
		{"auto not resolved", "a", 0, SplitOptions{}, ErrUnknownEncoding},
		{"bad concat", "a", GSM7, SplitOptions{Concat: 9}, ErrUnknownConcat},
		{"256 parts", strings.Repeat("a", 153*255+1), GSM7, SplitOptions{}, ErrTooManyParts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts, err := Split(tt.text, tt.enc, tt.opt)
			if !errors.Is(err, tt.is) || parts != nil {
				t.Fatalf("Split = %d parts, %v; want %v", len(parts), err, tt.is)
			}
		})
	}
	if n := CountParts("abc ж", GSM7, UDH8); n != 0 {
		t.Errorf("CountParts of unencodable = %d, want 0", n)
	}
	if n := CountParts(strings.Repeat("a", 153*255+1), GSM7, UDH8); n != 256 {
		t.Errorf("CountParts over 255 = %d, want 256", n)
	}
	if parts, err := Split(strings.Repeat("a", 153*255), GSM7, SplitOptions{}); err != nil || len(parts) != 255 {
		t.Errorf("255 parts: %d, %v", len(parts), err)
	}
}

// TestPackedTrailingCR pins the one place where the derived septet count
// loses text (doc.go): a CR ending exactly on an octet boundary.
func TestPackedTrailingCR(t *testing.T) {
	tests := []struct {
		name, text, derived string
	}{
		{"7 spare bits padded", "1234567", "1234567"},
		{"own CR in the padding slot", "123456\r", "123456\r"},
		{"own CR on the boundary", "1234567\r", "1234567"},
		{"CR before boundary", "12345\r7\r", "12345\r7"},
	}
	for _, tt := range tests {
		parts, err := Split(tt.text, GSM7, SplitOptions{GSM7Packed: true})
		if err != nil || len(parts) != 1 {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got, err := Decode(0, parts[0].ShortMessage, DecodeOptions{GSM7Packed: true})
		if err != nil || got != tt.derived {
			t.Errorf("%s: derived decode %q, %v; want %q", tt.name, got, err, tt.derived)
		}
		n := utf8.RuneCountInString(tt.text)
		got, err = Decode(0, parts[0].ShortMessage, DecodeOptions{GSM7Packed: true, Septets: n})
		if err != nil || got != tt.text {
			t.Errorf("%s: decode with count %q, %v; want %q", tt.name, got, err, tt.text)
		}
	}
}

func TestSplitPartsShareNoCapacity(t *testing.T) {
	parts, err := Split(strings.Repeat("a", 200), GSM7, SplitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first := append([]byte(nil), parts[1].ShortMessage...)
	_ = append(parts[0].ShortMessage, 'X') // must not write into part 2
	if !bytes.Equal(parts[1].ShortMessage, first) {
		t.Fatal("appending to part 1 changed part 2")
	}
}

func FuzzSplitRoundTrip(f *testing.F) {
	for _, s := range []string{
		"", "hello", "{}[]~\\|^€", "გამარჯობა", "سلام دنیا", "Привіт, світ", "👍🏽🎉", "café ñ",
		strings.Repeat("a", 152) + "{" + strings.Repeat("b", 10),
		strings.Repeat("ж", 66) + "👍" + strings.Repeat("ж", 10),
		strings.Repeat("x", 152) + "\r" + strings.Repeat("y", 10),
		strings.Repeat("1234567\r", 30),
	} {
		f.Add(s, uint16(0x1234))
	}
	f.Fuzz(func(t *testing.T, text string, ref uint16) {
		if !utf8.ValidString(text) {
			return // the contract is for valid UTF-8; Choose rejects the rest
		}
		auto, err := Choose(text, 0)
		if err != nil {
			t.Fatalf("Choose(auto): %v", err)
		}
		encs := []Encoding{auto, UCS2} // UCS2 takes any text: exercises surrogate boundaries
		if _, err := Choose(text, Latin1); err == nil {
			encs = append(encs, Latin1)
		}
		for _, enc := range encs {
			for _, c := range allConcats {
				opt := SplitOptions{Concat: c, Ref: ref}
				parts, err := Split(text, enc, opt)
				if errors.Is(err, ErrTooManyParts) {
					if CountParts(text, enc, c) <= 255 {
						t.Fatalf("%v/%v: ErrTooManyParts but CountParts %d", enc, c, CountParts(text, enc, c))
					}
					continue
				}
				if err != nil {
					t.Fatalf("%v/%v: %v", enc, c, err)
				}
				if n := CountParts(text, enc, c); n != len(parts) {
					t.Fatalf("%v/%v: CountParts %d, Split %d", enc, c, n, len(parts))
				}
				if got := checkSplit(t, text, enc, opt, parts, nil); got != text {
					t.Fatalf("%v/%v: round trip %q != %q", enc, c, got, text)
				}
				if enc != GSM7 {
					continue
				}
				// Packed: same boundaries; exact with the septet count,
				// and the derived count loses only a CR ending on an octet boundary.
				opt.GSM7Packed = true
				pp, err := Split(text, enc, opt)
				if err != nil || len(pp) != len(parts) {
					t.Fatalf("%v packed: %d parts (unpacked %d), %v", c, len(pp), len(parts), err)
				}
				counts := make([]int, len(parts))
				var want strings.Builder
				for i, p := range parts {
					payload, _ := partText(t, p, SplitOptions{Concat: c, Ref: ref}, i, len(parts))
					counts[i] = len(payload)
					s, _ := Decode(0, payload, DecodeOptions{})
					fill := 0
					if p.UDHI {
						fill = FillBits(len(p.ShortMessage) - len(payload))
					}
					if n := len(payload); n > 0 && payload[n-1] == gsmCR && (fill+7*n)%8 == 0 {
						s = s[:len(s)-1]
					}
					want.WriteString(s)
				}
				if got := checkSplit(t, text, enc, opt, pp, counts); got != text {
					t.Fatalf("%v packed with counts: %q != %q", c, got, text)
				}
				if got := checkSplit(t, text, enc, opt, pp, nil); got != want.String() {
					t.Fatalf("%v packed derived: %q != %q", c, got, want.String())
				}
			}
		}
	})
}
