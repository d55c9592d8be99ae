package web

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"sort"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/store"
)

// operatorStatus is one operator's line on the status page. Counters are
// totals since start (the page turns them into rates between polls), read
// from the same registry that /metrics serves, so the two always agree.
type operatorStatus struct {
	Name              string             `json:"name"`
	SentTotal         float64            `json:"sent_total"`      // parts accepted by the SMSC
	TemporaryTotal    float64            `json:"temporary_total"` // temporary errors (retried)
	RejectedTotal     float64            `json:"rejected_total"`
	UnknownTotal      float64            `json:"unknown_total"`
	DeliveredTotal    float64            `json:"delivered_total"` // messages
	FailedTotal       float64            `json:"failed_total"`    // undeliverable + expired messages
	ThrottledTotal    float64            `json:"throttled_total"`
	ReceiptsTotal     float64            `json:"receipts_total"` // matched receipts
	BindsUp           float64            `json:"binds_up"`
	WindowInFlight    float64            `json:"window_inflight"`
	Queued            float64            `json:"queued"`
	ErrorsByStatus    map[string]float64 `json:"errors_by_status"`
	ReceiptLatencyP50 float64            `json:"receipt_latency_p50_seconds"`
	ReceiptLatencyP95 float64            `json:"receipt_latency_p95_seconds"`
}

type statusDoc struct {
	At        time.Time          `json:"at"`
	Ready     bool               `json:"ready"`
	Reason    string             `json:"reason,omitempty"`
	Operators []*operatorStatus  `json:"operators"`
	Live      any                `json:"live,omitempty"`
	Ingested  map[string]float64 `json:"ingested"`
	DLQTotal  float64            `json:"dlq_total"`
	MOTotal   float64            `json:"mo_total"`
	Billing   any                `json:"billing,omitempty"`
	RecentMO  []moView           `json:"recent_mo"`
	// Scopes say what this view includes: money only with finance, recent
	// MO (numbers masked) only with status.
	Scopes []string `json:"scopes"`
	// History holds the counters every 10 s for the last 15 minutes.
	History []historyPoint `json:"history"`
	// The most frequent reasons records went to sms.dlq or were rejected
	// at ingest, since start (at most 5 each).
	TopDLQReasons    []reasonCount `json:"top_dlq_reasons"`
	TopRejectReasons []reasonCount `json:"top_reject_reasons"`
	// Accounts are the configured accounts: rate, quota and holds for
	// everyone, the balance with finance.
	Accounts []accountStatus `json:"accounts"`
}

// accountStatus is one account's line on the status page.
type accountStatus struct {
	Name  string       `json:"name"`
	Rate  float64      `json:"rate"` // parts/s on this instance, last minute
	TPS   int          `json:"tps"`
	Quota accountQuota `json:"quota"`
	Held  int64        `json:"held"` // held for insufficient funds (sampled)
	// Money: with the finance scope only.
	Billing    string          `json:"billing,omitempty"`
	Balance    *billing.Amount `json:"balance,omitempty"`
	Available  *billing.Amount `json:"available,omitempty"`
	LowBalance *billing.Amount `json:"low_balance,omitempty"`
	Currency   string          `json:"currency,omitempty"`
}

// accountsStatus builds the page's accounts from the configuration, this
// instance's rates and the funds rows (quota counters, balances).
func (s *Server) accountsStatus(ctx context.Context, finance bool) []accountStatus {
	out := []accountStatus{}
	if s.o.Accounts == nil {
		return out
	}
	fundsOf := func(account string) *store.Funds { return &store.Funds{Account: account} }
	if s.o.Store != nil {
		if f, err := s.funds(ctx); err == nil { // the page shows zeros rather than nothing
			fundsOf = f
		}
	}
	now := time.Now()
	for _, a := range s.o.Accounts() {
		f := fundsOf(a.Name)
		st := accountStatus{Name: a.Name, Rate: a.Rate, TPS: a.TPS, Quota: quotaUsed(&a, f, now), Held: a.Held}
		if finance {
			bal, avail, low := f.Balance(), f.Available(), a.LowBalance
			st.Billing, st.Balance, st.Available, st.Currency = a.Billing, &bal, &avail, a.Currency
			if low != 0 {
				st.LowBalance = &low
			}
		}
		out = append(out, st)
	}
	return out
}

type reasonCount struct {
	Reason string  `json:"reason"`
	Count  float64 `json:"count"`
}

