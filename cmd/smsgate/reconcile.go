package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/internal/web"
)

func init() {
	register("reconcile", "compare an operator's CDR/invoice CSV with the ledger", runReconcile)
}

func runReconcile(ctx context.Context, args []string) error {
	fs := newFlagSet("reconcile")
	cfgPath := fs.String("config", "", "config file (postgres.dsn); default $SMSGATE_POSTGRES_DSN")
	operator := fs.String("operator", "", "operator name (required)")
	cdr := fs.String("cdr", "", "the operator's CDR CSV file (required)")
	from := fs.String("from", "", "period start (YYYY-MM-DD or RFC 3339)")
	to := fs.String("to", "", "period end, exclusive")
	colID := fs.String("col-id", "message_id", "CDR column with the SMSC message id")
	colDest := fs.String("col-dest", "", "CDR column with the destination (optional)")
	colTime := fs.String("col-time", "", "CDR column with the timestamp (optional)")
	colParts := fs.String("col-parts", "", "CDR column with the part count (optional)")
	colAmount := fs.String("col-amount", "", "CDR column with the amount (optional; compared when given)")
	layout := fs.String("time-layout", "", "Go time layout of the timestamp column (default RFC 3339)")
	out := fs.String("o", "", "also write the report as CSV to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *operator == "" || *cdr == "" {
		return errors.New("-operator and -cdr are required")
	}
	f, t, err := web.ParseRange(*from, *to)
	if err != nil {
		return err
	}
	dsn, err := postgresDSN(*cfgPath)
	if err != nil {
		return err
	}
	file, err := os.Open(*cdr)
	if err != nil {
		return err
	}
	defer file.Close()
	theirs, err := billing.NewCDRReader(file, billing.CDRMapping{SMSCID: *colID, Destination: *colDest, Timestamp: *colTime,
		Parts: *colParts, Amount: *colAmount, TimeLayout: *layout})
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, dsn, 2)
	if err != nil {
		return err
	}
	defer st.Close()
	ours, err := st.OurParts(ctx, store.ExportQuery{From: f, To: t, Operator: *operator})
	if err != nil {
		return err
	}
	defer ours.Close()
	rep, err := billing.Reconcile(ours, theirs, strings.TrimSpace(*colAmount) != "")
	if err != nil {
		return err
	}
	if err := rep.WriteTable(os.Stdout); err != nil {
		return err
	}
	if *out != "" {
		w, err := os.Create(*out)
		if err != nil {
			return err
		}
		if err := rep.WriteCSV(w); err != nil {
			w.Close()
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "report written to %s\n", *out)
	}
	return nil
}
