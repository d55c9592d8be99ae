package coding

import (
	"strings"
	"testing"
)

// runes returns the first n runes of s repeated.
func runes(s string, n int) string {
	r := []rune(strings.Repeat(s, n/len([]rune(s))+1))
	return string(r[:n])
}

var (
	benchGSM160      = runes("Your code is 123456. Do not share it with anyone. ", 160)
	benchGeorgian300 = runes("გამარჯობა, მსოფლიო! თქვენი კოდია 123456. ", 300)
)

func BenchmarkChooseSplit(b *testing.B) {
	cases := []struct {
		name string
		text string
		opt  SplitOptions
	}{
		{"gsm160", benchGSM160, SplitOptions{}},
		{"gsm160-packed", benchGSM160, SplitOptions{GSM7Packed: true}},
		{"georgian300", benchGeorgian300, SplitOptions{Ref: 7}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.text)))
			for b.Loop() {
				enc, err := Choose(c.text, 0)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Split(c.text, enc, c.opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCountParts(b *testing.B) {
	for _, c := range []struct {
		name string
		text string
		enc  Encoding
	}{{"gsm160", benchGSM160, GSM7}, {"georgian300", benchGeorgian300, UCS2}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if CountParts(c.text, c.enc, UDH8) == 0 {
					b.Fatal("no parts")
				}
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	gsmPacked, _ := Split(benchGSM160, GSM7, SplitOptions{GSM7Packed: true})
	gsmPlain, _ := Split(benchGSM160, GSM7, SplitOptions{})
	geo, _ := Split(runes(benchGeorgian300, 67), UCS2, SplitOptions{})
	for _, c := range []struct {
		name string
		dc   byte
		p    []byte
		opt  DecodeOptions
	}{
		{"gsm160", 0, gsmPlain[0].ShortMessage, DecodeOptions{}},
		{"gsm160-packed", 0, gsmPacked[0].ShortMessage, DecodeOptions{GSM7Packed: true}},
		{"ucs2-georgian", 8, geo[0].ShortMessage, DecodeOptions{}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(c.dc, c.p, c.opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseUDH(b *testing.B) {
	sm := append([]byte{5, 0, 3, 1, 2, 1}, make([]byte, 134)...)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseUDH(sm); err != nil {
			b.Fatal(err)
		}
	}
}
