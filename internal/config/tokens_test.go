package config

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestTokenForms(t *testing.T) {
	setSecrets(t)
	t.Setenv("NOC_TOKEN", "noc-S3cr3t-77")
	base, err := os.ReadFile("testdata/minimal.yml")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(base), "http:", "http_unused:", 1) + `
http:
  tokens:
    - "${SMSGATE_API_TOKEN}"
    - {name: noc, token: "${NOC_TOKEN}", scopes: [status]}
    - {name: fin, token: fin-S3cr3t-78, scopes: [status, finance]}
`
	if strings.Contains(string(base), "http:") {
		t.Fatal("minimal.yml has an http section; the test appends its own")
	}
	c, err := Parse([]byte(doc), "")
	if err != nil {
		t.Fatal(err)
	}
	got := c.HTTP.Tokens
	if len(got) != 3 {
		t.Fatalf("%d tokens", len(got))
	}
	if got[0].Name != "tokens[0]" || got[0].Token != tokenSecret || !slices.Equal(got[0].Scopes, AllScopes) {
		t.Errorf("plain token = %+v", got[0])
	}
	if got[1].Name != "noc" || got[1].Token != "noc-S3cr3t-77" || !got[1].Has(ScopeStatus) || got[1].Has(ScopeFinance) || got[1].Has(ScopeControl) {
		t.Errorf("noc token = %+v", got[1])
	}
	if !got[2].Has(ScopeFinance) || got[2].Has(ScopeControl) {
		t.Errorf("fin token = %+v", got[2])
	}
	for what, s := range map[string]string{"config": c.String(), "%+v": fmt.Sprintf("%+v", c.HTTP), "%#v": fmt.Sprintf("%#v", got[1]), "%v": fmt.Sprintf("%v", got)} {
		if strings.Contains(s, "S3cr3t") || strings.Contains(s, tokenSecret) {
			t.Errorf("%s shows a token:\n%s", what, s)
		}
	}
	// The printed form reads back with the same names and scopes.
	back, err := Parse([]byte(c.String()), "")
	if err != nil {
		t.Fatalf("printed config does not parse: %v\n%s", err, c.String())
	}
	for i := range got {
		b := back.HTTP.Tokens[i]
		if b.Name != got[i].Name || !slices.Equal(b.Scopes, got[i].Scopes) || b.Token != Mask {
			t.Errorf("token %d after round trip = %+v, want name %s scopes %v", i, b, got[i].Name, got[i].Scopes)
		}
	}
}
