package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/store"
)

// AccountInfo is one configured account as the accounts API and the
// status page show it: its rules from the running configuration and what
// this instance measured.
type AccountInfo struct {
	Name           string
	Billing        string // prepaid or postpaid
	Currency       string // the balance's
	CreditLimit    billing.Amount
	LowBalance     billing.Amount
	OnInsufficient string // reject or hold
	TPS            int
	QuotaDay       int64
	QuotaMonth     int64
	Loc            *time.Location // the account's day and month
	// Rate is the parts per second accepted or unknown at the SMSC for
	// this account on this instance over the last minute.
	Rate float64
	// Held is the account's messages held for insufficient funds, as last
	// sampled (the status page's figure; the API counts afresh).
	Held int64
	// PartPrice (its lowest price per part) and Floor (the lowest balance
	// it may reach) bound the held messages a credit releases.
	PartPrice, Floor billing.Amount
}

// Limits on a credit request.
const (
	creditMaxBody      = 4 << 10
	creditMaxReference = 200
	creditMaxKey       = 128
	// creditMaxAmount bounds one credit (a billion units) so that no sum
	// of credits can overflow the micros.
	creditMaxAmount = billing.Amount(1_000_000_000 * billing.MicrosPerUnit)
)

func (s *Server) accountRoutes() {
	s.mux.Handle("GET /api/v1/accounts", s.auth(config.ScopeFinance, http.HandlerFunc(s.accountList)))
	s.mux.Handle("GET /api/v1/accounts/{name}", s.auth(config.ScopeFinance, http.HandlerFunc(s.accountOne)))
	s.mux.Handle("POST /api/v1/accounts/{name}/credit", s.auth(config.ScopeFinance, s.audited("credit", http.HandlerFunc(s.credit))))
}

// accountQuota is an account's quota: limits (0 = none) and the parts
// counted in the current day and month of its time zone.
type accountQuota struct {
	Day       int64 `json:"day"`
	Month     int64 `json:"month"`
	DayUsed   int64 `json:"day_used"`
	MonthUsed int64 `json:"month_used"`
}

// accountView is GET /api/v1/accounts/{name}. Amounts are decimal strings.
type accountView struct {
	Name           string         `json:"name"`
	Billing        string         `json:"billing"`
	Balance        billing.Amount `json:"balance"`
	Currency       string         `json:"currency"`
	CreditLimit    billing.Amount `json:"credit_limit"`
	Reserved       billing.Amount `json:"reserved"`
	Awaiting       billing.Amount `json:"awaiting"`
	Available      billing.Amount `json:"available"`
	LowBalance     billing.Amount `json:"low_balance"`
	OnInsufficient string         `json:"on_insufficient"`
	Held           int64          `json:"held"`
	TPS            int            `json:"tps"`
	Quota          accountQuota   `json:"quota"`
	Rate           float64        `json:"rate"`
}

// quotaUsed is what the funds row counted in the account's current day
// and month (a counter of an earlier day or month counts nothing now).
func quotaUsed(a *AccountInfo, f *store.Funds, now time.Time) accountQuota {
	q := accountQuota{Day: a.QuotaDay, Month: a.QuotaMonth}
	q.DayUsed, q.MonthUsed = f.Used(now, a.Loc)
	return q
}

func (s *Server) accountView(a *AccountInfo, f *store.Funds, held int64, now time.Time) accountView {
	return accountView{Name: a.Name, Billing: a.Billing, Balance: f.Balance(), Currency: a.Currency, CreditLimit: a.CreditLimit,
		Reserved: f.Reserved, Awaiting: f.Awaiting, Available: f.Available(), LowBalance: a.LowBalance,
		OnInsufficient: a.OnInsufficient, Held: held, TPS: a.TPS, Quota: quotaUsed(a, f, now), Rate: a.Rate}
}

// findAccount returns the configured account called name (nil: unknown).
func (s *Server) findAccount(name string) *AccountInfo {
	if s.o.Accounts == nil {
		return nil
	}
	for _, a := range s.o.Accounts() {
		if a.Name == name {
			return &a
		}
	}
	return nil
}

func (s *Server) accountsReady(w http.ResponseWriter) bool {
	if s.o.Store == nil || s.o.Accounts == nil {
		http.Error(w, "accounts need Postgres", http.StatusServiceUnavailable)
		return false
	}
	return true
}

// accountList answers GET /api/v1/accounts: every configured account.
func (s *Server) accountList(w http.ResponseWriter, r *http.Request) {
	if !s.accountsReady(w) {
		return
	}
	views, err := s.accountViews(r.Context(), s.o.Accounts())
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, views)
}

// accountOne answers GET /api/v1/accounts/{name}.
func (s *Server) accountOne(w http.ResponseWriter, r *http.Request) {
	if !s.accountsReady(w) {
		return
	}
	a := s.findAccount(r.PathValue("name"))
	if a == nil {
		http.Error(w, "no such account", http.StatusNotFound)
		return
	}
	views, err := s.accountViews(r.Context(), []AccountInfo{*a})
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, views[0])
}

// accountViews reads the funds rows and the held-for-funds counts once
// and returns the accounts' views in their order.
func (s *Server) accountViews(ctx context.Context, accts []AccountInfo) ([]accountView, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	fundsOf, err := s.funds(ctx)
	if err != nil {
		return nil, err
	}
	held, err := store.HeldShort(ctx, s.o.Store.Pool)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := make([]accountView, 0, len(accts))
	for i := range accts {
		a := &accts[i]
		out = append(out, s.accountView(a, fundsOf(a.Name), held[a.Name], now))
	}
	return out, nil
}

