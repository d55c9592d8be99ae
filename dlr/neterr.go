package dlr

import (
	"fmt"
	"strconv"
	"strings"
)

// NetworkError is the network_error_code TLV (0x0423) of a receipt: the
// network type (SMPP 3.4 §5.3.2.31) and a 2-byte code. Type 0 is not a
// network type; the zero value means "absent".
type NetworkError struct {
	Type uint8
	Code uint16
}

// networkTypes names the SMPP 3.4 network types 1–8, as written in
// config and in sms.status error codes.
var networkTypes = [...]string{1: "ansi136", 2: "is95", 3: "gsm", 4: "ansi136cause", 5: "is95cause", 6: "ansi41", 7: "smpp", 8: "smsc"}

// IsZero reports whether the TLV was absent.
func (e NetworkError) IsZero() bool { return e.Type == 0 }

// String renders the error as sms.status shows it: the network type's name
// (or its number when it has none), a colon and the code in 4 hex digits,
// e.g. "gsm:0x000B"; "" for the zero value.
func (e NetworkError) String() string {
	if e.Type == 0 {
		return ""
	}
	name := strconv.Itoa(int(e.Type))
	if int(e.Type) < len(networkTypes) {
		name = networkTypes[e.Type]
	}
	return fmt.Sprintf("%s:0x%04X", name, e.Code)
}

// ParseNetworkError reads TYPE:CODE, TYPE a network type name (gsm, ansi136,
// is95, ansi136cause, is95cause, ansi41, smpp, smsc; any case) or number
// 1–255, CODE 0–65535 in decimal or 0x-prefixed hex: "gsm:0x000B",
// "gsm:11", "3:0x0B".
func ParseNetworkError(s string) (NetworkError, error) {
	t := strings.TrimSpace(s)
	typ, code, ok := strings.Cut(t, ":")
	if !ok {
		return NetworkError{}, fmt.Errorf("network error %q: want TYPE:CODE such as gsm:0x000B", s)
	}
	var e NetworkError
	typ = strings.ToLower(strings.TrimSpace(typ))
	found := false
	for i, n := range networkTypes {
		if n != "" && n == typ {
			e.Type, found = uint8(i), true
		}
	}
	if !found {
		n, err := strconv.ParseUint(typ, 10, 8)
		if err != nil || n == 0 {
			return NetworkError{}, fmt.Errorf("network error %q: unknown network type %q (want gsm, ansi136, is95, ansi136cause, is95cause, ansi41, smpp, smsc or 1–255)", s, typ)
		}
		e.Type = uint8(n)
	}
	code = strings.TrimSpace(code)
	var c uint64
	var err error
	if h, isHex := strings.CutPrefix(strings.ToLower(code), "0x"); isHex {
		c, err = strconv.ParseUint(h, 16, 16)
	} else {
		c, err = strconv.ParseUint(code, 10, 16)
	}
	if err != nil {
		return NetworkError{}, fmt.Errorf("network error %q: code %q: want 0–65535, decimal or 0x hex", s, code)
	}
	e.Code = uint16(c)
	return e, nil
}

// SplitStoredErr reads back a receipt's Err as stored: the network_error_code
// rendering of ApplyTLVs ("3:0x000B") gives the network error, anything else
// is the text's err: value.
func SplitStoredErr(s string) (textErr string, ne NetworkError) {
	typ, code, ok := strings.Cut(s, ":")
	if ok && len(code) == 6 && strings.HasPrefix(code, "0x") {
		t, err1 := strconv.ParseUint(typ, 10, 8)
		c, err2 := strconv.ParseUint(code[2:], 16, 16)
		if err1 == nil && err2 == nil && t > 0 {
			return "", NetworkError{Type: uint8(t), Code: uint16(c)}
		}
	}
	return s, NetworkError{}
}
