package web

import (
	"sync"
	"time"
)

// History of the operators' counters kept by the server, so the page's
// charts are full the moment it opens: one point every historyEvery for
// historySpan, per operator the totals the rates are computed from.
const (
	historyEvery = 10 * time.Second
	historySpan  = 15 * time.Minute
	historyLen   = int(historySpan / historyEvery)
)

type historyPoint struct {
	At        time.Time                  `json:"at"`
	Operators map[string]historyCounters `json:"operators"`
}

type historyCounters struct {
	SentParts         float64 `json:"sent_parts"`
	DeliveredMessages float64 `json:"delivered_messages"`
}

// history is a fixed ring of points; the sampler goroutine writes it, the
// status handler reads a copy.
type history struct {
	mu     sync.Mutex
	points []historyPoint
}

func (h *history) add(p historyPoint) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.points) == historyLen {
		copy(h.points, h.points[1:])
		h.points = h.points[:historyLen-1]
	}
	h.points = append(h.points, p)
}

func (h *history) snapshot() []historyPoint {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]historyPoint{}, h.points...)
}

// sample reads the registry once into a history point.
func (s *Server) sample(now time.Time) {
	mfs, err := s.o.Gatherer.Gather()
	if err != nil {
		return
	}
	p := historyPoint{At: now.UTC(), Operators: map[string]historyCounters{}}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			l := labels(m)
			op := l["operator"]
			if op == "" {
				continue
			}
			c := p.Operators[op]
			switch mf.GetName() {
			case "smsgate_dispatch_parts_total":
				if l["result"] == "ok" {
					c.SentParts += value(m)
				}
			case "smsgate_messages_final_total":
				if l["status"] == "delivered" {
					c.DeliveredMessages += value(m)
				}
			default:
				continue
			}
			p.Operators[op] = c
		}
	}
	s.hist.add(p)
}

// sampleLoop samples until stop is closed.
func (s *Server) sampleLoop(stop <-chan struct{}) {
	s.sample(time.Now())
	t := time.NewTicker(historyEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			s.sample(now)
		}
	}
}
