package ingest

import "github.com/prometheus/client_golang/prometheus"

// Metrics of the ingest stage.
type Metrics struct {
	records     *prometheus.CounterVec // result: queued, queued-parked (queued), scheduled, held, rejected, invalid
	dlq         prometheus.Counter
	restarts    prometheus.Counter
	fetchErrors prometheus.Counter
	commits     prometheus.Counter
}

// NewMetrics registers the stage's metrics with reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_ingest_records_total",
			Help: "sms.submit records by what ingest did: queued (in memory), parked (queued, scheduled, held), rejected, invalid."}, []string{"result"}),
		dlq: prometheus.NewCounter(prometheus.CounterOpts{Name: "smsgate_dlq_records_total", Help: "Records produced to sms.dlq."}),
		restarts: prometheus.NewCounter(prometheus.CounterOpts{Name: "smsgate_kafka_consumer_restarts_total",
			Help: "sms.submit consumers closed and built again after an error."}),
		fetchErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "smsgate_kafka_fetch_errors_total",
			Help: "Errors fetching sms.submit (the client retries them)."}),
		commits: prometheus.NewCounter(prometheus.CounterOpts{Name: "smsgate_kafka_offset_commits_total",
			Help: "Offset commits of sms.submit (each covers the settled records of every partition)."}),
	}
	if reg != nil {
		reg.MustRegister(m.records, m.dlq, m.restarts, m.fetchErrors, m.commits)
	}
	return m
}
