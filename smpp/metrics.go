package smpp

import (
	"errors"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smsgate/smsgate/smpp/pdu"
)

// Metrics are the smsgate_smpp_* collectors, shared by all sessions and
// pools of a process. Every label value is bounded: operator names,
// SMPP status names (unknown codes collapse to "other"), and fixed kinds.
// A nil *Metrics is valid and records nothing.
type Metrics struct {
	submits    *prometheus.CounterVec   // operator, status
	latency    *prometheus.HistogramVec // operator
	inflight   *prometheus.GaugeVec     // operator
	bindsUp    *prometheus.GaugeVec     // operator: transmitting binds (transceiver or transmitter)
	rxUp       *prometheus.GaugeVec     // operator: receiver-only binds
	reconnects *prometheus.CounterVec   // operator
	throttled  *prometheus.CounterVec   // operator
	late       *prometheus.CounterVec   // operator
	nacks      *prometheus.CounterVec   // operator, direction (in|out)
	inbound    *prometheus.CounterVec   // operator, kind (receipt|mo|enquire_link|unbind|alert_notification)
	pduErrors  *prometheus.CounterVec   // operator, kind
	unknown    *prometheus.CounterVec   // operator
	refused    *prometheus.CounterVec   // operator
}

// Values of the pdu_errors_total "kind" label.
const (
	kindTooLarge           = "too_large"
	kindMalformed          = "malformed"
	kindUnknownCommand     = "unknown_command"
	kindUnexpectedResponse = "unexpected_response"
	kindWrongBind          = "wrong_bind"
	kindBadLength          = "bad_length" // command_length < 16 or > 64 MiB: the session ends
	kindTruncated          = "truncated"  // the stream ended or stalled inside a PDU: the session ends
)

// NewMetrics creates the collectors and registers them with reg (nil: not
// registered). Registering twice with the same registry reuses the
// collectors already there.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	op := []string{"operator"}
	m := &Metrics{
		submits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_smpp_submits_total",
			Help: "submit_sm resolved, by outcome: status name, generic_nack, unknown or not_sent."}, []string{"operator", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "smsgate_smpp_response_latency_seconds",
			Help:    "Time from queuing a submit_sm to its response.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, op),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "smsgate_smpp_window_inflight",
			Help: "submit_sm awaiting a response, all binds of the operator."}, op),
		bindsUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "smsgate_smpp_binds_up",
			Help: "Binds that can submit (transceiver or transmitter) currently bound; what operators[].binds counts."}, op),
		rxUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "smsgate_smpp_receivers_up",
			Help: "Receiver-only binds currently bound (bind: transmitter+receiver)."}, op),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_smpp_reconnects_total",
			Help: "Binds lost and reopened."}, op),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_smpp_throttled_total",
			Help: "submit_sm answered with ESME_RTHROTTLED or ESME_RMSGQFUL."}, op),
		late: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_smpp_late_responses_total",
			Help: "Responses matching no outstanding request (arrived after resp_timeout, or bogus)."}, op),
		nacks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_smpp_generic_nacks_total",
			Help: "generic_nack received (in) or sent (out)."}, []string{"operator", "direction"}),
		inbound: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_smpp_inbound_total",
			Help: "Requests received from the SMSC, by kind."}, []string{"operator", "kind"}),
		pduErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_smpp_pdu_errors_total",
			Help: "Inbound PDUs that could not be used, by kind: too_large, malformed, unknown_command, unexpected_response and wrong_bind leave the bind up; bad_length and truncated end the session (the stream is out of step)."}, []string{"operator", "kind"}),
		unknown: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_smpp_unknown_outcomes_total",
			Help: "submit_sm written but never answered (resp_timeout or disconnect)."}, op),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_smpp_deliver_refused_total",
			Help: "deliver_sm answered ESME_RTHROTTLED: the inbound side stayed behind (MaxUnacked unacknowledged) longer than the reader may pause; the SMSC delivers them again."}, op),
	}
	if reg != nil {
		m.submits = register(reg, m.submits)
		m.latency = register(reg, m.latency)
		m.inflight = register(reg, m.inflight)
		m.bindsUp = register(reg, m.bindsUp)
		m.rxUp = register(reg, m.rxUp)
		m.reconnects = register(reg, m.reconnects)
		m.throttled = register(reg, m.throttled)
		m.late = register(reg, m.late)
		m.nacks = register(reg, m.nacks)
		m.inbound = register(reg, m.inbound)
		m.pduErrors = register(reg, m.pduErrors)
		m.unknown = register(reg, m.unknown)
		m.refused = register(reg, m.refused)
	}
	return m
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if old, ok := are.ExistingCollector.(C); ok {
				return old
			}
		}
		panic(err) // inconsistent definitions: a programming error, like MustRegister
	}
	return c
}