// funds reads every account's funds row once and returns a lookup that
// gives an account without a row its zero row.
func (s *Server) funds(ctx context.Context) (func(account string) *store.Funds, error) {
	all, err := store.AllFunds(ctx, s.o.Store.Pool)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]*store.Funds, len(all))
	for i := range all {
		byName[all[i].Account] = &all[i]
	}
	return func(account string) *store.Funds {
		if f := byName[account]; f != nil {
			return f
		}
		return &store.Funds{Account: account}
	}, nil
}

// creditRequest is the body of POST /api/v1/accounts/{name}/credit.
type creditRequest struct {
	Amount         *string `json:"amount"`
	Currency       *string `json:"currency"`
	Reference      *string `json:"reference"`
	IdempotencyKey *string `json:"idempotency_key"`
}

// creditAnswer is the answer to a credit, the same for its replays.
type creditAnswer struct {
	ID        int64          `json:"id"`
	Balance   billing.Amount `json:"balance"`
	Currency  string         `json:"currency"`
	CreatedAt time.Time      `json:"created_at"`
}

// parseCredit reads a credit request strictly: one JSON object of the
// four fields, nothing unknown or after it, every string valid UTF-8
// without control characters.
func parseCredit(body []byte, currency string) (store.Credit, error) {
	var c store.Credit
	// encoding/json would turn invalid UTF-8 into U+FFFD silently: refuse
	// it instead, so what is stored is what was sent.
	if !utf8.Valid(body) {
		return c, errors.New("the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req creditRequest
	if err := dec.Decode(&req); err != nil {
		return c, fmt.Errorf("the body is not a credit object: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return c, errors.New("data after the JSON object")
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"amount", req.Amount}, {"currency", req.Currency}, {"reference", req.Reference}, {"idempotency_key", req.IdempotencyKey}} {
		if f.v == nil {
			return c, fmt.Errorf("%s is required", f.name)
		}
	}
	raw := *req.Amount
	amount, err := billing.ParseAmount(raw)
	if err != nil || raw != strings.TrimSpace(raw) || strings.HasPrefix(raw, "+") {
		return c, errors.New(`amount: a decimal string with at most 6 fractional digits, e.g. "10.50" or "-0.25"`)
	}
	if amount == 0 {
		return c, errors.New("amount: must not be zero")
	}
	if amount > creditMaxAmount || amount < -creditMaxAmount {
		return c, fmt.Errorf("amount: at most %s in either direction", creditMaxAmount)
	}
	if *req.Currency != currency {
		return c, fmt.Errorf("currency: the account's balance is in %s", currency)
	}
	if err := cleanText("reference", *req.Reference, creditMaxReference); err != nil {
		return c, err
	}
	if err := cleanText("idempotency_key", *req.IdempotencyKey, creditMaxKey); err != nil {
		return c, err
	}
	return store.Credit{Amount: amount, Currency: currency, Reference: *req.Reference, IdempotencyKey: *req.IdempotencyKey}, nil
}

// cleanText accepts 1–limit characters without control characters (C0,
// DEL, C1), line or paragraph separators or bidirectional controls: text
// that could forge a log line or reorder what a reader sees.
func cleanText(field, v string, limit int) error {
	n := utf8.RuneCountInString(v)
	if n == 0 || n > limit {
		return fmt.Errorf("%s: 1–%d characters", field, limit)
	}
	for _, r := range v {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r) || r == utf8.RuneError {
			return fmt.Errorf("%s: control, separator or replacement characters are not allowed (U+%04X)", field, r)
		}
	}
	return nil
}

// jsonProblem says what was wrong with a body without echoing it.
func jsonProblem(err error) string {
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &ute) && ute.Field == "":
		return "the body must be one JSON object"
	case errors.As(err, &ute):
		return ute.Field + " must be a string"
	case errors.As(err, &se):
		return fmt.Sprintf("JSON syntax error at byte %d", se.Offset)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "empty or truncated"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + safeLogText(strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return "invalid JSON"
}

// credit answers POST /api/v1/accounts/{name}/credit: 201 with the new
// balance, 200 with the first answer when the idempotency key was used
// for the same credit before, 409 when it was used for another one.
func (s *Server) credit(w http.ResponseWriter, r *http.Request) {
	if !s.accountsReady(w) {
		return
	}
	a := s.findAccount(r.PathValue("name"))
	if a == nil {
		http.Error(w, "no such account", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, creditMaxBody))
	if err != nil {
		http.Error(w, fmt.Sprintf("the body is over %d bytes or unreadable", creditMaxBody), http.StatusBadRequest)
		return
	}
	c, err := parseCredit(body, a.Currency)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.Account, c.PartPrice, c.Floor = a.Name, a.PartPrice, a.Floor
	c.TokenName, _ = r.Context().Value(tokenKey{}).(string)
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	res, released, err := s.o.Store.ApplyCredit(ctx, c)
	if errors.Is(err, store.ErrIdempotencyConflict) {
		http.Error(w, "idempotency_key was already used for a credit with another amount, currency or reference", http.StatusConflict)
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	s.o.Logger.Info("credit", zap.String("token", c.TokenName), zap.String("account", a.Name), zap.String("amount", c.Amount.String()),
		zap.String("currency", c.Currency), zap.String("reference", safeLogText(c.Reference)), zap.String("idempotency_key", safeLogText(c.IdempotencyKey)),
		zap.Int64("credit_id", res.ID), zap.String("balance", res.Balance.String()), zap.Bool("replay", res.Replay), zap.Int64("released_holds", released))
	if released > 0 && s.o.KickUnpark != nil {
		s.o.KickUnpark()
	}
	code := http.StatusCreated
	if res.Replay {
		code = http.StatusOK
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(creditAnswer{ID: res.ID, Balance: res.Balance, Currency: res.Currency, CreatedAt: res.CreatedAt.UTC()})
}
