package dispatch

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	parts        *prometheus.CounterVec // operator, result: ok, temporary, rejected, unknown
	failovers    *prometheus.CounterVec // operator (the one given up)
	intents      *prometheus.CounterVec // result
	lossParts    *prometheus.CounterVec // operator
	unparked     *prometheus.CounterVec // operator
	parked       *prometheus.CounterVec // operator, why
	throttled    *prometheus.CounterVec // account
	refused      *prometheus.CounterVec // account, status (rejected, held), reason
	accountShare *prometheus.GaugeVec   // account
	slotErrors   prometheus.Counter
	slotsHeld    *prometheus.GaugeVec // operator, kind
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		parts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_dispatch_parts_total",
			Help: "Message parts by submit result."}, []string{"operator", "result"}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_dispatch_failovers_total",
			Help: "Messages handed to the next route."}, []string{"operator"}),
		intents: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_journal_intents_total",
			Help: "Messages rows written by the intent lane by result: written, replay (the record read again), duplicate (the id again), lost (a parked row another instance took), refused (marketing rules), poisoned."}, []string{"result"}),
		lossParts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_billing_loss_parts_total",
			Help: "Billed parts whose operator cost is above the customer price (same currency): sold at a loss."}, []string{"operator"}),
		unparked: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_parked_taken_total",
			Help: "Parked messages taken back into an operator's queue when due."}, []string{"operator"}),
		parked: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_parked_back_total",
			Help: "Messages given back to the parked set from memory (the operator stopped taking work here, shutdown)."}, []string{"operator"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_account_throttled_total",
			Help: "Messages held in an operator's queue because their account was over its tps (each counted once)."}, []string{"account"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "smsgate_dispatch_refused_total",
			Help: "Messages stopped just before sending by a marketing rule or the account gate, by account, status (rejected, held) and reason (opted_out, frequency_cap, quota_exceeded, insufficient_funds)."}, []string{"account", "status", "reason"}),
		accountShare: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "smsgate_account_tps_share",
			Help: "This instance's part of an account's tps cap (parts/s), in proportion to its demand; the live instances' parts add up to the cap."}, []string{"account"}),
		slotErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "smsgate_bind_slot_errors_total",
			Help: "Bind slot lease rounds that failed (Postgres unreachable); binds close before leases lapse."}),
		slotsHeld: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "smsgate_bind_slots_held",
			Help: "Bind slots this instance holds, by operator and kind (tx, rx); the cluster sum never exceeds binds."}, []string{"operator", "kind"}),
	}
	if reg != nil {
		reg.MustRegister(m.parts, m.failovers, m.intents, m.lossParts, m.unparked, m.parked, m.throttled, m.refused, m.accountShare, m.slotErrors, m.slotsHeld)
	}
	return m
}
