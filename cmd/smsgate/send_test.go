package main

import (
	"strings"
	"testing"

	"github.com/smsgate/smsgate/internal/config"
)

// send refuses what ingest would refuse, with every problem named.
func TestValidateSend(t *testing.T) {
	cfg := &config.Config{Accounts: []config.Account{{Name: "acme", Country: "995"}}}
	ok := sendRecord{id: "cli-1", account: "acme", from: "ACME", to: "599123456", text: "hi"}
	if err := validateSend(cfg, ok); err != nil {
		t.Fatalf("valid record refused: %v", err)
	}
	if err := validateSend(nil, sendRecord{id: "x", from: "A", to: "+995599123456", text: "hi"}); err != nil {
		t.Errorf("without a config, an E.164 number: %v", err)
	}
	for name, c := range map[string]struct {
		mod  func(r *sendRecord)
		want []string
	}{
		"the issue's example": {func(r *sendRecord) { r.to, r.kind = "12ab", "promo" }, []string{"-to:", `-kind "promo"`}},
		"priority":            {func(r *sendRecord) { r.priority = 10 }, []string{"-priority 10"}},
		"unknown account":     {func(r *sendRecord) { r.account = "nobody" }, []string{`-account "nobody"`}},
		"long id":             {func(r *sendRecord) { r.id = strings.Repeat("i", 65) }, []string{"-id: 65 characters"}},
		"NUL in text":         {func(r *sendRecord) { r.text = "a\x00b" }, []string{"-text: NUL"}},
	} {
		r := ok
		c.mod(&r)
		err := validateSend(cfg, r)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v, want %q", name, err, w)
			}
		}
	}
}
