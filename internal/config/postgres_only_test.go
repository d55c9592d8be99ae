package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The database commands read postgres.dsn without the SMSC passwords the
// rest of the file needs from the environment.
func TestLoadPostgresOnly(t *testing.T) {
	t.Setenv("PG_DSN", "postgres://finance@db/smsgate")
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yml", `postgres: {dsn: "${PG_DSN}", max_conns: 8}
operators:
  - {name: magti, host: h, port: 1, system_id: x, password: "${MAGTI_PASSWORD_NOT_SET}"}
`)
	pg, err := LoadPostgres(good)
	if err != nil {
		t.Fatalf("LoadPostgres: %v", err)
	}
	if pg.DSN != "postgres://finance@db/smsgate" || pg.MaxConns != 8 {
		t.Errorf("got %+v", pg)
	}
	if _, err := Load(good); err == nil || !strings.Contains(err.Error(), "MAGTI_PASSWORD_NOT_SET") {
		t.Errorf("the full load should still want the password: %v", err)
	}
	for name, c := range map[string]struct{ body, want string }{
		"no postgres":     {"operators: []\n", "postgres.dsn: required"},
		"empty dsn":       {"postgres: {dsn: \"\"}\n", "postgres.dsn: required"},
		"unset variable":  {"postgres: {dsn: \"${NOPE_NOT_SET}\"}\n", "NOPE_NOT_SET"},
		"unknown key":     {"postgres: {dsn: x, pool: 3}\n", "postgres.pool"},
		"not yaml":        {"postgres: [\n", "yaml"},
		"top not mapping": {"- a\n", "postgres.dsn: required"},
	} {
		_, err := LoadPostgres(write(strings.ReplaceAll(name, " ", "_")+".yml", c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, c.want)
		}
	}
}
