package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/router"
)

func init() {
	register("import", "bulk imports: portability FILE.csv (number,mcc,mnc) | blocklist FILE.csv (number)", runImport)
}

// runImport loads a CSV into Postgres in one transaction: a bad line stops
// the import with its line number and nothing is changed. Running
// instances pick the rows up within seconds (they follow the tables by seq).
func runImport(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "blocklist" && args[0] != "portability") {
		return errors.New("usage: smsgate import blocklist|portability [-config FILE] FILE.csv")
	}
	kind := args[0]
	fs := newFlagSet("import " + kind)
	cfgPath := fs.String("config", "", "config file (for postgres.dsn); default: SMSGATE_POSTGRES_DSN")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: smsgate import %s [-config FILE] FILE.csv", kind)
	}
	dsn, err := postgresDSN(*cfgPath)
	if err != nil {
		return err
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := store.Open(ctx, dsn, 2)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	start := time.Now()
	rd, err := newNumberCSV(f, kind == "portability")
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	n, err := store.ImportNumbers(ctx, conn, kind == "portability", rd.next, rd.error)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	fmt.Printf("%s: %d rows read, %d new or changed, in %v\n", kind, rd.rows, n, time.Since(start).Round(time.Millisecond))
	return nil
}

// numberCSV reads number[,mcc,mnc] rows strictly; the first error stops
// the reading and is returned by error().
type numberCSV struct {
	r      *csv.Reader
	ported bool
	rows   int64
	err    error
}

func newNumberCSV(r io.Reader, ported bool) (*numberCSV, error) {
	c := csv.NewReader(r)
	c.ReuseRecord = true
	c.TrimLeadingSpace = true
	want := "number"
	if ported {
		want = "number,mcc,mnc"
		c.FieldsPerRecord = 3
	} else {
		c.FieldsPerRecord = 1
	}
	head, err := c.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if got := strings.ToLower(strings.Join(head, ",")); got != want {
		return nil, fmt.Errorf("header %q, want %q", strings.Join(head, ","), want)
	}
	return &numberCSV{r: c, ported: ported}, nil
}

func (n *numberCSV) next() ([]any, bool) {
	if n.err != nil {
		return nil, false
	}
	rec, err := n.r.Read()
	if err == io.EOF {
		return nil, false
	}
	line, _ := n.r.FieldPos(0)
	if err != nil {
		n.err = err
		return nil, false
	}
	num, err := importNumber(rec[0])
	if err != nil {
		n.err = fmt.Errorf("line %d: %w", line, err)
		return nil, false
	}
	n.rows++
	if !n.ported {
		return []any{num}, true
	}
	mcc, mnc := strings.TrimSpace(rec[1]), strings.TrimSpace(rec[2])
	if len(mcc) != 3 || !digitsOnly(mcc) || len(mnc) < 2 || len(mnc) > 3 || !digitsOnly(mnc) {
		n.err = fmt.Errorf("line %d: mcc %q / mnc %q: want 3 digits and 2–3 digits", line, mcc, mnc)
		return nil, false
	}
	return []any{num, mcc, mnc}, true
}

func (n *numberCSV) error() error { return n.err }

// importNumber accepts E.164 digits with an optional leading '+'.
func importNumber(s string) (string, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "+")
	if !digitsOnly(s) {
		return "", fmt.Errorf("number %q: want E.164 digits", s)
	}
	e, err := router.NormalizeMSISDN("+"+s, "")
	if err != nil {
		return "", err
	}
	return e, nil
}

func digitsOnly(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
