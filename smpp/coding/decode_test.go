package coding

import (
	"errors"
	"testing"
	"unicode/utf8"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		dc   byte
		hex  string
		opt  DecodeOptions
		want string
	}{
		{"gsm unpacked", 0x00, "48656c6c6f", DecodeOptions{}, "Hello"},
		{"gsm specials", 0x00, "0001021b651b28", DecodeOptions{}, "@£$€{"},
		{"gsm unknown extension shows default char", 0x00, "1b41", DecodeOptions{}, "A"},
		{"gsm escape escape is space", 0x00, "1b1b41", DecodeOptions{}, " A"},
		{"gsm lone trailing escape is space", 0x00, "411b", DecodeOptions{}, "A "},
		{"gsm high octet unpacked", 0x00, "41ff42", DecodeOptions{}, "A\uFFFDB"},
		{"gsm packed", 0x00, "e8329bfd4697d9ec37", DecodeOptions{GSM7Packed: true}, "hellohello"},
		{"gsm packed fill 1", 0x00, "d069", DecodeOptions{GSM7Packed: true, FillBits: 1}, "hi"},
		{"gsm packed explicit count", 0x00, "e8329bfd4697d9ec37", DecodeOptions{GSM7Packed: true, Septets: 5}, "hello"},
		{"gsm packed empty", 0x00, "", DecodeOptions{GSM7Packed: true}, ""},
		// A sender that zero-fills 7 spare bits (no CR) gets a derived '@'.
		{"gsm packed zero filler", 0x00, "31d98c56b3dd00", DecodeOptions{GSM7Packed: true}, "1234567@"},
		{"gsm packed cr filler", 0x00, "31d98c56b3dd1a", DecodeOptions{GSM7Packed: true}, "1234567"},
		{"gsm class 0 (flash)", 0x10, "4869", DecodeOptions{}, "Hi"},
		{"gsm class f0", 0xF0, "4869", DecodeOptions{}, "Hi"},
		{"gsm class f3", 0xF3, "4869", DecodeOptions{}, "Hi"},
		{"gsm mwi group", 0xC8, "4869", DecodeOptions{}, "Hi"},
		{"gsm auto deletion group", 0x40, "4869", DecodeOptions{}, "Hi"},
		{"ia5", 0x01, "48692140", DecodeOptions{}, "Hi!@"},
		{"ia5 high bit", 0x01, "48e9", DecodeOptions{}, "H\uFFFD"},
		{"latin1", 0x03, "636166e920f1", DecodeOptions{}, "café ñ"},
		{"ucs2", 0x08, "10d210d010db10d010e010ef10dd10d110d0", DecodeOptions{}, "გამარჯობა"},
		{"ucs2 emoji", 0x08, "d83ddc4dd83cdffdd83cdf89", DecodeOptions{}, "👍🏽🎉"},
		{"ucs2 flash", 0x18, "0436", DecodeOptions{}, "ж"},
		{"ucs2 mwi", 0xE0, "0436", DecodeOptions{}, "ж"},
		{"ucs2 lone high at end", 0x08, "0041d83d", DecodeOptions{}, "A\uFFFD"},
		{"ucs2 lone low", 0x08, "dc4d0041", DecodeOptions{}, "\uFFFDA"},
		{"ucs2 high then non-low", 0x08, "d83d0041", DecodeOptions{}, "\uFFFDA"},
		{"ucs2 high high low", 0x08, "d83dd83ddc4d", DecodeOptions{}, "\uFFFD👍"},
		{"ucs2 odd length", 0x08, "004100", DecodeOptions{}, "A\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.dc, mustHex(t, tt.hex), tt.opt)
			if err != nil || got != tt.want {
				t.Fatalf("Decode = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		dc   byte
		hex  string
		opt  DecodeOptions
		is   error
	}{
		{"binary 2", 0x02, "00ff", DecodeOptions{}, ErrBinary},
		{"binary 4", 0x04, "00ff", DecodeOptions{}, ErrBinary},
		{"binary f4", 0xF4, "00", DecodeOptions{}, ErrBinary},
		{"binary f7", 0xF7, "00", DecodeOptions{}, ErrBinary},
		{"binary general group", 0x14, "00", DecodeOptions{}, ErrBinary},
		{"jis", 0x05, "41", DecodeOptions{}, ErrUnsupportedDataCoding},
		{"cyrillic", 0x06, "41", DecodeOptions{}, ErrUnsupportedDataCoding},
		{"hebrew", 0x07, "41", DecodeOptions{}, ErrUnsupportedDataCoding},
		{"kanji", 0x0D, "41", DecodeOptions{}, ErrUnsupportedDataCoding},
		{"compressed", 0x30, "41", DecodeOptions{}, ErrUnsupportedDataCoding},
		{"reserved alphabet", 0x1C, "41", DecodeOptions{}, ErrUnsupportedDataCoding},
		{"reserved group", 0x80, "41", DecodeOptions{}, ErrUnsupportedDataCoding},
		{"fill bits 7", 0x00, "41", DecodeOptions{GSM7Packed: true, FillBits: 7}, ErrBadSeptets},
		{"fill bits negative", 0x00, "41", DecodeOptions{GSM7Packed: true, FillBits: -1}, ErrBadSeptets},
		{"too many septets", 0x00, "4141", DecodeOptions{GSM7Packed: true, Septets: 3}, ErrBadSeptets},
		{"negative septets", 0x00, "41", DecodeOptions{GSM7Packed: true, Septets: -1}, ErrBadSeptets},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.dc, mustHex(t, tt.hex), tt.opt)
			if !errors.Is(err, tt.is) || got != "" {
				t.Fatalf("Decode = %q, %v; want %v", got, err, tt.is)
			}
			dst := []byte("x")
			if out, _ := AppendDecode(dst, tt.dc, mustHex(t, tt.hex), tt.opt); string(out) != "x" {
				t.Fatalf("AppendDecode changed dst on error: %q", out)
			}
		})
	}
}

