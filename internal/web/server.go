// Package web serves smsgate's HTTP side: Prometheus metrics, health and
// readiness, the live status page (embedded, no external assets) and the
// token-protected export and summary API.
package web

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/store"
)

// Options configure the server. Zero values are safe: no tokens means the
// API answers 401 to everyone.
type Options struct {
	Listen string
	// Tokens are the accepted bearer tokens with their scopes.
	Tokens []config.Token
	// TLSCert and TLSKey (PEM files), both set: HTTPS only, TLS 1.2+;
	// ReloadTLS re-reads them.
	TLSCert, TLSKey string
	Gatherer        prometheus.Gatherer
	Ready           func(ctx context.Context) error // Kafka, Postgres, ≥1 bind
	Store           *store.Store                    // exports, summary, recent MO; nil → 503
	Live            func() any                      // per-operator live state for the page (JSON-encodable)
	Logger          *zap.Logger
	ShowMessageText bool // recent MO text on the page (off: masked)
	// Control is the operator API (drain/disable/enable, blocklist,
	// holds); nil → 503.
	Control Controller
	// Trace returns a message's journey (JSON-encodable); an error
	// wrapping ErrNotFound answers 404. Nil → 503.
	Trace func(ctx context.Context, id string) (any, error)
	// Accounts lists the configured accounts, sorted by name (the
	// accounts API and the status page's table); nil → 503.
	Accounts func() []AccountInfo
	// KickUnpark, when set, is called after a credit released messages
	// held for insufficient funds, so they are taken again at once.
	KickUnpark func()
	// Addr, when set, receives the bound address once listening.
	Addr chan<- string
}

// Server is the HTTP server.
type Server struct {
	o    Options
	mux  *http.ServeMux
	cert atomic.Pointer[tls.Certificate]
	hist history // the last 15 minutes of counters, sampled while Run runs
}

// New builds the routes.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Gatherer == nil {
		o.Gatherer = prometheus.NewRegistry()
	}
	s := &Server{o: o, mux: http.NewServeMux()}
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{ErrorLog: zap.NewStdLog(o.Logger)}))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.HandleFunc("GET /{$}", s.page)
	s.mux.HandleFunc("GET /static/{file}", s.static)
	s.mux.HandleFunc("GET /api/v1/status", s.status) // scopes widen what it shows
	s.mux.Handle("GET /api/v1/exports/billing", s.auth(config.ScopeFinance, s.audited("export billing", http.HandlerFunc(s.exportBilling))))
	s.mux.Handle("GET /api/v1/exports/mo", s.auth(config.ScopeFinance, s.audited("export mo", http.HandlerFunc(s.exportMO))))
	s.mux.Handle("GET /api/v1/billing/summary", s.auth(config.ScopeFinance, http.HandlerFunc(s.summary)))
	s.controlRoutes()
	s.accountRoutes()
	s.mux.Handle("GET /api/v1/messages/{id}", s.auth(config.ScopeStatus, http.HandlerFunc(s.trace)))
	s.mux.Handle("GET /api/v1/mo/{id}", s.auth(config.ScopeStatus, http.HandlerFunc(s.moByID), config.ScopeFinance))
	s.mux.Handle("GET /api/v1/mo", s.auth(config.ScopeStatus, http.HandlerFunc(s.moSearch), config.ScopeFinance))
	return s
}

// Handler returns the routes with the request size limit applied.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		s.mux.ServeHTTP(w, r)
	})
}

func (s *Server) trace(w http.ResponseWriter, r *http.Request) {
	if s.o.Trace == nil {
		http.Error(w, "trace unavailable", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	doc, err := s.o.Trace(ctx, r.PathValue("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, doc)
}

// ReloadTLS re-reads the certificate and key; the old pair stays in use if
// the new one does not load. A no-op without TLS.
func (s *Server) ReloadTLS() error {
	if s.o.TLSCert == "" {
		return nil
	}
	c, err := config.LoadKeyPair(s.o.TLSCert, s.o.TLSKey)
	if err != nil {
		return err
	}
	s.cert.Store(c)
	return nil
}

// Run serves until ctx ends, then shuts down within 5 s.
func (s *Server) Run(ctx context.Context) error {
	if err := s.ReloadTLS(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.o.Listen)
	if err != nil {
		return err
	}
	if s.o.TLSCert != "" {
		ln = tls.NewListener(ln, &tls.Config{MinVersion: tls.VersionTLS12,
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return s.cert.Load(), nil }})
	}
	if s.o.Addr != nil {
		s.o.Addr <- ln.Addr().String()
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		IdleTimeout: 60 * time.Second, MaxHeaderBytes: 64 << 10, ErrorLog: zap.NewStdLog(s.o.Logger)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() { defer close(sampled); s.sampleLoop(stopSampling) }()
	defer func() { close(stopSampling); <-sampled }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.o.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := s.o.Ready(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	_, _ = w.Write([]byte("ready\n"))
}

type tokenKey struct{}

// caller finds the request's token: ok false when no Authorization header
// was sent; a header that names no known token is an error (answered 403:
// a wrong token never falls back to anonymous).
func (s *Server) caller(r *http.Request) (tok config.Token, ok bool, err error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return tok, false, nil
	}
	// RFC 7235: the scheme name is case-insensitive.
	scheme, secret, _ := strings.Cut(strings.TrimSpace(h), " ")
	secret = strings.TrimSpace(secret)
	if !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return tok, false, nil
	}
	found := -1
	for i, t := range s.o.Tokens {
		// Every token is compared, in constant time, whatever matches.
		if t.Token != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(t.Token)) == 1 {
			found = i
		}
	}
	if found < 0 {
		return tok, true, errors.New("token not accepted")
	}
	return s.o.Tokens[found], true, nil
}

// auth requires "Authorization: Bearer <token>" with scope (or one of
// more): 401 without a token, 403 with one that is unknown or lacks it.
func (s *Server) auth(scope string, next http.Handler, orScopes ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, sent, err := s.caller(r)
		switch {
		case !sent:
			w.Header().Set("WWW-Authenticate", `Bearer realm="smsgate"`)
			http.Error(w, "missing bearer token", http.StatusUnauthorized)
			return
		case err != nil:
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		case !tok.Has(scope) && !slices.ContainsFunc(orScopes, tok.Has):
			http.Error(w, "this token lacks the "+strings.Join(append([]string{scope}, orScopes...), " or ")+" scope", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, tok.Name)))
	})
}

// audited logs the action, its target, the token's name and the answer's
// status once the handler has run.
func (s *Server) audited(action string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		name, _ := r.Context().Value(tokenKey{}).(string)
		target := r.URL.Path
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		s.o.Logger.Info("audit", zap.String("token", name), zap.String("action", action),
			zap.String("target", safeLogText(target)), zap.Int("status", rec.code), zap.Bool("ok", rec.code < 300), zap.String("remote", r.RemoteAddr))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code    int
	written bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.written {
		r.code, r.written = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.written = true
	return r.ResponseWriter.Write(b)
}

// Flush keeps streamed exports streaming.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// safeLogText bounds a request-given string and makes it printable: a log
// line must not be forged or flooded from outside.
func safeLogText(s string) string {
	const limit = 512
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	return strings.ToValidUTF8(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s), "?")
}
