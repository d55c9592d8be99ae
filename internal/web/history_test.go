package web

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The server keeps 15 minutes of per-operator counters, oldest dropped.
func TestHistory(t *testing.T) {
	reg := prometheus.NewRegistry()
	parts := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_dispatch_parts_total", Help: "x"}, []string{"operator", "result"})
	finals := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_messages_final_total", Help: "x"}, []string{"operator", "status"})
	reg.MustRegister(parts, finals)
	s := New(Options{Gatherer: reg})
	start := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for i := 0; i < historyLen+5; i++ {
		parts.WithLabelValues("magti", "ok").Add(10)
		parts.WithLabelValues("magti", "temporary").Add(1) // not sent
		finals.WithLabelValues("magti", "delivered").Add(4)
		finals.WithLabelValues("magti", "undeliverable").Add(1) // not delivered
		s.sample(start.Add(time.Duration(i) * historyEvery))
	}
	h := s.hist.snapshot()
	if len(h) != historyLen {
		t.Fatalf("%d points, want %d (15 min at 10 s)", len(h), historyLen)
	}
	if !h[0].At.Equal(start.Add(5 * historyEvery)) {
		t.Errorf("oldest point at %v: the first five should have been dropped", h[0].At)
	}
	last := h[len(h)-1].Operators["magti"]
	if want := float64(10 * (historyLen + 5)); last.SentParts != want || last.DeliveredMessages != float64(4*(historyLen+5)) {
		t.Errorf("last point %+v, want %v sent parts", last, want)
	}
}
