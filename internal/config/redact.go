package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Mask replaces a secret in printed configurations.
const Mask = "***"

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

// kvPassword finds password=... in a key=value DSN, quoted or not.
var kvPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'?|\S+)`)

// secretParams are query parameters whose values are masked in URLs.
var secretParams = []string{"password", "passwd", "token", "key", "apikey", "api_key", "secret", "sslpassword"}

func redactDSN(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return redactURL(dsn)
	}
	return kvPassword.ReplaceAllString(dsn, "${1}"+Mask)
}

// redactURL masks the userinfo password and secret query parameters. A URL
// that does not parse is masked whole: it cannot be shown safely.
func redactURL(s string) string {
	if s == "" {
		return s
	}
	// The lookup URL's {number} placeholder may sit where url.Parse does not
	// accept braces; it is swapped out and back.
	// The mask is written as a plain word and swapped in at the end, so
	// that URL escaping does not turn it into %2A%2A%2A.
	const placeholder, stand, mask = "{number}", "SMSGATE-NUMBER-PLACEHOLDER", "SMSGATE-MASK-PLACEHOLDER"
	u, err := url.Parse(strings.ReplaceAll(s, placeholder, stand))
	if err != nil {
		return Mask
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), mask)
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		changed := false
		for k := range q {
			for _, s := range secretParams {
				if strings.EqualFold(k, s) {
					q.Set(k, mask)
					changed = true
				}
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	return strings.NewReplacer(stand, placeholder, mask, Mask).Replace(u.String())
}
