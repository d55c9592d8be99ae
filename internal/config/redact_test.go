package config

import (
	"fmt"
	"strings"
	"testing"
)

func TestRedacted(t *testing.T) {
	setSecrets(t)
	t.Setenv("PG_PASS", "pg-S3cr3t-0042")
	c := mustLoad(t, "testdata/good.yml")
	c.Postgres.DSN = "postgres://smsgate:pg-S3cr3t-0042@127.0.0.1:5432/smsgate"
	c.Numbering.Portability.LookupURL = "https://hlr:pg-S3cr3t-0042@hlr.local/lookup?number={number}&token=pg-S3cr3t-0042"

	r := c.Redacted()
	if r.Operators[0].Password != Mask || r.Operators[1].Password != Mask || r.HTTP.Tokens[0].Token != Mask {
		t.Errorf("secrets not masked: %+v", r.Operators)
	}
	// The original is untouched.
	if c.Operators[0].Password != magtiSecret || c.HTTP.Tokens[0].Token != tokenSecret ||
		!strings.Contains(c.Postgres.DSN, "pg-S3cr3t") || !strings.Contains(c.Numbering.Portability.LookupURL, "pg-S3cr3t") {
		t.Error("Redacted changed the original")
	}
	if want := "postgres://smsgate:***@127.0.0.1:5432/smsgate"; r.Postgres.DSN != want {
		t.Errorf("DSN = %q, want %q", r.Postgres.DSN, want)
	}
	if want := "https://hlr:***@hlr.local/lookup?number={number}&token=***"; r.Numbering.Portability.LookupURL != want {
		t.Errorf("lookup URL = %q, want %q", r.Numbering.Portability.LookupURL, want)
	}

	printed := map[string]string{
		"String":        c.String(),
		"%v":            fmt.Sprintf("%v", c),
		"%+v":           fmt.Sprintf("%+v", c),
		"%#v":           fmt.Sprintf("%#v", c),
		"value %+v":     fmt.Sprintf("%+v", *c),
		"operator %v":   fmt.Sprintf("%v", c.Operators[0]),
		"operator %+v":  fmt.Sprintf("%+v", c.Operators[0]),
		"operator %#v":  fmt.Sprintf("%#v", c.Operators[0]),
		"operators %+v": fmt.Sprintf("%+v", c.Operators),
		"http %+v":      fmt.Sprintf("%+v", c.HTTP),
		"postgres %#v":  fmt.Sprintf("%#v", c.Postgres),
	}
	for what, s := range printed {
		assertNoSecret(t, what, s)
		if strings.Contains(s, "pg-S3cr3t") {
			t.Errorf("%s contains the DSN password:\n%s", what, s)
		}
	}
	if !strings.Contains(c.String(), "password: '***'") {
		t.Errorf("String does not show masked passwords:\n%s", c.String())
	}
}

// TestStringRoundTrip: the printed (redacted) config parses back to a config
// that prints the same.
func TestStringRoundTrip(t *testing.T) {
	setSecrets(t)
	for _, f := range []string{"testdata/good.yml", "testdata/minimal.yml"} {
		c := mustLoad(t, f)
		s := c.String()
		back, err := Parse([]byte(s), "")
		if err != nil {
			t.Fatalf("%s: reparse: %v\n%s", f, err, s)
		}
		if s2 := back.String(); s2 != s {
			t.Errorf("%s: round trip differs:\n%s\n---\n%s", f, s, s2)
		}
	}
}

func TestRedactDSN(t *testing.T) {
	for in, want := range map[string]string{
		"":                               "",
		"postgres://127.0.0.1/db":        "postgres://127.0.0.1/db",
		"postgres://u@127.0.0.1/db":      "postgres://u@127.0.0.1/db",
		"postgres://u:p@127.0.0.1/db":    "postgres://u:***@127.0.0.1/db",
		"postgresql://u:p@h/db?x=1":      "postgresql://u:***@h/db?x=1",
		"postgres://h/db?password=p&a=b": "postgres://h/db?a=b&password=***",
		"postgres://u:p@[::1":            "***",
		"host=h password=p dbname=d":     "host=h password=*** dbname=d",
		"host=h password = 'p q' user=u": "host=h password = *** user=u",
		"host=h PASSWORD='p\\'q' user=u": "host=h PASSWORD=*** user=u",
		"host=h dbname=d":                "host=h dbname=d",
	} {
		if got := redactDSN(in); got != want {
			t.Errorf("redactDSN(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every DSN form pgx accepts is printed (check-config, %v, logs) without
// its password.
func TestRedactedDSNForms(t *testing.T) {
	setSecrets(t)
	c := mustLoad(t, "testdata/good.yml")
	for _, dsn := range []string{
		"postgres://smsgate:pg-S3cr3t@db:5432/smsgate",
		"postgresql://db/smsgate?user=smsgate&password=pg-S3cr3t",
		"host=db user=smsgate password=pg-S3cr3t dbname=smsgate",
		"host=db password = 'pg-S3cr3t with space' dbname=smsgate",
		`host=db password='pg-S3cr3t\' quoted' dbname=smsgate`,
		"host=db sslpassword=pg-S3cr3t dbname=smsgate",
	} {
		c.Postgres.DSN = dsn
		for what, s := range map[string]string{"String": c.String(), "%+v": fmt.Sprintf("%+v", c.Postgres), "%#v": fmt.Sprintf("%#v", c)} {
			if strings.Contains(s, "S3cr3t") {
				t.Errorf("%s of %q shows the password", what, dsn)
			}
		}
	}
}
