package coding

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex fixture %q: %v", s, err)
	}
	return b
}

func TestEncodeGSM7(t *testing.T) {
	tests := []struct {
		name, text, hex string
	}{
		{"ascii", "hello", "68656c6c6f"},
		{"specials", "@£$¥èÇ\n\rΔ_ΦΞÆæßÉ", "00010203040" + "90a0d1011121a1c1d1e1f"},
		{"latin letters", "¡ÄÖÑÜ§¿äöñüà", "405b5c5d5e5f607b7c7d7e7f"},
		{"extension", "{}[]~\\|^€\f", "1b281b291b3c1b3e1b3d1b2f1b401b141b651b0a"},
		{"mixed", "a{b", "611b2862"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EncodeGSM7(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if want := mustHex(t, tt.hex); !bytes.Equal(got, want) {
				t.Fatalf("EncodeGSM7(%q) = %x, want %x", tt.text, got, want)
			}
			back, err := Decode(0, got, DecodeOptions{})
			if err != nil || back != tt.text {
				t.Fatalf("Decode = %q, %v; want %q", back, err, tt.text)
			}
		})
	}
}

func TestEncodeGSM7Unencodable(t *testing.T) {
	tests := []struct {
		text        string
		r           rune
		index, offs int
	}{
		{"abcж", 'ж', 3, 3},
		{"é€ç", 'ç', 2, 5}, // ç is not in the table (only Ç is)
		{"`", '`', 0, 0},
		{"\x1b", 0x1b, 0, 0}, // the escape itself is not a character
	}
	for _, tt := range tests {
		dst := []byte("keep")
		got, err := AppendGSM7(dst, tt.text)
		var ue *UnencodableError
		if !errors.As(err, &ue) || !errors.Is(err, ErrUnencodable) {
			t.Fatalf("%q: err = %v, want *UnencodableError", tt.text, err)
		}
		if ue.Rune != tt.r || ue.Index != tt.index || ue.Offset != tt.offs || ue.Encoding != GSM7 {
			t.Errorf("%q: got %+v, want rune %q index %d offset %d", tt.text, *ue, tt.r, tt.index, tt.offs)
		}
		if string(got) != "keep" {
			t.Errorf("%q: dst changed to %q", tt.text, got)
		}
	}
}

// refPack is a bit-at-a-time packer written straight from GSM 03.38
// §6.1.2.1 (septet bit i goes to stream bit fill+7k+i, LSB first), used as
// an independent reference for PackSeptets. It does not add CR padding.
func refPack(septets []byte, fill int) []byte {
	if len(septets) == 0 {
		return []byte{} // fill bits only precede a septet
	}
	nbits := fill + 7*len(septets)
	out := make([]byte, (nbits+7)/8)
	for k, s := range septets {
		for i := 0; i < 7; i++ {
			if s>>i&1 == 1 {
				b := fill + 7*k + i
				out[b/8] |= 1 << (b % 8)
			}
		}
	}
	return out
}

func TestPackSeptetsFixtures(t *testing.T) {
	tests := []struct {
		name, text string
		fill       int
		hex        string
	}{
		{"hellohello", "hellohello", 0, "e8329bfd4697d9ec37"},
		{"one", "1", 0, "31"},
		// 7 septets leave 7 spare bits: they hold CR (0x0d<<1 = 0x1a).
		{"cr padding", "1234567", 0, "31d98c56b3dd1a"},
		{"eight", "12345678", 0, "31d98c56b3dd70"},
		// After a 6-octet UDH: 1 fill bit, 'h'<<1 = 0xd0, then 'i'.
		{"fill 1", "hi", 1, "d069"},
		{"fill 0 after udh16", "hi", 0, "e834"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sept, err := EncodeGSM7(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			got := PackSeptets(nil, sept, tt.fill)
			if want := mustHex(t, tt.hex); !bytes.Equal(got, want) {
				t.Fatalf("PackSeptets(%q, fill %d) = %x, want %x", tt.text, tt.fill, got, want)
			}
			un := UnpackSeptets(nil, got, tt.fill, len(sept))
			if !bytes.Equal(un, sept) {
				t.Fatalf("UnpackSeptets = %x, want %x", un, sept)
			}
			back, err := Decode(0, got, DecodeOptions{GSM7Packed: true, FillBits: tt.fill})
			if err != nil || back != tt.text {
				t.Fatalf("Decode = %q, %v; want %q", back, err, tt.text)
			}
		})
	}
}

