package gateway

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/router"
)

// withQuality attaches the rolling receipt statistics to t's routes when
// the quality section is on (§6). prev is the running tables (nil at
// start): their statistics carry over a reload unless the window changed.
// The statistics are this instance's own, in memory: they start empty
// after a restart, and in a cluster each instance ranks on the receipts
// it processes.
func withQuality(t *tables, cfg *config.Config, prev *tables) {
	qc := cfg.Quality
	if qc == nil {
		return
	}
	var q *router.Quality
	if prev != nil {
		if old := prev.routes.Quality(); old != nil && old.Window() == qc.Window {
			q = old
		}
	}
	if q == nil {
		q = router.NewQuality(qc.Window)
	}
	t.routes = t.routes.WithQuality(q, qc.MinSamples, qc.Explore)
}

// observeQuality counts the final outcome agg of the current attempt of mp
// (delivered, or undeliverable/expired) for its operator and network, with
// the time from the attempt's first submit to now. A failed attempt that is
// rerouted counts against its route too.
func observeQuality(t *tables, mp *store.MessageParts, agg store.State, now time.Time) {
	q := t.routes.Quality()
	if q == nil || !agg.Final() || mp.Operator == "" {
		return
	}
	var first time.Time
	for _, s := range mp.PartSubmitted {
		if !s.IsZero() && (first.IsZero() || s.Before(first)) {
			first = s
		}
	}
	var latency time.Duration
	if !first.IsZero() {
		latency = now.Sub(first)
	}
	q.Observe(mp.Operator, mp.Network, agg == store.Delivered, latency, now)
}

// RouteQualityLive is one (operator, network) line of the quality figures
// on the status page: final receipts in the rolling window.
type RouteQualityLive struct {
	Network   string  `json:"network"` // "" when the network was unknown
	Delivered int64   `json:"delivered"`
	Failed    int64   `json:"failed"` // undeliverable + expired
	Rate      float64 `json:"delivery_rate"`
	LatencyS  float64 `json:"receipt_latency_seconds"` // mean
	// Judged: at least min_samples receipts, so the rate ranks the route
	// (cost ÷ rate); otherwise its cost alone does.
	Judged  bool    `json:"judged"`
	WindowS float64 `json:"window_seconds"`
}

// qualityLive groups the figures of the current window by operator.
func qualityLive(t *tables, now time.Time) map[string][]RouteQualityLive {
	q := t.routes.Quality()
	if q == nil {
		return nil
	}
	minSamples := t.routes.QualityMinSamples()
	out := map[string][]RouteQualityLive{}
	for _, f := range q.Snapshot(now) {
		out[f.Operator] = append(out[f.Operator], RouteQualityLive{Network: f.Network, Delivered: f.Delivered, Failed: f.Failed,
			Rate: f.Rate, LatencyS: f.Latency.Seconds(), Judged: f.Samples() >= minSamples, WindowS: q.Window().Seconds()})
	}
	return out
}

// qualityCollector exports the quality figures; labels are operator and
// network (configured operators × registry networks, at most
// router.MaxQualityKeys pairs), "unknown" for an unresolved network.
type qualityCollector struct{ g *Gateway }

var (
	qualityReceipts = prometheus.NewDesc("smsgate_route_quality_receipts",
		"Final receipts in the quality window per operator and network, by outcome (delivered, failed = undeliverable + expired).",
		[]string{"operator", "network", "outcome"}, nil)
	qualityRate = prometheus.NewDesc("smsgate_route_delivery_rate",
		"Delivered ÷ final receipts in the quality window per operator and network (absent without receipts).",
		[]string{"operator", "network"}, nil)
	qualityLatency = prometheus.NewDesc("smsgate_route_receipt_latency_seconds",
		"Mean time from submit to the final receipt in the quality window per operator and network (absent without receipts).",
		[]string{"operator", "network"}, nil)
	qualityJudged = prometheus.NewDesc("smsgate_route_quality_judged",
		"1 when the pair has min_samples receipts in the window, so cost ÷ delivery rate ranks it; 0 when cost alone does.",
		[]string{"operator", "network"}, nil)
	qualityDropped = prometheus.NewDesc("smsgate_route_quality_untracked_receipts_total",
		"Receipts not counted for quality because the bound on tracked (operator, network) pairs was reached.", nil, nil)
)

func (c qualityCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- qualityReceipts
	ch <- qualityRate
	ch <- qualityLatency
	ch <- qualityJudged
	ch <- qualityDropped
}

func (c qualityCollector) Collect(ch chan<- prometheus.Metric) {
	t := c.g.tables.Load()
	q := t.routes.Quality()
	if q == nil {
		return
	}
	minSamples := t.routes.QualityMinSamples()
	for _, f := range q.Snapshot(time.Now()) {
		network := f.Network
		if network == "" {
			network = "unknown"
		}
		ch <- prometheus.MustNewConstMetric(qualityReceipts, prometheus.GaugeValue, float64(f.Delivered), f.Operator, network, "delivered")
		ch <- prometheus.MustNewConstMetric(qualityReceipts, prometheus.GaugeValue, float64(f.Failed), f.Operator, network, "failed")
		judged := 0.0
		if f.Samples() >= minSamples {
			judged = 1
		}
		ch <- prometheus.MustNewConstMetric(qualityJudged, prometheus.GaugeValue, judged, f.Operator, network)
		if f.Samples() > 0 {
			ch <- prometheus.MustNewConstMetric(qualityRate, prometheus.GaugeValue, f.Rate, f.Operator, network)
			ch <- prometheus.MustNewConstMetric(qualityLatency, prometheus.GaugeValue, f.Latency.Seconds(), f.Operator, network)
		}
	}
	ch <- prometheus.MustNewConstMetric(qualityDropped, prometheus.CounterValue, float64(q.Dropped()))
}
