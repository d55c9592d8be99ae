package policy

import (
	"fmt"
	"time"

	"github.com/smsgate/smsgate/dlr"
	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/message"
)

// Supplier error codes (operators[].error_map): a failed receipt's err:
// value or network_error_code TLV picks a rule that may change the part's
// state, decides whether the message is sent again on the next route, and
// puts error.code (the supplier's code as received) and error.reason on the
// message's final sms.status event.

// SupplierRule is one error_map entry at run time.
type SupplierRule struct {
	Status message.State // Undeliverable or Expired; 0 keeps the receipt's
	Reason string
	Retry  int8 // 1 reroute, -1 never, 0 reroute.on decides
}

// ErrorMap is one operator's error_map.
type ErrorMap struct {
	text map[string]*SupplierRule // config.NormalizeErrCode(err:) →
	net  map[dlr.NetworkError]*SupplierRule
}

// SupplierError is a receipt's code found in its operator's error_map.
type SupplierError struct {
	Code string // as sms.status shows it: "err:012", "gsm:0x000B"
	Rule *SupplierRule
}

func buildErrorMap(rules []config.ErrorRule) (*ErrorMap, error) {
	if len(rules) == 0 {
		return nil, nil
	}
	m := &ErrorMap{text: map[string]*SupplierRule{}, net: map[dlr.NetworkError]*SupplierRule{}}
	for i, r := range rules {
		sr := &SupplierRule{Reason: r.Reason}
		switch r.Status {
		case config.ErrorStatusUndeliverable:
			sr.Status = message.Undeliverable
		case config.ErrorStatusExpired:
			sr.Status = message.Expired
		}
		if r.Retry != nil {
			sr.Retry = -1
			if *r.Retry {
				sr.Retry = 1
			}
		}
		if r.NetworkError != "" {
			ne, err := dlr.ParseNetworkError(r.NetworkError)
			if err != nil {
				return nil, fmt.Errorf("error_map[%d]: %w", i, err)
			}
			m.net[ne] = sr
			continue
		}
		m.text[config.NormalizeErrCode(r.Err)] = sr
	}
	return m, nil
}

// Lookup finds the rule of a receipt's codes: the typed network error
// first, then the text's err: value.
func (m *ErrorMap) Lookup(textErr string, ne dlr.NetworkError) *SupplierError {
	if m == nil {
		return nil
	}
	if !ne.IsZero() {
		if r := m.net[ne]; r != nil {
			return &SupplierError{Code: ne.String(), Rule: r}
		}
	}
	if textErr != "" {
		if r := m.text[config.NormalizeErrCode(textErr)]; r != nil {
			return &SupplierError{Code: "err:" + textErr, Rule: r}
		}
	}
	return nil
}

// MapReceipt looks up the error code of a failed receipt (UNDELIV, REJECTD,
// DELETED, EXPIRED or UNKNOWN) in its operator's error_map. state is the
// part state the receipt means; the result is the state after the rule
// (which may change it), the match (nil when none) and whether the receipt
// had a code no rule names. Delivered and intermediate receipts are left
// alone whatever their code: "err:000" on a DELIVRD receipt must never fail
// a message.
func (t *Tables) MapReceipt(op string, r *dlr.Receipt, state message.State) (message.State, *SupplierError, bool) {
	m := t.ErrorMaps[op]
	if m == nil {
		return state, nil, false
	}
	switch ps, _ := r.State.PartStatus(); {
	case ps == dlr.PartUndeliverable, ps == dlr.PartExpired, ps == dlr.PartUnknown:
	case r.State == dlr.StateNone && (state == message.Undeliverable || state == message.Expired):
		// an early receipt whose stat word was not kept
	default:
		return state, nil, false
	}
	textErr, ne := r.ErrText(), r.NetworkErr
	if ne.IsZero() && r.TextErr == "" {
		// Stored receipts keep only Err, which may be the TLV's rendering.
		textErr, ne = dlr.SplitStoredErr(r.Err)
	}
	se := m.Lookup(textErr, ne)
	if se == nil {
		return state, nil, textErr != "" || !ne.IsZero()
	}
	if se.Rule.Status != 0 {
		state = se.Rule.Status
	}
	return state, se, false
}

// RerouteTarget is the operator a failed message goes to next ("" = the
// failure is final): its receipt state word is listed in reroute.on (or its
// mapped supplier error says retry, which also overrides reroute.on with
// retry: false), it has attempts left, no forced route, and a route whose
// operator was not tried exists (usable now, down, or in a window that
// opens later: the message waits for it).
func (t *Tables) RerouteTarget(dest, network, forced string, attempt int, tried []string, final message.State, word string,
	se *SupplierError, now time.Time, usable Usable, rnd float64) string {
	r := t.Reroute
	if r == nil || !final.Final() || final == message.Delivered || forced != "" || attempt >= r.MaxAttempts {
		return ""
	}
	listed := r.On[word]
	if se != nil && se.Rule.Retry != 0 {
		listed = se.Rule.Retry > 0
	}
	if !listed {
		return ""
	}
	d, err := t.Route(dest, network, "", tried, now, usable, rnd)
	if err != nil {
		return ""
	}
	return d.Operator
}
