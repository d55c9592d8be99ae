package faults

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const pgBin = "/usr/lib/postgresql/15/bin"

// pgCluster is a private Postgres 15 cluster on a free port, run as the
// postgres user from a temp dir, so it can be stopped and started without
// touching the machine's shared cluster that other tests use.
type pgCluster struct {
	t    *testing.T
	dir  string
	data string
	port int
}

func newPGCluster(t *testing.T) *pgCluster {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a private Postgres cluster is started as the postgres user: needs root")
	}
	for _, tool := range []string{"initdb", "pg_ctl"} {
		if _, err := os.Stat(filepath.Join(pgBin, tool)); err != nil {
			t.Skipf("%s not found in %s (Debian: apt-get install -y postgresql-15)", tool, pgBin)
		}
	}
	if _, err := exec.LookPath("runuser"); err != nil {
		t.Skip("runuser not found (Debian: util-linux)")
	}
	dir, err := os.MkdirTemp("", "smsf-pg")
	if err != nil {
		t.Fatal(err)
	}
	c := &pgCluster{t: t, dir: dir, data: filepath.Join(dir, "data"), port: freePort(t)}
	t.Cleanup(func() {
		c.pgctl("stop", "-m", "immediate")
		_ = os.RemoveAll(dir)
	})
	if out, err := exec.Command("chown", "postgres:postgres", dir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v\n%s", err, out)
	}
	if out, err := c.asPostgres(filepath.Join(pgBin, "initdb"), "-D", c.data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	c.start()
	return c
}

func (c *pgCluster) asPostgres(args ...string) ([]byte, error) {
	cmd := exec.Command("runuser", append([]string{"-u", "postgres", "--"}, args...)...)
	cmd.Dir = c.dir
	return cmd.CombinedOutput()
}

func (c *pgCluster) pgctl(args ...string) ([]byte, error) {
	return c.asPostgres(append([]string{filepath.Join(pgBin, "pg_ctl"), "-D", c.data}, args...)...)
}

// base is the URL without a database, for freshDB.
func (c *pgCluster) base() string { return fmt.Sprintf("postgres://postgres@127.0.0.1:%d", c.port) }

func (c *pgCluster) start() {
	c.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=100", c.port, c.dir)
	if out, err := c.pgctl("start", "-w", "-t", "60", "-l", filepath.Join(c.dir, "log"), "-o", opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		c.t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// crash stops the server the way a crash would: no checkpoint, clients cut.
func (c *pgCluster) crash() {
	c.t.Helper()
	if out, err := c.pgctl("stop", "-m", "immediate", "-w"); err != nil && !strings.Contains(string(out), "not running") {
		c.t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}
