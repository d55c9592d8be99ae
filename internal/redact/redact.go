// Package redact removes secrets from connection strings and URLs, and from
// error text that may quote them, before they are printed or logged.
package redact

import (
	"net/url"
	"regexp"
	"strings"
)

// Mask replaces a secret.
const Mask = "***"

// kvSecret finds password=... (and sslpassword=...) in a key=value DSN: a
// quoted value may hold escaped quotes and spaces, an unquoted one ends at
// white space not escaped by a backslash (libpq's and pgx's rules).
var kvSecret = regexp.MustCompile(`(?i)((?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'?|(?:\\.|[^\s\\'])(?:\\.|[^\s\\])*\\?)`)

// secretParams are query parameters whose values are masked in URLs.
var secretParams = []string{"password", "passwd", "sslpassword", "token", "key", "apikey", "api_key", "secret"}

// DSN masks the password in a Postgres connection string of any form pgx
// accepts: a URL (postgres:// or postgresql://, userinfo or ?password=) or
// key=value pairs (quoted or not). A URL that does not parse is masked
// whole.
func DSN(dsn string) string {
	if isURL(dsn) {
		return URL(dsn)
	}
	return kvSecret.ReplaceAllString(dsn, "${1}"+Mask)
}

func isURL(s string) bool {
	l := strings.ToLower(strings.TrimSpace(s))
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// URL masks the userinfo password and secret query parameters. A URL that
// does not parse is masked whole: it cannot be shown safely.
func URL(s string) string {
	if s == "" {
		return s
	}
	// A {number} placeholder may sit where url.Parse does not accept
	// braces; it is swapped out and back. The mask is swapped in at the
	// end, so that URL escaping does not turn it into %2A%2A%2A.
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

// Secrets returns the passwords a DSN carries, as written and as they read
// once unquoted or unescaped, so that error text quoting any of them can
// be scrubbed.
func Secrets(dsn string) []string {
	var out []string
	add := func(s string) {
		if s != "" && s != Mask {
			out = append(out, s)
		}
	}
	if isURL(dsn) {
		u, err := url.Parse(dsn)
		if err != nil {
			// Unparsable: the text between "://user:" and the last "@".
			rest := dsn[strings.Index(dsn, "://")+3:]
			if at := strings.LastIndex(rest, "@"); at > 0 {
				if _, pw, ok := strings.Cut(rest[:at], ":"); ok {
					add(pw)
				}
			}
			return out
		}
		if u.User != nil {
			pw, _ := u.User.Password()
			add(pw)
			if raw := u.User.String(); strings.Contains(raw, ":") {
				_, esc, _ := strings.Cut(raw, ":")
				add(esc)
			}
		}
		for k, vs := range u.Query() {
			for _, s := range secretParams {
				if strings.EqualFold(k, s) {
					for _, v := range vs {
						add(v)
						add(url.QueryEscape(v))
					}
				}
			}
		}
		return out
	}
	for _, m := range kvSecret.FindAllStringSubmatch(dsn, -1) {
		raw := m[2]
		add(raw)
		v := strings.TrimPrefix(raw, "'")
		v = strings.TrimSuffix(v, "'")
		add(v)
		add(unescape(v))
	}
	return out
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Text masks every secret of dsn in s, longest first.
func Text(s, dsn string) string {
	secrets := Secrets(dsn)
	// Longest first, so a secret that contains another is masked whole.
	for i := range secrets {
		for j := i + 1; j < len(secrets); j++ {
			if len(secrets[j]) > len(secrets[i]) {
				secrets[i], secrets[j] = secrets[j], secrets[i]
			}
		}
	}
	for _, sec := range secrets {
		s = strings.ReplaceAll(s, sec, Mask)
	}
	return s
}

// Error wraps err so that its text carries none of dsn's secrets; errors.Is
// and errors.As still see err.
func Error(err error, dsn string) error {
	if err == nil {
		return nil
	}
	return &scrubbed{err: err, msg: Text(err.Error(), dsn)}
}

type scrubbed struct {
	err error
	msg string
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }
