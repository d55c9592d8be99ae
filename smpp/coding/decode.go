package coding

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Decoding errors; match with errors.Is.
var (
	// ErrBinary: the data_coding says 8-bit data (2, 4, 0xF4–0xF7, or the
	// 8-bit alphabet of a GSM DCS group), which is not text. The caller
	// decides what to do with the octets (e.g. publish them hex-encoded).
	ErrBinary = errors.New("binary data_coding, not text")
	// ErrUnsupportedDataCoding: a data_coding smsgate cannot decode
	// (JIS, Cyrillic, Hebrew, KS C 5601, compressed, reserved values).
	ErrUnsupportedDataCoding = errors.New("unsupported data_coding")
	// ErrBadSeptets: DecodeOptions.FillBits or Septets do not fit the payload.
	ErrBadSeptets = errors.New("septet count or fill bits do not fit payload")
)

// DecodeOptions tell Decode how GSM 7-bit text is laid out.
type DecodeOptions struct {
	// GSM7Packed: GSM 7-bit text is packed 8 septets into 7 octets
	// (operator option gsm7_packed); otherwise one septet per octet.
	GSM7Packed bool
	// FillBits (0–6) precede the first packed septet; after a UDH pass
	// FillBits(udh.Len). Ignored unless packed.
	FillBits int
	// Septets is the packed septet count when known; 0 derives it from the
	// length, dropping a final CR that only filled 7 spare bits (GSM 03.38
	// §6.1.2.3.1). Ignored unless packed.
	Septets int
}

// alphabet is what a data_coding value says about the octets.
type alphabet uint8

const (
	alphaUnsupported alphabet = iota
	alphaGSM
	alphaASCII
	alphaLatin1
	alphaUCS2
	alphaBinary
)

// classify maps an SMPP 3.4 data_coding (§5.2.19), and the GSM 03.38 DCS
// groups some SMSCs pass through for message classes, to an alphabet.
func classify(dc byte) alphabet {
	switch {
	case dc == 0x00:
		return alphaGSM
	case dc == 0x01:
		return alphaASCII
	case dc == 0x02 || dc == 0x04:
		return alphaBinary
	case dc == 0x03:
		return alphaLatin1
	case dc == 0x08:
		return alphaUCS2
	case dc < 0x10:
		return alphaUnsupported
	case dc < 0x80: // general data coding / automatic deletion groups
		if dc&0x20 != 0 { // compressed
			return alphaUnsupported
		}
		switch (dc >> 2) & 0x03 {
		case 0:
			return alphaGSM
		case 1:
			return alphaBinary
		case 2:
			return alphaUCS2
		}
		return alphaUnsupported
	case dc < 0xC0:
		return alphaUnsupported
	case dc < 0xE0: // message waiting indication, GSM 7-bit
		return alphaGSM
	case dc < 0xF0: // message waiting indication, UCS2
		return alphaUCS2
	}
	if dc&0x04 != 0 { // data coding/message class: 8-bit data
		return alphaBinary
	}
	return alphaGSM
}

// Decode turns a received short_message or message_payload (UDH already
// removed, see ParseUDH) into text:
//   - GSM 7-bit (data_coding 0, and the GSM DCS values with a message class
//     such as 0x10–0x13, 0xF0–0xF3): packed per opt, escapes resolved;
//     an octet above 0x7F in unpacked text becomes U+FFFD;
//   - 1 IA5/ASCII: octets above 0x7F become U+FFFD;
//   - 3 Latin-1;
//   - 8 UCS2 (and 0x18–0x1B, 0xE0–0xEF) as UTF-16BE: surrogate pairs are
//     joined, an unpaired surrogate or an odd final octet becomes U+FFFD.
//
// Binary data codings give ErrBinary; others ErrUnsupportedDataCoding;
// packed text whose FillBits/Septets do not fit gives ErrBadSeptets. Decode
// never panics. It allocates only the string for texts up to 1 KiB of UTF-8.
func Decode(dataCoding byte, payload []byte, opt DecodeOptions) (string, error) {
	var stack [1024]byte
	out, err := AppendDecode(stack[:0], dataCoding, payload, opt)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// AppendDecode is Decode appending the UTF-8 text to dst (e.g. to join the
// parts of a concatenated message without an intermediate string each).
// On error dst is returned unchanged.
func AppendDecode(dst []byte, dataCoding byte, payload []byte, opt DecodeOptions) ([]byte, error) {
	switch classify(dataCoding) {
	case alphaGSM:
		if opt.GSM7Packed {
			return appendPackedGSM(dst, payload, opt)
		}
		esc := false
		for _, s := range payload {
			dst, esc = gsmSeptet(dst, esc, s)
		}
		return gsmFinish(dst, esc), nil
	case alphaASCII:
		for _, b := range payload {
			if b < utf8.RuneSelf {
				dst = append(dst, b)
			} else {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			}
		}
		return dst, nil
	case alphaLatin1:
		for _, b := range payload {
			dst = utf8.AppendRune(dst, rune(b))
		}
		return dst, nil
	case alphaUCS2:
		return appendUTF16BE(dst, payload), nil
	case alphaBinary:
		return dst, fmt.Errorf("data_coding 0x%02X: %w", dataCoding, ErrBinary)
	}
	return dst, fmt.Errorf("data_coding 0x%02X: %w", dataCoding, ErrUnsupportedDataCoding)
}

func appendPackedGSM(dst, payload []byte, opt DecodeOptions) ([]byte, error) {
	fill := opt.FillBits
	if fill < 0 || fill > 6 {
		return dst, fmt.Errorf("fill bits %d: %w", fill, ErrBadSeptets)
	}
	max := SeptetCount(len(payload), fill)
	n := opt.Septets
	switch {
	case n < 0 || n > max:
		return dst, fmt.Errorf("%d septets in %d octets after %d fill bits: %w", n, len(payload), fill, ErrBadSeptets)
	case n == 0:
		n = max
		// A CR that exactly fills the last octet is the packer's filler.
		if n > 0 && (len(payload)*8-fill)%7 == 0 && septetAt(payload, fill, n-1) == gsmCR {
			n--
		}
	}
	esc := false
	for k := 0; k < n; k++ {
		dst, esc = gsmSeptet(dst, esc, septetAt(payload, fill, k))
	}
	return gsmFinish(dst, esc), nil
}

// septetAt returns septet k of packed text after fill bits; the caller
// guarantees it lies within p.
func septetAt(p []byte, fill, k int) byte {
	bit := fill + 7*k
	i, sh := bit>>3, uint(bit&7)
	v := uint16(p[i]) >> sh
	if sh > 1 {
		v |= uint16(p[i+1]) << (8 - sh)
	}
	return byte(v & 0x7F)
}

func appendUTF16BE(dst, p []byte) []byte {
	for i := 0; i+1 < len(p); i += 2 {
		u := rune(p[i])<<8 | rune(p[i+1])
		switch {
		case u < 0xD800 || u > 0xDFFF:
			dst = utf8.AppendRune(dst, u)
		case u < 0xDC00 && i+3 < len(p):
			lo := rune(p[i+2])<<8 | rune(p[i+3])
			if lo >= 0xDC00 && lo <= 0xDFFF {
				dst = utf8.AppendRune(dst, 0x10000+(u-0xD800)<<10+(lo-0xDC00))
				i += 2
			} else {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			}
		default: // lone low surrogate, or high surrogate at the end
			dst = utf8.AppendRune(dst, utf8.RuneError)
		}
	}
	if len(p)%2 == 1 {
		dst = utf8.AppendRune(dst, utf8.RuneError)
	}
	return dst
}
