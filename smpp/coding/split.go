package coding

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// Concat is how a long message is split (operator option `concat`).
type Concat uint8

// Concatenation methods. Payload sends one submit_sm with the whole text in
// the message_payload TLV.
const (
	UDH8 Concat = iota
	UDH16
	SAR
	Payload
)

// ErrTooManyParts: a text needs more than 255 parts, which no concatenation
// method can number.
var ErrTooManyParts = errors.New("text needs more than 255 parts")

// ErrUnknownConcat: a concat name or value is not one of ours.
var ErrUnknownConcat = errors.New("unknown concat method")

// String returns the configuration name of c.
func (c Concat) String() string {
	switch c {
	case UDH8:
		return "udh8"
	case UDH16:
		return "udh16"
	case SAR:
		return "sar"
	case Payload:
		return "payload"
	}
	return fmt.Sprintf("Concat(%d)", uint8(c))
}

// ParseConcat reads the operator option `concat`: "udh8" (also ""),
// "udh16", "sar" or "payload"; anything else is an error wrapping
// ErrUnknownConcat that names the value.
func ParseConcat(s string) (Concat, error) {
	switch s {
	case "", "udh8":
		return UDH8, nil
	case "udh16":
		return UDH16, nil
	case "sar":
		return SAR, nil
	case "payload":
		return Payload, nil
	}
	return 0, fmt.Errorf("concat %q (want udh8, udh16, sar or payload): %w", s, ErrUnknownConcat)
}

// Part is one submit_sm's worth of a message.
type Part struct {
	// ShortMessage is the UDH (if any) followed by the encoded text, ready
	// for short_message (or message_payload with Payload). Parts of one
	// Split share one backing array; each slice is capped at its length, so
	// appending to it copies.
	ShortMessage []byte
	UDHI         bool   // set esm_class |= 0x40 (a UDH leads ShortMessage)
	Ref          uint16 // concat reference as on the wire (8-bit with UDH8); 0 for a single part
	Total, Seq   uint8  // number of parts and this part (1-based); 1, 1 for a single part
}

// SplitOptions are an operator's split settings. The zero value is UDH8,
// GSM 7-bit one septet per octet, reference 0.
type SplitOptions struct {
	Concat     Concat
	GSM7Packed bool   // pack GSM septets 8 into 7 octets (operator option gsm7_packed)
	Ref        uint16 // concat reference (only its low 8 bits with UDH8)
}

// Limits in encoding units (GSM septets, Latin-1/binary octets, UTF-16
// code units); see doc.go for where they come from.
type limits struct {
	single int // whole message in one part, no UDH
	multi  int // per part when split
	udhLen int // octets of the UDH in each part when split (0 for SAR)
}

func limitsFor(enc Encoding, c Concat) (limits, error) {
	var single, multi8, multi16 int
	switch enc {
	case GSM7:
		single, multi8, multi16 = 160, 153, 152
	case Latin1, Binary:
		single, multi8, multi16 = 140, 134, 133
	case UCS2:
		single, multi8, multi16 = 70, 67, 66
	default:
		return limits{}, fmt.Errorf("encoding %s: %w", enc, ErrUnknownEncoding)
	}
	switch c {
	case UDH8:
		return limits{single, multi8, udh8Len}, nil
	case UDH16:
		return limits{single, multi16, udh16Len}, nil
	case SAR:
		// The SMSC turns SAR TLVs into a concatenation IE on the air
		// interface; it may need the 16-bit one for a 16-bit
		// sar_msg_ref_num, so leave room for 7 UDH octets.
		return limits{single, multi16, 0}, nil
	case Payload:
		return limits{math.MaxInt, math.MaxInt, 0}, nil
	}
	return limits{}, fmt.Errorf("concat %s: %w", c, ErrUnknownConcat)
}

