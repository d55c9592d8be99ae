package coding

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Encoding is a text encoding on the wire. The zero value means "not chosen"
// (auto) where an API accepts it.
type Encoding uint8

// Encodings smsgate sends. Binary carries the text's bytes unchanged.
const (
	GSM7 Encoding = iota + 1
	Latin1
	UCS2
	Binary
)

// Sentinel errors; match with errors.Is.
var (
	// ErrUnencodable: a character does not fit the requested encoding
	// (the error is an *UnencodableError naming it).
	ErrUnencodable = errors.New("character does not fit encoding")
	// ErrInvalidUTF8: the text is not valid UTF-8.
	ErrInvalidUTF8 = errors.New("text is not valid UTF-8")
	// ErrUnknownEncoding: an encoding name or value is not one of ours.
	ErrUnknownEncoding = errors.New("unknown encoding")
)

// DataCoding returns the SMPP data_coding octet: GSM7=0 (SMSC default
// alphabet), Latin1=3, UCS2=8, Binary=4. Unknown encodings give 0.
func (e Encoding) DataCoding() byte {
	switch e {
	case Latin1:
		return 0x03
	case UCS2:
		return 0x08
	case Binary:
		return 0x04
	}
	return 0x00
}

// String returns the contract name of e ("gsm7", "latin1", "ucs2",
// "binary"; "auto" for 0).
func (e Encoding) String() string {
	switch e {
	case 0:
		return "auto"
	case GSM7:
		return "gsm7"
	case Latin1:
		return "latin1"
	case UCS2:
		return "ucs2"
	case Binary:
		return "binary"
	}
	return fmt.Sprintf("Encoding(%d)", uint8(e))
}

// ParseEncoding reads the `encoding` field of sms.submit: "auto" or "" give
// (0, true, nil); "gsm7", "latin1", "ucs2" (any case) give that encoding;
// anything else an error wrapping ErrUnknownEncoding that names the value.
func ParseEncoding(s string) (Encoding, bool, error) {
	switch {
	case s == "" || strings.EqualFold(s, "auto"):
		return 0, true, nil
	case strings.EqualFold(s, "gsm7"):
		return GSM7, false, nil
	case strings.EqualFold(s, "latin1"):
		return Latin1, false, nil
	case strings.EqualFold(s, "ucs2"):
		return UCS2, false, nil
	}
	return 0, false, fmt.Errorf("encoding %q (want auto, gsm7, latin1 or ucs2): %w", s, ErrUnknownEncoding)
}

// UnencodableError names the first character of a text that does not fit
// an encoding. errors.Is(err, ErrUnencodable) holds.
type UnencodableError struct {
	Encoding Encoding
	Rune     rune
	Index    int // position in characters (runes), 0-based
	Offset   int // position in bytes of the UTF-8 text
}

func (e *UnencodableError) Error() string {
	return fmt.Sprintf("character %q (U+%04X) at position %d does not fit %s", e.Rune, e.Rune, e.Index, e.Encoding)
}

// Is reports whether target is ErrUnencodable.
func (e *UnencodableError) Is(target error) bool { return target == ErrUnencodable }

// unencodable builds the error for rune r at byte off / rune idx of text,
// telling invalid UTF-8 apart from a valid rune that does not fit.
func unencodable(enc Encoding, text string, r rune, off, idx int) error {
	if r == utf8.RuneError {
		if _, size := utf8.DecodeRuneInString(text[off:]); size <= 1 {
			return fmt.Errorf("byte 0x%02X at offset %d: %w", text[off], off, ErrInvalidUTF8)
		}
	}
	return &UnencodableError{Encoding: enc, Rune: r, Index: idx, Offset: off}
}

// checkUTF8 reports the first invalid UTF-8 byte of text at or after from.
func checkUTF8(text string, from int) error {
	if utf8.ValidString(text[from:]) {
		return nil
	}
	for off, r := range text[from:] {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(text[from+off:]); size <= 1 {
				return fmt.Errorf("byte 0x%02X at offset %d: %w", text[from+off], from+off, ErrInvalidUTF8)
			}
		}
	}
	return fmt.Errorf("text: %w", ErrInvalidUTF8) // unreachable: ValidString said otherwise
}

// Choose picks the encoding of text. requested 0 (auto) gives GSM7 when
// every rune is in the GSM 03.38 default or extension table, else UCS2.
// Forced GSM7 or Latin1 return an *UnencodableError for the first rune that
// does not fit; UCS2 and Binary are returned as given. Invalid UTF-8 gives
// ErrInvalidUTF8 for every text encoding. Choose does not allocate unless it
// fails.
func Choose(text string, requested Encoding) (Encoding, error) {
	switch requested {
	case 0, GSM7:
		for i, idx := 0, 0; i < len(text); idx++ {
			if b := text[i]; b < utf8.RuneSelf && gsm.enc[b] != 0 {
				i++ // ASCII fast path: most traffic
				continue
			}
			r, size := utf8.DecodeRuneInString(text[i:])
			if gsmLookup(r) == 0 {
				if requested == GSM7 {
					return 0, unencodable(GSM7, text, r, i, idx)
				}
				// auto: GSM is out; UCS2 still needs valid UTF-8.
				if err := checkUTF8(text, i); err != nil {
					return 0, err
				}
				return UCS2, nil
			}
			i += size
		}
		return GSM7, nil
	case Latin1:
		idx := 0
		for off, r := range text {
			if r > 0xFF || r == utf8.RuneError {
				return 0, unencodable(Latin1, text, r, off, idx)
			}
			idx++
		}
		return Latin1, nil
	case UCS2:
		if err := checkUTF8(text, 0); err != nil {
			return 0, err
		}
		return UCS2, nil
	case Binary:
		return Binary, nil
	}
	return 0, fmt.Errorf("encoding %d: %w", uint8(requested), ErrUnknownEncoding)
}
