package message

import (
	"testing"
	"unicode/utf8"
)

func TestSanitize(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain", "plain"},
		{"ünïcödé 😀", "ünïcödé 😀"},
		{"a\x00b", "a\uFFFDb"},
		{"a\xffb", "a\uFFFDb"},
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"}, // a surrogate encoded in UTF-8 is invalid
		{"ok\x00", "ok\uFFFD"},
	} {
		if got := Sanitize(c.in); got != c.want {
			t.Errorf("Sanitize(%q) = %q, want %q", c.in, got, c.want)
		}
		if Storable(c.in) != (c.in == c.want) {
			t.Errorf("Storable(%q) = %v", c.in, Storable(c.in))
		}
	}
}

func FuzzSanitize(f *testing.F) {
	f.Add("a\x00\xff😀")
	f.Fuzz(func(t *testing.T, s string) {
		out := Sanitize(s)
		if !Storable(out) || !utf8.ValidString(out) {
			t.Fatalf("Sanitize(%q) = %q is not storable", s, out)
		}
		if Storable(s) && out != s {
			t.Fatalf("a storable string changed: %q → %q", s, out)
		}
	})
}
