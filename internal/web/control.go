package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/smsgate/smsgate/internal/config"
)

// ErrNotFound and ErrBadRequest are wrapped by a Controller to choose the
// answer: 404 (unknown operator, message or action) and 400.
var (
	ErrNotFound   = errors.New("not found")
	ErrBadRequest = errors.New("bad request")
)

// Controller is the gateway's operator API (§6 of the interface).
type Controller interface {
	OperatorAction(ctx context.Context, name, action string) error
	SetBlocked(ctx context.Context, number string, blocked bool) error
	Holds(ctx context.Context) (any, error)
	HoldAction(ctx context.Context, id, action string) error
}

func (s *Server) controlRoutes() {
	s.mux.Handle("POST /api/v1/operators/{name}/{action}", s.auth(config.ScopeControl, s.controlled("operator", func(r *http.Request) error {
		return s.o.Control.OperatorAction(r.Context(), r.PathValue("name"), r.PathValue("action"))
	})))
	s.mux.Handle("PUT /api/v1/blocklist/{number}", s.auth(config.ScopeControl, s.controlled("block", func(r *http.Request) error {
		return s.o.Control.SetBlocked(r.Context(), r.PathValue("number"), true)
	})))
	s.mux.Handle("DELETE /api/v1/blocklist/{number}", s.auth(config.ScopeControl, s.controlled("unblock", func(r *http.Request) error {
		return s.o.Control.SetBlocked(r.Context(), r.PathValue("number"), false)
	})))
	s.mux.Handle("POST /api/v1/holds/{id}/{action}", s.auth(config.ScopeControl, s.controlled("hold", func(r *http.Request) error {
		return s.o.Control.HoldAction(r.Context(), r.PathValue("id"), r.PathValue("action"))
	})))
	s.mux.Handle("GET /api/v1/holds", s.auth(config.ScopeStatus, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.o.Control == nil {
			http.Error(w, "control API unavailable", http.StatusServiceUnavailable)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		holds, err := s.o.Control.Holds(ctx)
		if err != nil {
			s.fail(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(holds)
	})))
}

// controlled runs one action with a deadline, answers 204 on success and
// writes an audit line either way.
func (s *Server) controlled(action string, do func(r *http.Request) error) http.Handler {
	return s.audited(action, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.o.Control == nil {
			http.Error(w, "control API unavailable", http.StatusServiceUnavailable)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		if err := do(r.WithContext(ctx)); err != nil {
			s.fail(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
}

// fail answers an error once, logging only what is ours (5xx).
func (s *Server) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		http.Error(w, err.Error(), http.StatusNotFound)
	case errors.Is(err, ErrBadRequest):
		http.Error(w, err.Error(), http.StatusBadRequest)
	default:
		s.o.Logger.Warn("control API request failed", zap.Error(err))
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}
