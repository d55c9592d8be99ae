package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/internal/web"
)

func init() {
	register("export", "export billing or received messages (CSV or XLSX)", runExport)
}

func runExport(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "billing" && args[0] != "mo") {
		return errors.New("usage: smsgate export billing|mo [-config FILE] -from DATE -to DATE -format csv|xlsx -o FILE [-account A] [-operator O] [-summary]")
	}
	what := args[0]
	fs := newFlagSet("export " + what)
	cfgPath := fs.String("config", "", "config file (postgres.dsn); default $SMSGATE_POSTGRES_DSN")
	from := fs.String("from", "", "start, inclusive: YYYY-MM-DD (midnight UTC) or RFC 3339")
	to := fs.String("to", "", "end, exclusive: YYYY-MM-DD or RFC 3339")
	format := fs.String("format", "csv", "csv or xlsx")
	out := fs.String("o", "", "output file (default stdout for csv)")
	account := fs.String("account", "", "only this account")
	operator := fs.String("operator", "", "only this operator")
	summary := fs.Bool("summary", false, "billing only: the totals per account, operator and currency (and per currency) as CSV, instead of one row per part")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *summary && (what != "billing" || *format != "csv") {
		return errors.New("-summary is for export billing with -format csv (the XLSX export has a summary sheet)")
	}
	f, t, err := web.ParseRange(*from, *to)
	if err != nil {
		return err
	}
	if *format != "csv" && *format != "xlsx" {
		return fmt.Errorf("-format %q: want csv or xlsx", *format)
	}
	if *format == "xlsx" && *out == "" {
		return errors.New("-format xlsx needs -o FILE")
	}
	dsn, err := postgresDSN(*cfgPath)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, dsn, 2)
	if err != nil {
		return err
	}
	defer st.Close()
	var w io.Writer = os.Stdout
	var file *os.File
	if *out != "" {
		if file, err = os.Create(*out); err != nil {
			return err
		}
		w = file
	}
	bar := billing.NewProgress(os.Stderr, billing.IsTerminal(os.Stderr), -1)
	q := store.ExportQuery{From: f, To: t, Account: *account, Operator: *operator}
	var n int64
	switch what {
	case "billing":
		cur, err := st.BillingRows(ctx, q)
		if err != nil {
			return err
		}
		defer cur.Close()
		switch {
		case *summary:
			n, err = billing.WriteBillingSummaryCSV(w, cur)
		case *format == "xlsx":
			n, err = billing.WriteBillingXLSX(w, cur, bar)
		default:
			n, err = billing.WriteBillingCSV(w, cur, bar)
		}
		if err != nil {
			return err
		}
	case "mo":
		cur, err := st.MORows(ctx, q)
		if err != nil {
			return err
		}
		defer cur.Close()
		if *format == "xlsx" {
			n, err = billing.WriteMOXLSX(w, cur, bar)
		} else {
			n, err = billing.WriteMOCSV(w, cur, bar)
		}
		if err != nil {
			return err
		}
	}
	if file != nil {
		if err := file.Close(); err != nil {
			return err
		}
	}
	dest := *out
	if dest == "" {
		dest = "stdout"
	}
	fmt.Fprintf(os.Stderr, "exported %d rows to %s\n", n, dest)
	return nil
}

// postgresDSN is where the offline commands (export, reconcile, import)
// read Postgres: the config file's postgres.dsn (only that section is
// read: no SMSC password is needed), else $SMSGATE_POSTGRES_DSN.
func postgresDSN(cfgPath string) (string, error) {
	if cfgPath != "" {
		pg, err := config.LoadPostgres(cfgPath)
		if err != nil {
			return "", errors.New(config.OneLine(err))
		}
		return pg.DSN, nil
	}
	if dsn := os.Getenv("SMSGATE_POSTGRES_DSN"); dsn != "" {
		return dsn, nil
	}
	return "", errors.New("no database: give -config FILE or set SMSGATE_POSTGRES_DSN")
}