// count returns the units of text in enc and the parts a greedy split at
// multi units per part gives, validating every character. It never splits a
// GSM escape sequence or a surrogate pair (they count as one 2-unit step).
// One loop per encoding: the hot path should not branch on enc per rune.
func count(text string, enc Encoding, multi int) (total, parts int, err error) {
	switch enc {
	case GSM7:
		return countGSM(text, multi)
	case Latin1:
		idx := 0
		for off, r := range text {
			if r > 0xFF {
				return 0, 0, unencodable(Latin1, text, r, off, idx)
			}
			idx++
		}
		return idx, ceilDiv(idx, multi), nil
	case UCS2:
		return countUCS2(text, multi)
	}
	return len(text), ceilDiv(len(text), multi), nil // Binary
}

// ceilDiv returns the parts n units of width 1 need, at least 1.
func ceilDiv(n, per int) int {
	if n <= per {
		return 1
	}
	return (n + per - 1) / per
}

func countGSM(text string, multi int) (total, parts int, err error) {
	parts = 1
	cur, idx := 0, 0
	for i := 0; i < len(text); idx++ {
		off := i
		var c uint16
		if b := text[i]; b < utf8.RuneSelf {
			c = gsm.enc[b]
			i++
		} else {
			var size int
			c, size = gsmNextSlow(text, i)
			i += size
		}
		if c == 0 {
			r, _ := utf8.DecodeRuneInString(text[off:])
			return 0, 0, unencodable(GSM7, text, r, off, idx)
		}
		w := 1 + int(c>>8)&1
		if cur+w > multi {
			parts++
			cur = 0
		}
		cur += w
		total += w
	}
	return total, parts, nil
}

// gsmNextSlow returns the GSM table entry of the non-ASCII rune at text[i]
// and its size in octets. Callers test for ASCII inline: a call per
// character costs more than the lookup.
func gsmNextSlow(text string, i int) (uint16, int) {
	r, size := utf8.DecodeRuneInString(text[i:])
	return gsmLookup(r), size
}

func countUCS2(text string, multi int) (total, parts int, err error) {
	parts = 1
	cur, idx := 0, 0
	for off, r := range text {
		w := 1
		switch {
		case r > 0xFFFF:
			w = 2
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(text[off:]); size <= 1 {
				return 0, 0, unencodable(UCS2, text, r, off, idx)
			}
		}
		if cur+w > multi {
			parts++
			cur = 0
		}
		cur += w
		total += w
		idx++
	}
	return total, parts, nil
}

// CountParts returns len(Split(text, enc, SplitOptions{Concat: concat}))
// without building the parts and without allocating: the number of
// submit_sm a text costs. Packing does not change it. It returns 0 when
// Split would fail (a character that does not fit, an unknown encoding or
// concat); a count above 255 is returned as is although Split refuses it.
func CountParts(text string, enc Encoding, concat Concat) int {
	lim, err := limitsFor(enc, concat)
	if err != nil {
		return 0
	}
	total, n, err := count(text, enc, lim.multi)
	if err != nil {
		return 0
	}
	if total <= lim.single {
		return 1
	}
	return n
}

