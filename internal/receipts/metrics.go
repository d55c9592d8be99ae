package receipts

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	receipts *prometheus.CounterVec // operator, result: matched, early, orphan, late_matched, unparsable
	latency  *prometheus.HistogramVec
	mo       *prometheus.CounterVec // operator, kind: single, multipart, incomplete, redelivered, undecodable
	optouts  *prometheus.CounterVec // action
	finals   *prometheus.CounterVec // operator, status
	reroutes *prometheus.CounterVec // operator, state
	supplier *prometheus.CounterVec // operator, reason
	refused  *prometheus.CounterVec // operator: deliver_sm answered throttled (queue full)
	poison   *prometheus.CounterVec // operator
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		receipts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_receipts_total",
			Help: "Delivery receipts by correlation result."}, []string{"operator", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "smsgate_receipt_latency_seconds",
			Help: "Time from submit to the receipt.", Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 14)}, []string{"operator"}),
		mo: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_mo_messages_total",
			Help: "Mobile-originated messages by kind (redelivered: the same MO again, not published)."}, []string{"operator", "kind"}),
		optouts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_optout_changes_total",
			Help: "Opt-out changes from MO keywords."}, []string{"action"}),
		finals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_messages_final_total",
			Help: "Messages reaching a final state after submission (delivered, undeliverable, expired)."}, []string{"operator", "status"}),
		reroutes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_reroutes_total",
			Help: "Messages sent again on the next route after a failed receipt (reroute.on)."}, []string{"operator", "state"}),
		supplier: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_supplier_errors_total",
			Help: "Failed receipts with a supplier error code, by the error_map reason it mapped to (\"unmapped\" when none); operators with an error_map only."}, []string{"operator", "reason"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_inbound_refused_total",
			Help: "deliver_sm answered ESME_RTHROTTLED because the inbound queue was full (the SMSC delivers them again)."}, []string{"operator"}),
		poison: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_inbound_poison_total",
			Help: "deliver_sm whose data Postgres refused, answered with a permanent error."}, []string{"operator"}),
	}
	if reg != nil {
		reg.MustRegister(m.receipts, m.latency, m.mo, m.optouts, m.finals, m.reroutes, m.supplier, m.refused, m.poison)
	}
	return m
}
