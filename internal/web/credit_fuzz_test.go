package web

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/smsgate/smsgate/billing"
)

// FuzzParseCredit: whatever the body, parseCredit either refuses it or
// returns a credit whose text is clean (valid UTF-8, no NUL or control
// characters), whose amount is nonzero and within bounds, and whose
// currency is the account's.
func FuzzParseCredit(f *testing.F) {
	f.Add([]byte(`{"amount":"0.10","currency":"EUR","reference":"inv 1","idempotency_key":"k1"}`))
	f.Add([]byte(`{"amount":"-5","currency":"EUR","reference":"adj","idempotency_key":"k2"}`))
	f.Add([]byte(`{"amount":"1e3","currency":"EUR","reference":"x","idempotency_key":"k"}`))
	f.Add([]byte(`{"amount":"0.1","currency":"EUR","reference":"=cmd|' /C calc'!A0","idempotency_key":"k\u0000"}`))
	f.Add([]byte("{\"amount\":\"1\",\"currency\":\"EUR\",\"reference\":\"\xff\",\"idempotency_key\":\"k\"}"))
	f.Add([]byte(`{"amount":"1","currency":"EUR","reference":"r","idempotency_key":"k","extra":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := parseCredit(body, "EUR")
		if err != nil {
			return
		}
		for _, s := range []string{c.Reference, c.IdempotencyKey} {
			if s == "" || !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				t.Fatalf("accepted unclean text %q from %q", s, body)
			}
			for _, r := range s {
				if r < 0x20 || r == 0x7f {
					t.Fatalf("accepted a control character in %q", s)
				}
			}
		}
		if c.Amount == 0 || c.Amount > creditMaxAmount || c.Amount < -creditMaxAmount {
			t.Fatalf("accepted amount %s", c.Amount)
		}
		if c.Currency != "EUR" {
			t.Fatalf("accepted currency %q", c.Currency)
		}
		if _, err := billing.ParseAmount(c.Amount.String()); err != nil {
			t.Fatalf("amount %s does not round-trip: %v", c.Amount, err)
		}
	})
}
