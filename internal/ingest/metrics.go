package ingest

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of the ingest stage.
type Metrics struct {
	records     *prometheus.CounterVec // result: queued, queued-parked (queued), scheduled, held, rejected, invalid
	dlq         prometheus.Counter
	dlqReasons  *prometheus.CounterVec // reason: a bounded kind of the DLQ detail
	rejected    *prometheus.CounterVec // reason: the rejected event's error.reason
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
		dlqReasons: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_dlq_reasons_total",
			Help: "Records sent to sms.dlq by kind of problem (not_json, not_utf8, too_large, missing_field, wrong_type, nul, unknown_account, ...; the exact text is in the DLQ record)."}, []string{"reason"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_ingest_rejected_total",
			Help: "Records rejected at ingest by error.reason (invalid, no_route, expired, opted_out, frequency_cap, protection reasons)."}, []string{"reason"}),
		restarts: prometheus.NewCounter(prometheus.CounterOpts{Name: "smsgate_kafka_consumer_restarts_total",
			Help: "sms.submit consumers closed and built again after an error."}),
		fetchErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "smsgate_kafka_fetch_errors_total",
			Help: "Errors fetching sms.submit (the client retries them)."}),
		commits: prometheus.NewCounter(prometheus.CounterOpts{Name: "smsgate_kafka_offset_commits_total",
			Help: "Offset commits of sms.submit (each covers the settled records of every partition)."}),
	}
	if reg != nil {
		reg.MustRegister(m.records, m.dlq, m.dlqReasons, m.rejected, m.restarts, m.fetchErrors, m.commits)
	}
	return m
}

// dlqKind maps a DLQ detail to one of a few words, so it can be a label.
func dlqKind(detail string) string {
	d := strings.ToLower(detail)
	for _, k := range []struct{ has, kind string }{
		{"internal:", "internal"},
		{"not valid utf-8", "not_utf8"},
		{"exceeds limits.max_bytes", "too_large"},
		{"trailing data", "trailing_data"},
		{"missing required field", "missing_field"},
		{"nul (u+0000)", "nul"},
		{"unknown account", "unknown_account"},
		{"unknown operator", "unknown_route"},
		{"unknown encoding", "unknown_encoding"},
		{"unknown kind", "unknown_kind"},
		{"priority", "bad_priority"},
		{"placeholder", "placeholder"},
		{"parts", "too_many_parts"},
		{"expires_at", "bad_time"},
		{"send_at", "bad_time"},
		{"id is", "bad_id"},
		{"meta", "bad_meta"},
		{"must be", "wrong_type"},
		{"cannot unmarshal", "wrong_type"},
		{"invalid character", "not_json"},
		{"unexpected end", "not_json"},
		{"json", "not_json"},
	} {
		if strings.Contains(d, k.has) {
			return k.kind
		}
	}
	return "other"
}
