// Package web serves smsgate's HTTP side: Prometheus metrics, health and
// readiness, the live status page (embedded, no external assets) and the
// token-protected export and summary API.
package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/internal/store"
)

// Options configure the server. Zero values are safe: no tokens means the
// API answers 401 to everyone.
type Options struct {
	Listen          string
	Tokens          []string
	Gatherer        prometheus.Gatherer
	Ready           func(ctx context.Context) error // Kafka, Postgres, ≥1 bind
	Store           *store.Store                    // exports, summary, recent MO; nil → 503
	Live            func() any                      // per-operator live state for the page (JSON-encodable)
	Logger          *zap.Logger
	ShowMessageText bool // recent MO text on the page (off: masked)
	// Control is the operator API (drain/disable/enable, blocklist,
	// holds); nil → 503.
	Control Controller
	// Addr, when set, receives the bound address once listening.
	Addr chan<- string
}

// Server is the HTTP server.
type Server struct {
	o   Options
	mux *http.ServeMux
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
	s.mux.HandleFunc("GET /api/v1/status", s.status)
	s.mux.Handle("GET /api/v1/exports/billing", s.auth(http.HandlerFunc(s.exportBilling)))
	s.mux.Handle("GET /api/v1/exports/mo", s.auth(http.HandlerFunc(s.exportMO)))
	s.mux.Handle("GET /api/v1/billing/summary", s.auth(http.HandlerFunc(s.summary)))
	s.controlRoutes()
	return s
}

// Handler returns the routes with the request size limit applied.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		s.mux.ServeHTTP(w, r)
	})
}

// Run serves until ctx ends, then shuts down within 5 s.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.o.Listen)
	if err != nil {
		return err
	}
	if s.o.Addr != nil {
		s.o.Addr <- ln.Addr().String()
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		IdleTimeout: 60 * time.Second, MaxHeaderBytes: 64 << 10, ErrorLog: zap.NewStdLog(s.o.Logger)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
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

// auth requires "Authorization: Bearer <token>": 401 without, 403 with a
// token that matches none (constant-time comparison against each).
func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || tok == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="smsgate"`)
			http.Error(w, "missing bearer token", http.StatusUnauthorized)
			return
		}
		match := 0
		for _, t := range s.o.Tokens {
			if t != "" {
				match |= subtle.ConstantTimeCompare([]byte(tok), []byte(t))
			}
		}
		if match != 1 {
			http.Error(w, "token not accepted", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}
