package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Token scopes (what a bearer token may do over HTTP).
const (
	// ScopeStatus reads the status JSON without money, and traces.
	ScopeStatus = "status"
	// ScopeFinance reads money: the status JSON's revenue and margin,
	// billing exports and summaries.
	ScopeFinance = "finance"
	// ScopeControl drains, disables and enables operators and manages
	// holds and the blocklist.
	ScopeControl = "control"
)

// AllScopes is what a token written as a plain string may do, which is what
// every token could do before scopes existed.
var AllScopes = []string{ScopeStatus, ScopeFinance, ScopeControl}

// Token is one entry of http.tokens: either a plain string (every scope,
// named "tokens[i]") or {name, token, scopes}.
type Token struct {
	// Name identifies the token in audit lines; never the secret.
	Name string `yaml:"name"`
	// Token is the bearer secret.
	Token string `yaml:"token"`
	// Scopes are what the token may do; see AllScopes.
	Scopes []string `yaml:"scopes"`

	plain bool // written as a plain string: every scope
}

var tokenType = reflect.TypeFor[Token]()

// Has reports whether the token carries scope.
func (t Token) Has(scope string) bool { return slices.Contains(t.Scopes, scope) }

// MarshalYAML writes a plain-string token back as a plain string, so a
// printed config reads back to the same meaning.
func (t Token) MarshalYAML() (any, error) {
	if t.plain {
		return t.Token, nil
	}
	type bare Token // no MarshalYAML: avoids recursion
	return bare(t), nil
}

// String never shows the secret.
func (t Token) String() string {
	return fmt.Sprintf("token %s (scopes %s)", t.Name, strings.Join(t.Scopes, ","))
}

// GoString is String, so %#v does not print the secret either.
func (t Token) GoString() string { return t.String() }

// decodeToken reads a token in either form.
func (d *decoder) decodeToken(n *yaml.Node, v reflect.Value, path string, depth int) {
	t := v.Addr().Interface().(*Token)
	if n.Kind == yaml.ScalarNode {
		d.scalar(n, v.FieldByName("Token"), path)
		t.plain = true
		return
	}
	d.structure(n, v, path, depth)
}

// finishTokens names plain tokens and gives them every scope.
func (h *HTTP) finishTokens() {
	for i := range h.Tokens {
		t := &h.Tokens[i]
		if t.plain {
			t.Scopes = slices.Clone(AllScopes)
			if t.Name == "" {
				t.Name = fmt.Sprintf("tokens[%d]", i)
			}
		}
	}
}

func (v *validator) tokens() {
	names := map[string]int{}
	secrets := map[string]int{}
	for i, t := range v.c.HTTP.Tokens {
		key := fmt.Sprintf("http.tokens[%d]", i)
		switch {
		case strings.TrimSpace(t.Token) == "":
			v.add(key, "empty token")
		case strings.ContainsAny(t.Token, " \t\r\n"):
			v.add(key, "a token must not contain white space (value not shown)")
		}
		if j, dup := secrets[t.Token]; dup && t.Token != "" && t.Token != Mask { // Mask: a printed config read back
			v.add(key, "the same token as http.tokens[%d] (value not shown): each token has one name and one set of scopes", j)
		}
		secrets[t.Token] = i
		if t.plain {
			continue
		}
		if t.Name == "" {
			v.add(key+".name", "required: audit lines name the token")
		} else if !printableName(t.Name) {
			v.add(key+".name", "letters, digits, '.', '_' and '-' only, at most 64")
		} else if j, dup := names[t.Name]; dup {
			v.add(key+".name", "%q is also the name of http.tokens[%d]", t.Name, j)
		}
		names[t.Name] = i
		if len(t.Scopes) == 0 {
			v.add(key+".scopes", "list at least one of %s", strings.Join(AllScopes, ", "))
		}
		for j, s := range t.Scopes {
			if !slices.Contains(AllScopes, s) {
				v.add(fmt.Sprintf("%s.scopes[%d]", key, j), "unknown scope %q; want one of %s", s, strings.Join(AllScopes, ", "))
			}
		}
	}
}

func printableName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' || r == '[' || r == ']') {
			return false
		}
	}
	return true
}

// PlainToken is a token with every scope, as a plain string in the file
// means; for configurations built in code.
func PlainToken(secret string) Token {
	return Token{Name: "token", Token: secret, Scopes: slices.Clone(AllScopes), plain: true}
}
