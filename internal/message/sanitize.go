package message

import (
	"strings"
	"unicode/utf8"
)

// Storable reports whether s can go into a Postgres text column and a JSON
// document as it is: valid UTF-8 without NUL. Every string that came from
// outside (Kafka, an SMSC, HTTP) is checked with it or passed through
// Sanitize before it is stored or logged.
func Storable(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0 {
			return false
		}
		if c >= utf8.RuneSelf {
			return utf8.ValidString(s[i:]) && strings.IndexByte(s[i:], 0) < 0
		}
	}
	return true
}

// Sanitize returns s with NUL and every invalid UTF-8 byte replaced by
// U+FFFD; s itself (no copy) when it is already Storable.
func Sanitize(s string) string {
	if Storable(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == 0 || (r == utf8.RuneError && size == 1) {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// SanitizeBytes is Sanitize for bytes read off the wire.
func SanitizeBytes(b []byte) string { return Sanitize(string(b)) }
