package gateway

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the wiring: gauges sampled by housekeeping and the control
// API. Stages register their own. Labels are bounded: operator names,
// fixed words; never message ids.
type metrics struct {
	queueDepth    *prometheus.GaugeVec // operator, state
	dlrTimeouts   prometheus.Counter
	kafkaLag      prometheus.Gauge
	billedParts   *prometheus.GaugeVec // account, operator, currency (this month, sampled from billing_month)
	billedRevenue *prometheus.GaugeVec
	billedCost    *prometheus.GaugeVec
	billedSeries  map[[3]string]bool     // label sets set at the last sample (housekeeping's)
	recovered     *prometheus.CounterVec // as: unknown
	holds         *prometheus.CounterVec // action: released, dropped
	duplicates    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		queueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "smsgate_queue_messages",
			Help: "Messages waiting per operator: queued (in memory or parked, ready), sending (journaled, not resolved), scheduled and held (parked); sampled."}, []string{"operator", "state"}),
		dlrTimeouts: prometheus.NewCounter(prometheus.CounterOpts{Name: "smsgate_dlr_timeouts_total",
			Help: "Message parts expired with dlr_timeout."}),
		kafkaLag: prometheus.NewGauge(prometheus.GaugeOpts{Name: "smsgate_kafka_consumer_lag_records",
			Help: "sms.submit records not yet committed by the consumer group (log end minus committed), sampled."}),
		billedParts: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "smsgate_billing_month_parts",
			Help: "Parts billed this calendar month (UTC) per account, operator and currency, sampled from the ledger aggregates."}, []string{"account", "operator", "currency"}),
		billedRevenue: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "smsgate_billing_month_revenue",
			Help: "Customer price billed this calendar month (UTC) per account, operator and currency, sampled; for display, exact sums are the ledger's."}, []string{"account", "operator", "currency"}),
		billedCost: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "smsgate_billing_month_cost",
			Help: "Operator cost of the parts billed this calendar month (UTC) per account, operator and currency, sampled."}, []string{"account", "operator", "currency"}),
		billedSeries: map[[3]string]bool{},
		recovered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_recovered_claims_total",
			Help: "Messages of dead instances (or this instance's previous life) journaled without outcome, resolved as unknown."}, []string{"as"}),
		holds: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_holds_resolved_total",
			Help: "Held messages released or dropped through the API."}, []string{"action"}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{Name: "smsgate_duplicate_events_total",
			Help: "Duplicate events published (records produced again with an id already accepted)."}),
	}
	if reg != nil {
		reg.MustRegister(m.queueDepth, m.dlrTimeouts, m.kafkaLag, m.billedParts, m.billedRevenue, m.billedCost, m.recovered, m.holds, m.duplicates)
	}
	return m
}
