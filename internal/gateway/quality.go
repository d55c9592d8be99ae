package gateway

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smsgate/smsgate/internal/policy"
)

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
func qualityLive(t *policy.Tables, now time.Time) map[string][]RouteQualityLive {
	q := t.Routes.Quality()
	if q == nil {
		return nil
	}
	minSamples := t.Routes.QualityMinSamples()
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
	q := t.Routes.Quality()
	if q == nil {
		return
	}
	minSamples := t.Routes.QualityMinSamples()
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

// stallCollector exports each stage's progress: stalled (work waiting and
// no progress for StallAfter) and seconds since it last advanced.
type stallCollector struct{ g *Gateway }

var (
	stageStalled = prometheus.NewDesc("smsgate_stage_stalled",
		"1 while a pipeline stage has work waiting and has made no progress for the stall threshold (then /readyz is not ready).", []string{"stage"}, nil)
	stageSince = prometheus.NewDesc("smsgate_stage_last_progress_seconds",
		"Seconds since a pipeline stage last made progress (or had nothing to do).", []string{"stage"}, nil)
)

func (c stallCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- stageStalled
	ch <- stageSince
}

func (c stallCollector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	for _, s := range c.g.health.All() {
		stalled, last := s.Stalled(c.g.opts.StallAfter, now)
		v := 0.0
		if stalled {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(stageStalled, prometheus.GaugeValue, v, s.Name)
		ch <- prometheus.MustNewConstMetric(stageSince, prometheus.GaugeValue, now.Sub(last).Seconds(), s.Name)
	}
}

// limitsCollector reports each operator's limits next to its use, so a
// dashboard can show TPS against the cap and the window's fill in %.
type limitsCollector struct{ g *Gateway }

var (
	opTPSLimit = prometheus.NewDesc("smsgate_operator_tps_limit",
		"This instance's share of the operator's TPS cap (parts per second); the cluster's shares add up to operators[].tps.", []string{"operator"}, nil)
	opTPSRate = prometheus.NewDesc("smsgate_operator_tps_allowed",
		"The rate the TPS gate allows now: the limit, or less while it backs off after ESME_RTHROTTLED.", []string{"operator"}, nil)
	opWindowSize = prometheus.NewDesc("smsgate_operator_window_size",
		"Outstanding submit_sm the operator's bound binds allow here (binds up × window); smsgate_smpp_window_inflight is the use.", []string{"operator"}, nil)
)

func (c limitsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- opTPSLimit
	ch <- opTPSRate
	ch <- opWindowSize
}

func (c limitsCollector) Collect(ch chan<- prometheus.Metric) {
	for name, p := range c.g.pools {
		st := p.Stats()
		ch <- prometheus.MustNewConstMetric(opTPSLimit, prometheus.GaugeValue, st.TPSLimit, name)
		ch <- prometheus.MustNewConstMetric(opTPSRate, prometheus.GaugeValue, st.TPSRate, name)
		ch <- prometheus.MustNewConstMetric(opWindowSize, prometheus.GaugeValue, float64(st.WindowCap), name)
	}
}