func TestPackSeptetsAppends(t *testing.T) {
	got := PackSeptets([]byte{0xAA}, []byte("hellohello"), 0)
	if want := mustHex(t, "aae8329bfd4697d9ec37"); !bytes.Equal(got, want) {
		t.Fatalf("got %x, want %x", got, want)
	}
	if got := PackSeptets([]byte{1}, nil, 3); !bytes.Equal(got, []byte{1}) {
		t.Fatalf("empty septets changed dst: %x", got)
	}
}

func TestFillBits(t *testing.T) {
	for _, tt := range []struct{ udhLen, want int }{
		{0, 0}, {6, 1}, {7, 0}, {1, 6}, {3, 4}, {12, 2}, {-1, 0},
	} {
		if got := FillBits(tt.udhLen); got != tt.want {
			t.Errorf("FillBits(%d) = %d, want %d", tt.udhLen, got, tt.want)
		}
		if tt.udhLen > 0 && (tt.udhLen*8+FillBits(tt.udhLen))%7 != 0 {
			t.Errorf("FillBits(%d) does not reach a septet boundary", tt.udhLen)
		}
	}
}

func TestPackMatchesReference(t *testing.T) {
	septets := make([]byte, 0, 200)
	for n := 0; n <= 200; n++ {
		for fill := 0; fill <= 6; fill++ {
			got := PackSeptets(nil, septets, fill)
			want := refPack(septets, fill)
			if len(septets) > 0 && (fill+7*len(septets))%8 == 1 {
				want[len(want)-1] |= gsmCR << 1 // the padding refPack leaves out
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("n=%d fill=%d: got %x want %x", n, fill, got, want)
			}
			if un := UnpackSeptets(nil, got, fill, n); !bytes.Equal(un, septets) {
				t.Fatalf("n=%d fill=%d: unpack %x want %x", n, fill, un, septets)
			}
		}
		septets = append(septets, byte((n*37+11)&0x7F))
	}
}

func TestUnpackSeptetsCaps(t *testing.T) {
	p := mustHex(t, "e8329bfd4697d9ec37") // 72 bits: 10 septets fit
	if got := UnpackSeptets(nil, p, 0, -1); string(got) != "hellohello" {
		t.Fatalf("derived count: %q", got)
	}
	if got := UnpackSeptets(nil, p, 0, 99); string(got) != "hellohello" {
		t.Fatalf("capped count: %q", got)
	}
	if got := UnpackSeptets(nil, p, 0, 4); string(got) != "hell" {
		t.Fatalf("explicit count: %q", got)
	}
	if got := UnpackSeptets(nil, nil, 3, -1); len(got) != 0 {
		t.Fatalf("empty: %x", got)
	}
}

func FuzzPackUnpack(f *testing.F) {
	f.Add([]byte("hellohello"), uint8(0))
	f.Add([]byte{0, 0x7f, 0x1b, 0x0d}, uint8(1))
	f.Add([]byte{}, uint8(6))
	f.Fuzz(func(t *testing.T, in []byte, fill8 uint8) {
		fill := int(fill8 % 7)
		septets := make([]byte, len(in))
		for i, b := range in {
			septets[i] = b & 0x7F
		}
		got := PackSeptets(nil, septets, fill)
		want := refPack(septets, fill)
		if len(septets) > 0 && (fill+7*len(septets))%8 == 1 {
			want[len(want)-1] |= gsmCR << 1
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("fill=%d: got %x want %x", fill, got, want)
		}
		if un := UnpackSeptets(nil, got, fill, len(septets)); !bytes.Equal(un, septets) {
			t.Fatalf("fill=%d: unpack %x want %x", fill, un, septets)
		}
	})
}
