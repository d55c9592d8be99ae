package dlr

import (
	"fmt"
	"strconv"
)

// IDMode says how an operator's receipt ids relate to its submit_sm_resp
// ids (operator config dlr_id).
type IDMode uint8

// ID modes.
const (
	// IDAuto matches a receipt id as given, then as the decimal id written in
	// hex, then as the hex id written in decimal.
	IDAuto IDMode = iota
	// IDHex: receipts carry in hex the id that submit_sm_resp gave in decimal.
	IDHex
	// IDDec: receipts carry in decimal the id that submit_sm_resp gave in hex.
	IDDec
)

// ParseIDMode reads "auto" (or ""), "hex" or "dec".
func ParseIDMode(s string) (IDMode, error) {
	switch s {
	case "auto", "":
		return IDAuto, nil
	case "hex":
		return IDHex, nil
	case "dec":
		return IDDec, nil
	}
	return IDAuto, fmt.Errorf("dlr_id %q: want auto, hex or dec", s)
}

// String returns the config spelling.
func (m IDMode) String() string {
	switch m {
	case IDHex:
		return "hex"
	case IDDec:
		return "dec"
	}
	return "auto"
}

// CanonicalSubmitID returns the key under which a submit_sm_resp message_id
// is stored for correlation: trimmed of spaces and NULs, a "0x" prefix
// removed, ASCII lower-cased, leading zeros removed ("000" → "0"). It
// allocates only when it has to lower-case.
func CanonicalSubmitID(id string) string {
	c, _ := canonical(id)
	return c
}

// canonical also reports whether the id was marked hex by a "0x" prefix.
func canonical(id string) (c string, markedHex bool) {
	id = trimSpaceNUL(id)
	if len(id) > 2 && id[0] == '0' && (id[1] == 'x' || id[1] == 'X') {
		id, markedHex = id[2:], true
	}
	for len(id) > 1 && id[0] == '0' {
		id = id[1:]
	}
	for i := 0; i < len(id); i++ {
		if id[i] >= 'A' && id[i] <= 'Z' {
			b := []byte(id)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b), markedHex
		}
	}
	return id, markedHex
}

// LookupKeys appends to dst, in preference order and without duplicates,
// the canonical submit ids (see CanonicalSubmitID) that a receipt id can
// match, and returns the extended slice. The gateway takes the first key
// that names a pending part.
//
//   - IDAuto: the id as given; then, if it is all decimal digits, its value
//     written in hex; then, if it is all hex digits, its value written in
//     decimal. An id with a "0x" prefix is only read as hex.
//   - IDHex: the hex id written in decimal, then the id as given.
//   - IDDec: the decimal id written in hex, then the id as given.
//
// Conversions are done in 64 bits: an id whose value does not fit in a
// uint64 (more than 16 hex or 20 decimal digits, e.g. a UUID) is only
// matched as given. SMSC ids that are numbers fit; longer ones are opaque
// strings that no operator re-encodes. An empty id gives no keys.
//
// It allocates only the converted keys (and the lower-cased id, if needed);
// pass a reused dst to avoid growing a slice.
func LookupKeys(dst []string, receiptID string, mode IDMode) []string {
	c, markedHex := canonical(receiptID)
	if c == "" {
		return dst
	}
	start := len(dst)
	add := func(k string) {
		for _, have := range dst[start:] {
			if have == k {
				return
			}
		}
		dst = append(dst, k)
	}
	switch mode {
	case IDHex:
		if v, ok := parseUint64(c, 16); ok {
			add(strconv.FormatUint(v, 10))
		}
		add(c)
	case IDDec:
		if v, ok := parseUint64(c, 10); ok && !markedHex {
			add(strconv.FormatUint(v, 16))
		}
		add(c)
	default:
		add(c)
		if !markedHex {
			if v, ok := parseUint64(c, 10); ok {
				add(strconv.FormatUint(v, 16))
			}
		}
		if v, ok := parseUint64(c, 16); ok {
			add(strconv.FormatUint(v, 10))
		}
	}
	return dst
}

// parseUint64 parses lower-case digits of base 10 or 16 without allocating
// (strconv.ParseUint allocates its error), refusing overflow.
func parseUint64(s string, base uint64) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d uint64
		switch {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		default:
			return 0, false
		}
		if v > (^uint64(0)-d)/base {
			return 0, false
		}
		v = v*base + d
	}
	return v, true
}
