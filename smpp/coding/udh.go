package coding

import (
	"errors"
	"fmt"
)

// ErrMalformedUDH: a user data header's lengths do not add up.
var ErrMalformedUDH = errors.New("malformed UDH")

// Information element identifiers of the concatenation IEs (GSM 03.40 §9.2.3.24).
const (
	ieiConcat8  = 0x00
	ieiConcat16 = 0x08
)

// Lengths of the concatenation UDHs Split builds, UDHL octet included.
const (
	udh8Len  = 6 // 05 00 03 ref total seq
	udh16Len = 7 // 06 08 04 refHi refLo total seq
)

// UDH is the concatenation information of a user data header.
type UDH struct {
	Concat bool   // a valid concatenation IE (0x00 or 0x08) was present
	Ref    uint16 // reference; < 256 unless Ref16
	Total  uint8  // number of parts, ≥ 1 when Concat
	Seq    uint8  // this part, 1..Total when Concat
	Ref16  bool   // the reference came from IEI 0x08 (16-bit)
	Len    int    // octets of the whole UDH, UDHL octet included (for FillBits)
}

// ParseUDH parses the user data header at the start of sm (a short_message
// whose esm_class has UDHI 0x40) and returns its concatenation info and the
// payload after it. Other IEs are skipped; when a concatenation IE occurs
// more than once the last one counts (GSM 03.40 §9.2.3.24). A concatenation
// IE with Total 0, Seq 0 or Seq > Total is ignored (Concat false), as GSM
// 03.40 tells receivers to do. Lengths that overrun sm, or a concatenation
// IE of the wrong length, give an error wrapping ErrMalformedUDH. ParseUDH
// does not allocate unless it fails.
func ParseUDH(sm []byte) (UDH, []byte, error) {
	if len(sm) == 0 {
		return UDH{}, nil, fmt.Errorf("empty short_message: %w", ErrMalformedUDH)
	}
	udhl := int(sm[0])
	if 1+udhl > len(sm) {
		return UDH{}, nil, fmt.Errorf("UDHL %d exceeds %d octets: %w", udhl, len(sm)-1, ErrMalformedUDH)
	}
	h := UDH{Len: 1 + udhl}
	ies := sm[1 : 1+udhl]
	for len(ies) > 0 {
		if len(ies) < 2 {
			return UDH{}, nil, fmt.Errorf("truncated IE header: %w", ErrMalformedUDH)
		}
		iei, n := ies[0], int(ies[1])
		if 2+n > len(ies) {
			return UDH{}, nil, fmt.Errorf("IE 0x%02X length %d exceeds UDH: %w", iei, n, ErrMalformedUDH)
		}
		d := ies[2 : 2+n]
		switch iei {
		case ieiConcat8:
			if n != 3 {
				return UDH{}, nil, fmt.Errorf("IE 0x00 length %d, want 3: %w", n, ErrMalformedUDH)
			}
			h.setConcat(uint16(d[0]), d[1], d[2], false)
		case ieiConcat16:
			if n != 4 {
				return UDH{}, nil, fmt.Errorf("IE 0x08 length %d, want 4: %w", n, ErrMalformedUDH)
			}
			h.setConcat(uint16(d[0])<<8|uint16(d[1]), d[2], d[3], true)
		}
		ies = ies[2+n:]
	}
	return h, sm[h.Len:], nil
}

func (h *UDH) setConcat(ref uint16, total, seq uint8, ref16 bool) {
	if total == 0 || seq == 0 || seq > total {
		h.Concat, h.Ref, h.Total, h.Seq, h.Ref16 = false, 0, 0, 0, false
		return
	}
	h.Concat, h.Ref, h.Total, h.Seq, h.Ref16 = true, ref, total, seq, ref16
}

// AppendConcat appends a UDH holding only h's concatenation IE: IEI 0x08
// with a 16-bit reference when h.Ref16, else IEI 0x00 with the low 8 bits
// of h.Ref. h.Len and h.Concat are not read.
func (h UDH) AppendConcat(dst []byte) []byte {
	if h.Ref16 {
		return append(dst, udh16Len-1, ieiConcat16, 4, byte(h.Ref>>8), byte(h.Ref), h.Total, h.Seq)
	}
	return append(dst, udh8Len-1, ieiConcat8, 3, byte(h.Ref), h.Total, h.Seq)
}
