package gateway

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the pipeline. Labels are bounded: operator names, fixed
// outcome words; never message ids.
type metrics struct {
	ingested         *prometheus.CounterVec // result: accepted, rejected, invalid, duplicate, replayed
	ingestRetries    prometheus.Counter
	consumerRestarts prometheus.Counter
	dlq              prometheus.Counter
	submits          *prometheus.CounterVec // operator, result: ok, temporary, rejected, unknown
	failovers        *prometheus.CounterVec // operator (the one given up)
	published        *prometheus.CounterVec // topic
	dbBatch          *prometheus.HistogramVec
	receipts         *prometheus.CounterVec // operator, result: matched, early, orphan, late_matched, unparsable
	receiptLatency   *prometheus.HistogramVec
	mo               *prometheus.CounterVec // operator, kind: single, multipart, incomplete
	optouts          *prometheus.CounterVec // action: stop, start
	queueDepth       *prometheus.GaugeVec   // operator, state
	dlrTimeouts      prometheus.Counter
	finals           *prometheus.CounterVec // operator, status: final states reached after submission
	kafkaLag         prometheus.Gauge
	billedParts      *prometheus.GaugeVec // operator, currency (this month, sampled from billing_month)
	billedRevenue    *prometheus.GaugeVec
	recovered        *prometheus.CounterVec // what: unknown
	slotErrors       prometheus.Counter
	slotsHeld        *prometheus.GaugeVec   // operator, kind
	holds            *prometheus.CounterVec // action: released, dropped
	lossParts        *prometheus.CounterVec // operator
	reroutes         *prometheus.CounterVec // operator (failed), state (receipt word)
	supplierErrors   *prometheus.CounterVec // operator, reason (error_map reasons, or "unmapped")
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		ingested: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_ingest_records_total",
			Help: "sms.submit records by result."}, []string{"result"}),
		ingestRetries: prometheus.NewCounter(prometheus.CounterOpts{Name: "smsgate_ingest_retries_total",
			Help: "Ingest batches retried after a Postgres or Kafka error."}),
		consumerRestarts: prometheus.NewCounter(prometheus.CounterOpts{Name: "smsgate_kafka_consumer_restarts_total",
			Help: "sms.submit consumers closed and built again after a fetch error, a failing commit or a stall."}),
		dlq: prometheus.NewCounter(prometheus.CounterOpts{Name: "smsgate_dlq_records_total",
			Help: "Records produced to sms.dlq."}),
		submits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_dispatch_parts_total",
			Help: "Message parts by submit result."}, []string{"operator", "result"}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_dispatch_failovers_total",
			Help: "Messages handed to the next route."}, []string{"operator"}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_events_published_total",
			Help: "Events published to Kafka from the outbox."}, []string{"topic"}),
		dbBatch: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "smsgate_postgres_batch_seconds",
			Help: "Duration of Postgres batch transactions.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)},
			[]string{"kind"}),
		receipts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_receipts_total",
			Help: "Delivery receipts by correlation result."}, []string{"operator", "result"}),
		receiptLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "smsgate_receipt_latency_seconds",
			Help: "Time from submit_sm_resp to the receipt.", Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 14)},
			[]string{"operator"}),
		mo: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_mo_messages_total",
			Help: "Mobile-originated messages published."}, []string{"operator", "kind"}),
		optouts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_optout_changes_total",
			Help: "Opt-out changes from MO keywords."}, []string{"action"}),
		queueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "smsgate_queue_messages",
			Help: "Messages in Postgres by operator and state (sampled)."}, []string{"operator", "state"}),
		dlrTimeouts: prometheus.NewCounter(prometheus.CounterOpts{Name: "smsgate_dlr_timeouts_total",
			Help: "Messages expired with dlr_timeout."}),
		finals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_messages_final_total",
			Help: "Messages reaching a final state after submission (delivered, undeliverable, expired)."}, []string{"operator", "status"}),
		kafkaLag: prometheus.NewGauge(prometheus.GaugeOpts{Name: "smsgate_kafka_consumer_lag_records",
			Help: "sms.submit records not yet committed by the consumer group (log end minus committed), sampled."}),
		billedParts: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "smsgate_billing_month_parts",
			Help: "Parts billed this calendar month (UTC), sampled from the ledger aggregates."}, []string{"operator", "currency"}),
		billedRevenue: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "smsgate_billing_month_revenue",
			Help: "Customer price billed this calendar month (UTC), sampled; for display, sums use the ledger."}, []string{"operator", "currency"}),
		recovered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_recovered_claims_total",
			Help: "Claims of dead instances resolved after a crash."}, []string{"as"}),
		slotErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "smsgate_bind_slot_errors_total",
			Help: "Bind slot lease rounds that failed (Postgres unreachable); binds close before leases lapse."}),
		slotsHeld: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "smsgate_bind_slots_held",
			Help: "Bind slots this instance holds, by operator and kind (tx, rx); the cluster sum never exceeds binds."}, []string{"operator", "kind"}),
		lossParts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_billing_loss_parts_total",
			Help: "Billed parts whose operator cost is above the customer price (same currency): sold at a loss."}, []string{"operator"}),
		reroutes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_reroutes_total",
			Help: "Messages sent again on the next route after a failed receipt (reroute.on)."}, []string{"operator", "state"}),
		supplierErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_supplier_errors_total",
			Help: "Failed receipts with a supplier error code, by the error_map reason it mapped to (\"unmapped\" when none); operators with an error_map only."}, []string{"operator", "reason"}),
		holds: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_holds_resolved_total",
			Help: "Held messages released or dropped through the API."}, []string{"action"}),
	}
	if reg != nil {
		reg.MustRegister(m.ingested, m.ingestRetries, m.consumerRestarts, m.dlq, m.submits, m.failovers, m.published, m.dbBatch,
			m.receipts, m.receiptLatency, m.mo, m.optouts, m.queueDepth, m.dlrTimeouts, m.recovered, m.finals,
			m.kafkaLag, m.billedParts, m.billedRevenue, m.slotErrors, m.slotsHeld, m.holds, m.lossParts, m.reroutes, m.supplierErrors)
	}
	return m
}