// Split encodes text in enc and splits it into parts:
//   - one part without UDH when the text fits 160 GSM septets, 140 Latin-1
//     or binary octets, or 70 UTF-16 units (any length with Payload);
//   - otherwise parts of at most 153 septets / 134 octets / 67 units with
//     UDH8, 152 / 133 / 66 with UDH16 and with SAR (no UDH: the caller puts
//     Ref, Total and Seq in the sar_* TLVs).
//
// A GSM escape sequence or a UTF-16 surrogate pair is never split across
// parts. GSM 7-bit is one septet per octet unless opt.GSM7Packed; packed
// text after a UDH starts with FillBits(UDH length) fill bits (GSM 03.40).
// Binary sends the bytes of text unchanged. Split allocates twice (the
// parts and one buffer they share). Errors: *UnencodableError or
// ErrInvalidUTF8 for the text, ErrUnknownEncoding, ErrUnknownConcat,
// ErrTooManyParts.
func Split(text string, enc Encoding, opt SplitOptions) ([]Part, error) {
	lim, err := limitsFor(enc, opt.Concat)
	if err != nil {
		return nil, err
	}
	total, n, err := count(text, enc, lim.multi)
	if err != nil {
		return nil, err
	}
	s := splitter{packed: opt.GSM7Packed && enc == GSM7, limit: lim.single}
	if total > lim.single {
		if n > 255 {
			return nil, fmt.Errorf("%d parts: %w", n, ErrTooManyParts)
		}
		s.limit = lim.multi
		s.udhLen = lim.udhLen
		s.hdr = UDH{Ref: opt.Ref, Total: uint8(n), Ref16: opt.Concat != UDH8}
		if opt.Concat == UDH8 {
			s.hdr.Ref &= 0xFF
		}
	} else {
		n = 1
		s.hdr = UDH{Total: 1}
	}
	unit := 1
	if enc == UCS2 {
		unit = 2
	}
	// Exact upper bound, so appends never move the buffer.
	s.buf = make([]byte, 0, total*unit+n*s.udhLen)
	s.parts = make([]Part, n)

	s.begin()
	// Loops work on a local buf (faster than through s) and hand it back
	// to s around begin/end, which run once per part.
	buf := s.buf
	switch enc {
	case GSM7:
		for i := 0; i < len(text); {
			var c uint16
			if b := text[i]; b < utf8.RuneSelf {
				c = gsm.enc[b]
				i++
			} else {
				var size int
				c, size = gsmNextSlow(text, i)
				i += size
			}
			w := 1 + int(c>>8)&1
			if s.cur+w > s.limit {
				s.buf = buf
				s.end()
				s.begin()
				buf = s.buf
			}
			if w == 2 {
				buf = append(buf, gsmEscape)
			}
			buf = append(buf, byte(c&0x7F))
			s.cur += w
		}
	case Latin1:
		for _, r := range text {
			if s.cur == s.limit {
				s.buf = buf
				s.end()
				s.begin()
				buf = s.buf
			}
			buf = append(buf, byte(r))
			s.cur++
		}
	case UCS2:
		for _, r := range text {
			w := 1
			if r > 0xFFFF {
				w = 2
			}
			if s.cur+w > s.limit {
				s.buf = buf
				s.end()
				s.begin()
				buf = s.buf
			}
			if w == 2 {
				r -= 0x10000
				hi, lo := 0xD800+(r>>10), 0xDC00+(r&0x3FF)
				buf = append(buf, byte(hi>>8), byte(hi), byte(lo>>8), byte(lo))
			} else {
				buf = append(buf, byte(r>>8), byte(r))
			}
			s.cur += w
		}
	case Binary:
		for len(text) > 0 {
			if s.cur == s.limit {
				s.buf = buf
				s.end()
				s.begin()
				buf = s.buf
			}
			k := min(len(text), s.limit-s.cur)
			buf = append(buf, text[:k]...)
			s.cur += k
			text = text[k:]
		}
	}
	s.buf = buf
	s.end()
	return s.parts, nil
}

// splitter holds Split's state; a struct rather than closures so that it
// stays on the stack.
type splitter struct {
	buf          []byte
	parts        []Part
	hdr          UDH // Total, Ref, Ref16; Seq is set per part
	packed       bool
	limit        int // units per part
	udhLen       int // 0: no UDH
	cur          int // units in the current part
	seq          int // parts begun
	partStart    int // offset in buf of the current part
	payloadStart int // offset in buf of the current part's text
}

func (s *splitter) begin() {
	s.seq++
	s.cur = 0
	s.partStart = len(s.buf)
	if s.udhLen > 0 {
		h := s.hdr
		h.Seq = uint8(s.seq)
		s.buf = h.AppendConcat(s.buf)
	}
	s.payloadStart = len(s.buf)
}

func (s *splitter) end() {
	if s.packed {
		n := len(s.buf) - s.payloadStart
		fill := FillBits(s.payloadStart - s.partStart)
		pl := PackedLen(n, fill)
		packInto(s.buf[s.payloadStart:s.payloadStart+pl], s.buf[s.payloadStart:], fill)
		s.buf = s.buf[:s.payloadStart+pl]
	}
	end := len(s.buf)
	p := &s.parts[s.seq-1]
	p.ShortMessage = s.buf[s.partStart:end:end]
	p.UDHI = s.udhLen > 0
	p.Total = s.hdr.Total
	p.Seq = uint8(s.seq)
	if s.hdr.Total > 1 {
		p.Ref = s.hdr.Ref
	}
}
