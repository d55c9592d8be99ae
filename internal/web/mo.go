package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/internal/store"
)

type moView struct {
	ID         string    `json:"id"`
	ReceivedAt time.Time `json:"received_at"`
	Operator   string    `json:"operator"`
	From       string    `json:"from"`
	To         string    `json:"to"`
	Keyword    string    `json:"keyword"`
	Text       string    `json:"text"`
	Parts      int       `json:"parts"`
}

// view shows an MO to an API caller: the subscriber's number masked
// unless the caller searched by it (it knows it already), the text only
// with http.show_message_text.
func (s *Server) view(m billing.MORow, knownNumber string) moView {
	v := moView{ID: m.ID, ReceivedAt: m.ReceivedAt.UTC(), Operator: m.Operator, From: maskNumber(m.From), To: m.To,
		Keyword: m.Keyword, Text: "•••", Parts: m.Parts}
	if knownNumber != "" && m.From == knownNumber {
		v.From = m.From
	}
	if s.o.ShowMessageText {
		v.Text = m.Text
	}
	return v
}

// moByID answers GET /api/v1/mo/{id}.
func (s *Server) moByID(w http.ResponseWriter, r *http.Request) {
	if s.o.Store == nil {
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	m, err := s.o.Store.FindMO(ctx, r.PathValue("id"))
	if errors.Is(err, store.ErrNoMessage) {
		http.Error(w, "no MO with this id", http.StatusNotFound)
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, s.view(*m, ""))
}

// moSearch answers GET /api/v1/mo?number=&from=&to=[&limit=]: the MO a
// number sent or received in [from, to), newest first.
func (s *Server) moSearch(w http.ResponseWriter, r *http.Request) {
	if s.o.Store == nil {
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	q := r.URL.Query()
	number := q.Get("number")
	if number == "" || len(number) > 32 {
		http.Error(w, "number: required, at most 32 characters", http.StatusBadRequest)
		return
	}
	from, to, err := ParseRange(q.Get("from"), q.Get("to"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if to.Sub(from) > 92*24*time.Hour {
		http.Error(w, "the range spans more than 92 days", http.StatusBadRequest)
		return
	}
	limit := 100
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			http.Error(w, fmt.Sprintf("limit %q: 1-1000", l), http.StatusBadRequest)
			return
		}
		limit = n
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	rows, err := s.o.Store.SearchMO(ctx, number, from, to, limit)
	if err != nil {
		s.fail(w, err)
		return
	}
	out := make([]moView, len(rows))
	for i, m := range rows {
		out[i] = s.view(m, number)
	}
	writeJSON(w, out)
}