// statusLabel maps a status to a bounded label value.
func statusLabel(s pdu.Status) string {
	if s == pdu.StatusOK {
		return "ok"
	}
	name := s.Error()
	if i := strings.IndexByte(name, ' '); i > 0 && strings.HasPrefix(name, "ESME_") {
		return name[:i]
	}
	return "other"
}

// opMetrics are one operator's children, resolved once so the hot path
// does no label lookups. The zero value records nothing.
type opMetrics struct {
	m              *Metrics
	op             string
	ok             prometheus.Counter
	latency        prometheus.Observer
	inflight       prometheus.Gauge
	throttled      prometheus.Counter
	late           prometheus.Counter
	unknown        prometheus.Counter
	nackIn         prometheus.Counter
	nackOut        prometheus.Counter
	deliverRefused prometheus.Counter
}

func (m *Metrics) forOperator(op string) opMetrics {
	if m == nil {
		return opMetrics{}
	}
	// Series that may stay at zero are created up front, so rate() and
	// increase() in dashboards and alerts see 0 instead of nothing.
	m.reconnects.WithLabelValues(op)
	m.bindsUp.WithLabelValues(op)
	return opMetrics{
		m: m, op: op,
		ok:             m.submits.WithLabelValues(op, "ok"),
		latency:        m.latency.WithLabelValues(op),
		inflight:       m.inflight.WithLabelValues(op),
		throttled:      m.throttled.WithLabelValues(op),
		late:           m.late.WithLabelValues(op),
		unknown:        m.unknown.WithLabelValues(op),
		nackIn:         m.nacks.WithLabelValues(op, "in"),
		nackOut:        m.nacks.WithLabelValues(op, "out"),
		deliverRefused: m.refused.WithLabelValues(op),
	}
}

func (o *opMetrics) queued() {
	if o.m != nil {
		o.inflight.Inc()
	}
}

// resolved records one resolved submit_sm.
func (o *opMetrics) resolved(r *Result) {
	if o.m == nil {
		return
	}
	o.inflight.Dec()
	switch {
	case r.Outcome == Unknown:
		o.unknown.Inc()
		o.m.submits.WithLabelValues(o.op, "unknown").Inc()
	case r.Outcome == NotSent:
		o.m.submits.WithLabelValues(o.op, "not_sent").Inc()
	case r.Nack:
		o.latency.Observe(r.Latency.Seconds())
		o.m.submits.WithLabelValues(o.op, "generic_nack").Inc()
	case r.Status == pdu.StatusOK:
		o.latency.Observe(r.Latency.Seconds())
		o.ok.Inc()
	default:
		o.latency.Observe(r.Latency.Seconds())
		o.m.submits.WithLabelValues(o.op, statusLabel(r.Status)).Inc()
	}
}

func inc(c prometheus.Counter) {
	if c != nil {
		c.Inc()
	}
}

func (o *opMetrics) inboundKind(kind string) {
	if o.m != nil {
		o.m.inbound.WithLabelValues(o.op, kind).Inc()
	}
}

func (o *opMetrics) pduError(kind string) {
	if o.m != nil {
		o.m.pduErrors.WithLabelValues(o.op, kind).Inc()
	}
}

func (o *opMetrics) bindUp(delta float64, canSubmit bool) {
	if o.m == nil {
		return
	}
	if canSubmit {
		o.m.bindsUp.WithLabelValues(o.op).Add(delta)
	} else {
		o.m.rxUp.WithLabelValues(o.op).Add(delta)
	}
}

func (o *opMetrics) reconnect() {
	if o.m != nil {
		o.m.reconnects.WithLabelValues(o.op).Inc()
	}
}
