package redact

import (
	"errors"
	"strings"
	"testing"
)

const pw = "Pg-S3cr3t"

// Every DSN form pgx accepts loses its password.
var dsnForms = map[string]string{
	"url":                "postgres://smsgate:" + pw + "@db:5432/smsgate",
	"url postgresql":     "postgresql://smsgate:" + pw + "@db/smsgate?sslmode=disable",
	"url escaped":        "postgres://smsgate:" + pw + "%40x@db/smsgate",
	"url query":          "postgres://db/smsgate?user=smsgate&password=" + pw,
	"url multi-host":     "postgres://smsgate:" + pw + "@db1:5432,db2:5432/smsgate",
	"url upper scheme":   "POSTGRES://smsgate:" + pw + "@db/smsgate",
	"url unparsable":     "postgres://smsgate:" + pw + "@db:port/%zz",
	"kv":                 "host=db user=smsgate password=" + pw + " dbname=smsgate",
	"kv first":           "password=" + pw + " host=db",
	"kv last":            "host=db password=" + pw,
	"kv spaces":          "host=db password = " + pw + " dbname=x",
	"kv quoted":          "host=db password='" + pw + " with space' dbname=x",
	"kv quoted escapes":  `host=db password='` + pw + `\' x\\' dbname=x`,
	"kv unquoted escape": `host=db password=` + pw + `\ x dbname=x`,
	"kv sslpassword":     "host=db sslpassword=" + pw + " dbname=x",
	"kv upper key":       "host=db PASSWORD=" + pw,
	"kv tabs":            "host=db\tpassword=" + pw + "\tdbname=x",
}

func TestDSN(t *testing.T) {
	for name, dsn := range dsnForms {
		got := DSN(dsn)
		if strings.Contains(got, "S3cr3t") {
			t.Errorf("%s: %q still shows the password", name, got)
		}
		if !strings.Contains(got, Mask) {
			t.Errorf("%s: %q has no mask", name, got)
		}
	}
	// What is not secret stays readable.
	if got := DSN("host=db user=smsgate password=x dbname=smsgate"); got != "host=db user=smsgate password=*** dbname=smsgate" {
		t.Errorf("kv: %q", got)
	}
	if got := DSN("postgres://smsgate:x@db:5432/smsgate"); got != "postgres://smsgate:***@db:5432/smsgate" {
		t.Errorf("url: %q", got)
	}
	if got := DSN("host=db dbname=x"); got != "host=db dbname=x" {
		t.Errorf("no password: %q", got)
	}
}

// Error text that quotes the password in any spelling is scrubbed, and the
// wrapped error is still found.
func TestErrorScrubbed(t *testing.T) {
	base := errors.New("base")
	for name, dsn := range dsnForms {
		for _, s := range Secrets(dsn) {
			err := Error(errors.Join(errors.New("cannot parse `"+dsn+"`: near "+s), base), dsn)
			if strings.Contains(err.Error(), "S3cr3t") {
				t.Errorf("%s: %q", name, err)
			}
			if !errors.Is(err, base) {
				t.Errorf("%s: wrapped error lost", name)
			}
		}
		if len(Secrets(dsn)) == 0 {
			t.Errorf("%s: no secret found in %q", name, dsn)
		}
	}
}

func FuzzDSN(f *testing.F) {
	for _, d := range dsnForms {
		f.Add(d, "x")
	}
	f.Fuzz(func(t *testing.T, prefix, secret string) {
		if len(secret) < 4 || strings.ContainsAny(secret, " \t\n\r\v\f'\\=@:/?#%&") || strings.Contains(prefix, secret) {
			return
		}
		dsn := prefix + " password=" + secret + " dbname=x"
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(dsn)), "postgres") {
			return
		}
		if got := Text(DSN(dsn), dsn); strings.Contains(got, secret) {
			t.Errorf("%q -> %q shows %q", dsn, got, secret)
		}
	})
}