func TestDecodeLong(t *testing.T) {
	// Longer than Decode's stack buffer: must still be whole.
	p := make([]byte, 3000)
	for i := range p {
		p[i] = 0x04 // 'è', 2 octets of UTF-8 each
	}
	got, err := Decode(0, p, DecodeOptions{})
	if err != nil || utf8.RuneCountInString(got) != 3000 || len(got) != 6000 {
		t.Fatalf("got %d runes, %d octets, %v", utf8.RuneCountInString(got), len(got), err)
	}
}

func FuzzDecode(f *testing.F) {
	seeds := []struct {
		dc      byte
		hex     string
		packed  bool
		fill    int8
		septets int16
	}{
		{0x00, "e8329bfd4697d9ec37", true, 0, 0},
		{0x00, "1b1b411b", false, 0, 0},
		{0x00, "d069", true, 1, 2},
		{0x08, "d83dd83ddc4d00", false, 0, 0},
		{0x03, "ff00", false, 0, 0},
		{0xF1, "ff", true, 6, 0},
		{0x01, "80", false, 0, 0},
		{0x04, "", false, 0, 0},
	}
	for _, s := range seeds {
		f.Add(s.dc, mustHex(f, s.hex), s.packed, s.fill, s.septets)
	}
	f.Fuzz(func(t *testing.T, dc byte, payload []byte, packed bool, fill int8, septets int16) {
		opt := DecodeOptions{GSM7Packed: packed, FillBits: int(fill), Septets: int(septets)}
		got, err := Decode(dc, payload, opt)
		if err != nil {
			if got != "" {
				t.Fatalf("text %q with error %v", got, err)
			}
			if !errors.Is(err, ErrBinary) && !errors.Is(err, ErrUnsupportedDataCoding) && !errors.Is(err, ErrBadSeptets) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 out: %q", got)
		}
		app, err := AppendDecode([]byte("pre"), dc, payload, opt)
		if err != nil || string(app) != "pre"+got {
			t.Fatalf("AppendDecode = %q, %v; Decode %q", app, err, got)
		}
	})
}
