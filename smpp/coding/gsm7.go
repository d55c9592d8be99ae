package coding

import (
	"fmt"
	"unicode/utf8"
)

// gsmEscape is the GSM 03.38 escape to the extension table.
const gsmEscape = 0x1B

// gsmCR is the carriage return septet, used as packing filler (GSM 03.38 §6.1.2.3.1).
const gsmCR = 0x0D

// gsmDefault is the GSM 03.38 default alphabet in septet order. 0x1B (the
// escape) holds a placeholder that is never matched when encoding.
const gsmDefault = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtension lists the extension table (reached with 0x1B) as septet→rune.
var gsmExtension = [...]struct {
	septet byte
	r      rune
}{
	{0x0A, '\f'}, {0x14, '^'}, {0x28, '{'}, {0x29, '}'}, {0x2F, '\\'},
	{0x3C, '['}, {0x3D, '~'}, {0x3E, ']'}, {0x40, '|'}, {0x65, '€'},
}

// Flags in a gsmEncTable entry: an entry is 0 when the rune has no GSM code.
const (
	gsmValid = 0x8000
	gsmExt   = 0x0100 // needs the escape septet first
)

// gsmTables are read-only lookup tables built once; every GSM rune except '€'
// is below U+03AA (Greek capitals), so a flat array beats a map on the hot path.
type gsmTables struct {
	enc    [0x3AA]uint16
	dec    [128]rune
	decExt [128]rune // 0 = not in the extension table
}

var gsm = *buildGSMTables()

func buildGSMTables() *gsmTables {
	t := new(gsmTables)
	i := 0
	for _, r := range gsmDefault {
		t.dec[i] = r
		if i != gsmEscape {
			t.enc[r] = gsmValid | uint16(i)
		}
		i++
	}
	if i != 128 {
		panic(fmt.Sprintf("coding: GSM default table has %d entries", i))
	}
	for _, e := range gsmExtension {
		t.decExt[e.septet] = e.r
		if int(e.r) < len(t.enc) {
			t.enc[e.r] = gsmValid | gsmExt | uint16(e.septet)
		}
	}
	return t
}

// gsmLookup returns the table entry of r (0 when r has no GSM 03.38 code).
func gsmLookup(r rune) uint16 {
	if uint32(r) < uint32(len(gsm.enc)) {
		return gsm.enc[r]
	}
	if r == '€' {
		return gsmValid | gsmExt | 0x65
	}
	return 0
}

// EncodeGSM7 encodes text as GSM 03.38 septets, one septet per octet, with
// extension-table characters as two septets (0x1B, code). A rune outside the
// default and extension tables gives an *UnencodableError.
func EncodeGSM7(text string) ([]byte, error) {
	return AppendGSM7(make([]byte, 0, len(text)), text)
}

// AppendGSM7 is EncodeGSM7 appending to dst. On error dst is returned unchanged.
func AppendGSM7(dst []byte, text string) ([]byte, error) {
	n0 := len(dst)
	idx := 0
	for off, r := range text {
		c := gsmLookup(r)
		if c == 0 {
			return dst[:n0], unencodable(GSM7, text, r, off, idx)
		}
		if c&gsmExt != 0 {
			dst = append(dst, gsmEscape)
		}
		dst = append(dst, byte(c&0x7F))
		idx++
	}
	return dst, nil
}

// FillBits returns how many fill bits follow a UDH of udhLen octets (UDHL
// byte included) so that the first GSM septet starts on a septet boundary
// (GSM 03.40 §9.2.3.24): 1 for the 6-octet 8-bit concat UDH, 0 for the
// 7-octet 16-bit one.
func FillBits(udhLen int) int {
	if udhLen <= 0 {
		return 0
	}
	return (7 - (udhLen*8)%7) % 7
}

// SeptetCount returns how many whole septets fit in octets packed octets
// after fillBits fill bits. It is the count a receiver without a septet
// count has to assume.
func SeptetCount(octets, fillBits int) int {
	bits := octets*8 - fillBits
	if bits <= 0 {
		return 0
	}
	return bits / 7
}

