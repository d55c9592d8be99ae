package coding

import (
	"errors"
	"strings"
	"testing"
)

func TestParseEncoding(t *testing.T) {
	tests := []struct {
		in   string
		want Encoding
		auto bool
		err  bool
	}{
		{"", 0, true, false},
		{"auto", 0, true, false},
		{"AUTO", 0, true, false},
		{"gsm7", GSM7, false, false},
		{"latin1", Latin1, false, false},
		{"ucs2", UCS2, false, false},
		{"Ucs2", UCS2, false, false},
		{"utf8", 0, false, true},
		{"binary", 0, false, true}, // not offered to sms.submit
		{"gsm", 0, false, true},
	}
	for _, tt := range tests {
		got, auto, err := ParseEncoding(tt.in)
		if (err != nil) != tt.err || got != tt.want || auto != tt.auto {
			t.Errorf("ParseEncoding(%q) = %v, %v, %v; want %v, %v, err %v", tt.in, got, auto, err, tt.want, tt.auto, tt.err)
		}
		if err != nil {
			if !errors.Is(err, ErrUnknownEncoding) || !strings.Contains(err.Error(), `"`+tt.in+`"`) {
				t.Errorf("ParseEncoding(%q) error %q must name the value and wrap ErrUnknownEncoding", tt.in, err)
			}
		}
	}
}

func TestDataCoding(t *testing.T) {
	for e, want := range map[Encoding]byte{GSM7: 0, Latin1: 3, UCS2: 8, Binary: 4} {
		if got := e.DataCoding(); got != want {
			t.Errorf("%v.DataCoding() = %d, want %d", e, got, want)
		}
	}
}

func TestChoose(t *testing.T) {
	tests := []struct {
		name      string
		text      string
		req, want Encoding
	}{
		{"ascii auto", "Hello, world!", 0, GSM7},
		{"empty auto", "", 0, GSM7},
		{"extension auto", "{}[]~\\|^€", 0, GSM7},
		{"greek auto", "ΔΦΓΛΩΠΨΣΘΞ", 0, GSM7},
		{"latin in gsm", "café ñ", 0, GSM7},
		{"georgian", "გამარჯობა", 0, UCS2},
		{"persian", "سلام دنیا", 0, UCS2},
		{"ukrainian", "Привіт, світ", 0, UCS2},
		{"emoji", "👍🏽🎉", 0, UCS2},
		{"c cedilla small", "ç", 0, UCS2},
		{"replacement char is text", "a\uFFFD", 0, UCS2},
		{"forced latin1", "café ñ", Latin1, Latin1},
		{"forced latin1 c1", "\u0080ÿ", Latin1, Latin1},
		{"forced ucs2", "hello", UCS2, UCS2},
		{"forced gsm", "hello{", GSM7, GSM7},
		{"binary", "\x00\xff", Binary, Binary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Choose(tt.text, tt.req)
			if err != nil || got != tt.want {
				t.Fatalf("Choose(%q, %v) = %v, %v; want %v", tt.text, tt.req, got, err, tt.want)
			}
		})
	}
}

func TestChooseErrors(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		req   Encoding
		is    error
		r     rune
		index int
		msg   string
	}{
		{"gsm georgian", "ok გ", GSM7, ErrUnencodable, 'გ', 3, `'გ' (U+10D2) at position 3 does not fit gsm7`},
		{"gsm emoji after multibyte", "é👍", GSM7, ErrUnencodable, '👍', 1, "position 1"},
		{"latin1 euro", "ab€", Latin1, ErrUnencodable, '€', 2, "(U+20AC) at position 2 does not fit latin1"},
		{"invalid utf8 auto", "ab\xffc", 0, ErrInvalidUTF8, 0, 0, "offset 2"},
		{"invalid utf8 after non-gsm", "ж\xff", 0, ErrInvalidUTF8, 0, 0, ""},
		{"invalid utf8 gsm", "\xc3", GSM7, ErrInvalidUTF8, 0, 0, "0xC3"},
		{"invalid utf8 latin1", "\xe2\x82", Latin1, ErrInvalidUTF8, 0, 0, ""},
		{"invalid utf8 ucs2", "x\xff", UCS2, ErrInvalidUTF8, 0, 0, ""},
		{"unknown", "x", Encoding(9), ErrUnknownEncoding, 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Choose(tt.text, tt.req)
			if !errors.Is(err, tt.is) || got != 0 {
				t.Fatalf("Choose = %v, %v; want error %v", got, err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
			var ue *UnencodableError
			if errors.As(err, &ue) && (ue.Rune != tt.r || ue.Index != tt.index) {
				t.Errorf("got rune %q index %d, want %q %d", ue.Rune, ue.Index, tt.r, tt.index)
			}
		})
	}
}
