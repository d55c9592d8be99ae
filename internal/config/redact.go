package config

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/smsgate/smsgate/internal/redact"
)

// Mask replaces a secret in printed configurations.
const Mask = redact.Mask

// Redacted returns a copy safe to print or log: operator passwords and HTTP
// tokens are Mask, and so is the password in the Postgres DSN and in the
// lookup URL. The copy shares the parts that hold no secret with c; treat
// it as read-only.
func (c *Config) Redacted() *Config {
	r := *c
	r.Operators = make([]Operator, len(c.Operators))
	for i, o := range c.Operators {
		r.Operators[i] = o.redacted()
	}
	r.HTTP = c.HTTP.redacted()
	r.Postgres.DSN = redactDSN(c.Postgres.DSN)
	if c.Numbering != nil {
		n := *c.Numbering
		if n.Portability != nil {
			p := *n.Portability
			p.LookupURL = redactURL(p.LookupURL)
			n.Portability = &p
		}
		r.Numbering = &n
	}
	return &r
}

// String is the redacted configuration as YAML, which Parse reads back. It
// has a value receiver so that printing a Config value is safe too.
func (c Config) String() string {
	b, err := yaml.Marshal(c.Redacted())
	if err != nil {
		return fmt.Sprintf("config: %v", err)
	}
	return string(b)
}

// GoString is String, so %#v does not print secrets either.
func (c Config) GoString() string { return c.String() }

func (o Operator) redacted() Operator {
	if o.Password != "" {
		o.Password = Mask
	}
	return o
}

// String describes the operator without its password.
func (o Operator) String() string {
	return fmt.Sprintf("operator %s (%s:%d, system_id %q, password %s)", o.Name, o.Host, o.Port, o.SystemID, o.redacted().Password)
}

// GoString is String, so %#v does not print the password.
func (o Operator) GoString() string { return o.String() }

func (h HTTP) redacted() HTTP {
	if h.Tokens != nil {
		t := make([]Token, len(h.Tokens))
		for i, tok := range h.Tokens {
			tok.Token = Mask
			tok.Scopes = slices.Clone(tok.Scopes)
			t[i] = tok
		}
		h.Tokens = t
	}
	return h
}

// String describes the HTTP section without its tokens.
func (h HTTP) String() string {
	names := make([]string, len(h.Tokens))
	for i, t := range h.Tokens {
		names[i] = t.Name
	}
	return fmt.Sprintf("http (listen %s, tls %t, tokens [%s], show_message_text %t)", h.Listen, h.TLSCert != "", strings.Join(names, " "), h.ShowMessageText)
}

// GoString is String, so %#v does not print the tokens.
func (h HTTP) GoString() string { return h.String() }

// String describes the Postgres section with the DSN's password masked.
func (p Postgres) String() string { return "postgres (" + redactDSN(p.DSN) + ")" }

// GoString is String, so %#v does not print the password.
func (p Postgres) GoString() string { return p.String() }

func redactDSN(dsn string) string { return redact.DSN(dsn) }

func redactURL(s string) string { return redact.URL(s) }
