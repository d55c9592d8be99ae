package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/internal/store"
)

// ParseRange reads an export's -from/-to (or from=/to=): a date
// (YYYY-MM-DD, midnight UTC) or an RFC 3339 time; from inclusive, to
// exclusive; to must be after from. Shared by the CLI and the API.
func ParseRange(from, to string) (time.Time, time.Time, error) {
	f, err := parseWhen(from)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("from: %w", err)
	}
	t, err := parseWhen(to)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("to: %w", err)
	}
	if !t.After(f) {
		return time.Time{}, time.Time{}, errors.New("to must be after from")
	}
	return f, t, nil
}

func parseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("required (YYYY-MM-DD or RFC 3339)")
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither YYYY-MM-DD nor RFC 3339", s)
	}
	return t, nil
}

// exportRequest is the parsed query of an export call.
type exportRequest struct {
	q      store.ExportQuery
	format string
}

func parseExport(r *http.Request) (exportRequest, error) {
	v := r.URL.Query()
	from, to, err := ParseRange(v.Get("from"), v.Get("to"))
	if err != nil {
		return exportRequest{}, err
	}
	format := strings.ToLower(v.Get("format"))
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "xlsx" {
		return exportRequest{}, fmt.Errorf("format %q: want csv or xlsx", format)
	}
	return exportRequest{q: store.ExportQuery{From: from, To: to, Account: v.Get("account"), Operator: v.Get("operator")}, format: format}, nil
}

func setDownload(w http.ResponseWriter, name, format string) {
	if format == "xlsx" {
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	} else {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, name, format))
}

// exportStream is an open export: a cursor and how to write it.
type exportStream struct {
	write func(w io.Writer, format string) (int64, error)
	close func() error
}

func (s *Server) exportBilling(w http.ResponseWriter, r *http.Request) {
	s.export(w, r, "billing", func(ctx context.Context, q store.ExportQuery) (exportStream, error) {
		cur, err := s.o.Store.BillingRows(ctx, q)
		if err != nil {
			return exportStream{}, err
		}
		return exportStream{close: cur.Close, write: func(w io.Writer, format string) (int64, error) {
			if format == "xlsx" {
				return billing.WriteBillingXLSX(w, cur, nil)
			}
			return billing.WriteBillingCSV(w, cur, nil)
		}}, nil
	})
}

func (s *Server) exportMO(w http.ResponseWriter, r *http.Request) {
	s.export(w, r, "mo", func(ctx context.Context, q store.ExportQuery) (exportStream, error) {
		cur, err := s.o.Store.MORows(ctx, q)
		if err != nil {
			return exportStream{}, err
		}
		return exportStream{close: cur.Close, write: func(w io.Writer, format string) (int64, error) {
			if format == "xlsx" {
				return billing.WriteMOXLSX(w, cur, nil)
			}
			return billing.WriteMOCSV(w, cur, nil)
		}}, nil
	})
}

// export serves one export: parameters, cursor, download headers, stream.
func (s *Server) export(w http.ResponseWriter, r *http.Request, name string,
	open func(context.Context, store.ExportQuery) (exportStream, error)) {
	if s.o.Store == nil {
		http.Error(w, "exports need Postgres", http.StatusServiceUnavailable)
		return
	}
	req, err := parseExport(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	st, err := open(r.Context(), req.q)
	if err != nil {
		s.o.Logger.Warn("export failed", zap.String("export", name), zap.Error(err))
		http.Error(w, "export failed", http.StatusInternalServerError)
		return
	}
	defer st.close()
	setDownload(w, name, req.format)
	if _, err := st.write(w, req.format); err != nil {
		// Headers are gone: the truncated body is the signal.
		s.o.Logger.Warn("export interrupted", zap.String("export", name), zap.Error(err))
	}
}

func (s *Server) summary(w http.ResponseWriter, r *http.Request) {
	if s.o.Store == nil {
		http.Error(w, "summary needs Postgres", http.StatusServiceUnavailable)
		return
	}
	month := r.URL.Query().Get("month")
	if month == "" {
		month = time.Now().UTC().Format("2006-01")
	}
	if _, err := time.Parse("2006-01", month); err != nil {
		http.Error(w, "month: want YYYY-MM", http.StatusBadRequest)
		return
	}
	rows, err := s.o.Store.BillingSummary(r.Context(), month)
	if err != nil {
		http.Error(w, "summary failed", http.StatusInternalServerError)
		return
	}
	accounts, err := s.monthAccounts(r.Context(), month, rows)
	if err != nil {
		s.o.Logger.Warn("summary of credits failed", zap.Error(err))
		http.Error(w, "summary failed", http.StatusInternalServerError)
		return
	}
	writeJSON(w, map[string]any{"month": month, "rows": nonNil(rows), "accounts": accounts})
}

// accountMonth is one account's money of a month in one currency: its
// credits (how many, their sum), what it was billed, and the change of
// its balance (credits minus billed prices).
type accountMonth struct {
	Account       string         `json:"account"`
	Currency      string         `json:"currency"`
	CreditCount   int64          `json:"credit_count"`
	Credits       billing.Amount `json:"credits"`
	Billed        billing.Amount `json:"billed"`
	BalanceChange billing.Amount `json:"balance_change"`
}

// monthAccounts totals month ("2026-11") per account and currency: the
// billed prices of the month aggregates and the credits made in the
// month, taken in the account's time zone as for its billed parts (UTC
// for an account no longer configured).
func (s *Server) monthAccounts(ctx context.Context, month string, billed []store.SummaryRow) ([]accountMonth, error) {
	start, err := time.Parse("2006-01", month)
	if err != nil {
		return nil, err
	}
	locs := map[string]*time.Location{}
	if s.o.Accounts != nil {
		for _, a := range s.o.Accounts() {
			if a.Loc != nil {
				locs[a.Name] = a.Loc
			}
		}
	}
	type key struct{ account, currency string }
	by := map[key]*accountMonth{}
	row := func(account, currency string) *accountMonth {
		k := key{account, currency}
		t := by[k]
		if t == nil {
			t = &accountMonth{Account: account, Currency: currency}
			by[k] = t
		}
		return t
	}
	for _, b := range billed {
		row(b.Account, b.Currency).Billed += b.Revenue
	}
	// Every zone's month lies within a day of the UTC one.
	credits, err := store.CreditsBetween(ctx, s.o.Store.Pool, start.Add(-24*time.Hour), start.AddDate(0, 1, 1))
	if err != nil {
		return nil, err
	}
	for _, c := range credits {
		loc := locs[c.Account]
		if loc == nil {
			loc = time.UTC
		}
		if c.CreatedAt.In(loc).Format("2006-01") != month {
			continue
		}
		t := row(c.Account, c.Currency)
		t.CreditCount++
		t.Credits += c.Amount
	}
	out := make([]accountMonth, 0, len(by))
	for _, t := range by {
		t.BalanceChange = t.Credits - t.Billed
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Account != out[j].Account {
			return out[i].Account < out[j].Account
		}
		return out[i].Currency < out[j].Currency
	})
	return out, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