// PackedLen returns the octets needed for n septets after fillBits fill bits.
func PackedLen(n, fillBits int) int {
	if n <= 0 {
		return 0
	}
	return (fillBits + 7*n + 7) / 8
}

// PackSeptets appends septets (one per octet, high bit ignored) packed
// LSB-first per GSM 03.38 §6.1.2.1, preceded by fillBits (0–6) zero bits.
// When 7 bits would be left spare in the last octet it fills them with CR
// (GSM 03.38 §6.1.2.3.1) so that a receiver deriving the septet count from
// the octet count does not read a spurious '@'.
func PackSeptets(dst, septets []byte, fillBits int) []byte {
	if len(septets) == 0 {
		return dst
	}
	n0 := len(dst)
	need := PackedLen(len(septets), fillBits)
	dst = grow(dst, need)
	packInto(dst[n0:n0+need], septets, fillBits)
	return dst
}

// packInto packs src into dst, which must have PackedLen(len(src), fill)
// octets. dst may start at the same address as src: after reading septet k
// at most k+1 octets have been written, so no unread septet is overwritten.
func packInto(dst, src []byte, fill int) {
	if len(src) == 0 {
		return
	}
	var acc uint32
	bits := uint(fill)
	o := 0
	for _, s := range src {
		acc |= uint32(s&0x7F) << bits
		bits += 7
		for bits >= 8 {
			dst[o] = byte(acc)
			o++
			acc >>= 8
			bits -= 8
		}
	}
	if bits > 0 {
		if bits == 1 { // 7 spare bits: pad with CR instead of zeros
			acc |= gsmCR << 1
		}
		dst[o] = byte(acc)
	}
}

// UnpackSeptets appends n septets unpacked from packed, skipping fillBits
// (0–6) leading bits, one septet per octet. n is capped at
// SeptetCount(len(packed), fillBits); n < 0 means that count.
func UnpackSeptets(dst, packed []byte, fillBits, n int) []byte {
	max := SeptetCount(len(packed), fillBits)
	if n < 0 || n > max {
		n = max
	}
	var acc uint32
	bits := uint(0)
	i := 0
	if fillBits > 0 && len(packed) > 0 {
		acc = uint32(packed[0]) >> uint(fillBits)
		bits = 8 - uint(fillBits)
		i = 1
	}
	for k := 0; k < n; k++ {
		if bits < 7 {
			acc |= uint32(packed[i]) << bits
			i++
			bits += 8
		}
		dst = append(dst, byte(acc&0x7F))
		acc >>= 7
		bits -= 7
	}
	return dst
}

// grow extends b by n octets (contents of the new octets unspecified).
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	nb := make([]byte, len(b)+n, 2*len(b)+n)
	copy(nb, b)
	return nb
}

// gsmSeptet appends the text of septet s to out; esc says an escape is
// pending. It follows GSM 03.38: an escape followed by a code missing from
// the extension table shows the default-table character, 0x1B 0x1B
// (reserved for a further table) shows a space, and an octet above 0x7F
// (possible only unpacked) shows U+FFFD. A plain function rather than a
// method on a struct so that out can live on the caller's stack.
func gsmSeptet(out []byte, esc bool, s byte) ([]byte, bool) {
	switch {
	case s > 0x7F:
		return utf8.AppendRune(out, utf8.RuneError), false
	case esc && s == gsmEscape:
		return append(out, ' '), false
	case esc && gsm.decExt[s] != 0:
		return utf8.AppendRune(out, gsm.decExt[s]), false
	case !esc && s == gsmEscape:
		return out, true
	}
	return utf8.AppendRune(out, gsm.dec[s]), false
}

// gsmFinish completes text whose last septet was a lone escape: a space.
func gsmFinish(out []byte, esc bool) []byte {
	if esc {
		return append(out, ' ')
	}
	return out
}