// top sorts counts, largest first, and keeps at most n.
func top(m map[string]float64, n int) []reasonCount {
	out := make([]reasonCount, 0, len(m))
	for r, c := range m {
		if c > 0 {
			out = append(out, reasonCount{r, c})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Reason < out[j].Reason
	})
	return out[:min(n, len(out))]
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	tok, _, err := s.caller(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	doc := statusDoc{At: time.Now().UTC(), Ready: true, Ingested: map[string]float64{}, Scopes: []string{}, History: s.hist.snapshot()}
	if tok.Scopes != nil {
		doc.Scopes = tok.Scopes
	}
	if s.o.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		if err := s.o.Ready(ctx); err != nil {
			doc.Ready, doc.Reason = false, err.Error()
		}
		cancel()
	}
	ops := map[string]*operatorStatus{}
	op := func(name string) *operatorStatus {
		o := ops[name]
		if o == nil {
			o = &operatorStatus{Name: name, ErrorsByStatus: map[string]float64{}}
			ops[name] = o
		}
		return o
	}
	mfs, err := s.o.Gatherer.Gather()
	if err != nil {
		http.Error(w, "metrics unavailable", http.StatusInternalServerError)
		return
	}
	dlqReasons, rejectReasons := map[string]float64{}, map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			l := labels(m)
			v := value(m)
			switch mf.GetName() {
			case "smsgate_dispatch_parts_total":
				o := op(l["operator"])
				switch l["result"] {
				case "ok":
					o.SentTotal += v
				case "temporary":
					o.TemporaryTotal += v
				case "rejected":
					o.RejectedTotal += v
				case "unknown":
					o.UnknownTotal += v
				}
			case "smsgate_messages_final_total":
				o := op(l["operator"])
				if l["status"] == "delivered" {
					o.DeliveredTotal += v
				} else {
					o.FailedTotal += v
				}
			case "smsgate_receipts_total":
				if l["result"] == "matched" {
					op(l["operator"]).ReceiptsTotal += v
				}
			case "smsgate_smpp_throttled_total":
				op(l["operator"]).ThrottledTotal += v
			case "smsgate_smpp_binds_up":
				op(l["operator"]).BindsUp += v
			case "smsgate_smpp_window_inflight":
				op(l["operator"]).WindowInFlight += v
			case "smsgate_smpp_submits_total":
				if st := l["status"]; st != "" && st != "ESME_ROK" && st != "ok" {
					op(l["operator"]).ErrorsByStatus[st] += v
				}
			case "smsgate_queue_messages":
				if l["state"] == "queued" || l["state"] == "scheduled" {
					if l["operator"] != "" {
						op(l["operator"]).Queued += v
					}
				}
			case "smsgate_receipt_latency_seconds":
				o := op(l["operator"])
				o.ReceiptLatencyP50 = quantile(m.GetHistogram(), 0.5)
				o.ReceiptLatencyP95 = quantile(m.GetHistogram(), 0.95)
			case "smsgate_ingest_records_total":
				doc.Ingested[l["result"]] += v
			case "smsgate_dlq_records_total":
				doc.DLQTotal += v
			case "smsgate_mo_messages_total":
				doc.MOTotal += v
			case "smsgate_dlq_reasons_total":
				dlqReasons[l["reason"]] += v
			case "smsgate_ingest_rejected_total":
				rejectReasons[l["reason"]] += v
			case "smsgate_dispatch_refused_total":
				if l["status"] == "rejected" {
					rejectReasons[l["reason"]] += v
				}
			}
		}
	}
	doc.TopDLQReasons, doc.TopRejectReasons = top(dlqReasons, 5), top(rejectReasons, 5)
	for _, o := range ops {
		if o.Name != "" {
			doc.Operators = append(doc.Operators, o)
		}
	}
	sort.Slice(doc.Operators, func(i, j int) bool { return doc.Operators[i].Name < doc.Operators[j].Name })
	if s.o.Live != nil {
		doc.Live = s.o.Live()
		liveBinds(doc.Live, ops)
	}
	actx, acancel := context.WithTimeout(r.Context(), 2*time.Second)
	doc.Accounts = s.accountsStatus(actx, tok.Has(config.ScopeFinance))
	acancel()
	if s.o.Store != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		if tok.Has(config.ScopeFinance) {
			if rows, err := s.o.Store.BillingSummary(ctx, time.Now().UTC().Format("2006-01")); err == nil {
				doc.Billing = nonNil(rows)
			}
		}
		// Subscriber numbers only with a token, masked even then.
		if mos, err := s.recentMO(ctx, tok); err == nil {
			for _, m := range mos {
				doc.RecentMO = append(doc.RecentMO, s.view(m, ""))
			}
		}
		cancel()
	}
	if doc.RecentMO == nil {
		doc.RecentMO = []moView{}
	}
	writeJSON(w, doc)
}

func (s *Server) recentMO(ctx context.Context, tok config.Token) ([]billing.MORow, error) {
	if !tok.Has(config.ScopeStatus) {
		return nil, nil
	}
	return s.o.Store.RecentMO(ctx, 10)
}

// liveBinds makes the pools' own count the one source of binds_up: the
// gauge is sampled at another moment and, before it counted transmitters
// only, also counted receiver binds, so the two could disagree.
func liveBinds(live any, ops map[string]*operatorStatus) {
	b, err := json.Marshal(live)
	if err != nil {
		return
	}
	var rows []struct {
		Name    string  `json:"name"`
		BindsUp float64 `json:"binds_up"`
	}
	if json.Unmarshal(b, &rows) != nil {
		return
	}
	for _, r := range rows {
		if o := ops[r.Name]; o != nil {
			o.BindsUp = r.BindsUp
		}
	}
}

// maskNumber hides the middle of a subscriber number on the page.
func maskNumber(n string) string {
	if len(n) <= 6 {
		return n
	}
	return n[:4] + "•••" + n[len(n)-3:]
}

func labels(m *dto.Metric) map[string]string {
	out := make(map[string]string, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	}
	return 0
}

// quantile estimates a quantile from histogram buckets (linear within the
// bucket), as histogram_quantile does.
func quantile(h *dto.Histogram, q float64) float64 {
	total := float64(h.GetSampleCount())
	if total == 0 {
		return 0
	}
	rank := q * total
	prevBound, prevCount := 0.0, 0.0
	for _, b := range h.GetBucket() {
		c := float64(b.GetCumulativeCount())
		if c >= rank {
			ub := b.GetUpperBound()
			if math.IsInf(ub, 1) || c == prevCount {
				return prevBound
			}
			return prevBound + (ub-prevBound)*(rank-prevCount)/(c-prevCount)
		}
		prevBound, prevCount = b.GetUpperBound(), c
	}
	return prevBound
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}
