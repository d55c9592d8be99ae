package gateway

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/smsgate/smsgate/dlr"
	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/store"
)

// Supplier error codes (operators[].error_map): a failed receipt's err:
// value or network_error_code TLV picks a rule that may change the part's
// state, decides whether the message is sent again on the next route, and
// puts error.code (the supplier's code as received) and error.reason on the
// message's final sms.status event.

// supplierRule is one error_map entry at run time.
type supplierRule struct {
	status store.State // Undeliverable or Expired; 0 keeps the receipt's
	reason string
	retry  int8 // 1 reroute, -1 never, 0 reroute.on decides
}

// errorMapRT is one operator's error_map.
type errorMapRT struct {
	text map[string]*supplierRule // config.NormalizeErrCode(err:) →
	net  map[dlr.NetworkError]*supplierRule
}

// supplierError is a receipt's code found in its operator's error_map.
type supplierError struct {
	code string // as sms.status shows it: "err:012", "gsm:0x000B"
	rule *supplierRule
}

func buildErrorMap(rules []config.ErrorRule) (*errorMapRT, error) {
	if len(rules) == 0 {
		return nil, nil
	}
	m := &errorMapRT{text: map[string]*supplierRule{}, net: map[dlr.NetworkError]*supplierRule{}}
	for i, r := range rules {
		sr := &supplierRule{reason: r.Reason}
		switch r.Status {
		case config.ErrorStatusUndeliverable:
			sr.status = store.Undeliverable
		case config.ErrorStatusExpired:
			sr.status = store.Expired
		}
		if r.Retry != nil {
			sr.retry = -1
			if *r.Retry {
				sr.retry = 1
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

// lookup finds the rule of a receipt's codes: the typed network error
// first, then the text's err: value.
func (m *errorMapRT) lookup(textErr string, ne dlr.NetworkError) *supplierError {
	if m == nil {
		return nil
	}
	if !ne.IsZero() {
		if r := m.net[ne]; r != nil {
			return &supplierError{code: ne.String(), rule: r}
		}
	}
	if textErr != "" {
		if r := m.text[config.NormalizeErrCode(textErr)]; r != nil {
			return &supplierError{code: "err:" + textErr, rule: r}
		}
	}
	return nil
}

// mapSupplierErrors looks up the error code of each failed receipt (UNDELIV,
// REJECTD, DELETED, EXPIRED or UNKNOWN) in its operator's error_map, applies
// the rule's status to the receipt and keeps the match on it. Delivered and
// intermediate (ENROUTE, ACCEPTD) receipts are left alone whatever their
// code: "err:000" on a DELIVRD receipt must never fail a message.
func (g *Gateway) mapSupplierErrors(rs []parsedReceipt) {
	t := g.tables.Load()
	if len(t.errorMaps) == 0 {
		return
	}
	for i := range rs {
		pr := &rs[i]
		m := t.errorMaps[pr.op.name]
		if m == nil {
			continue
		}
		switch ps, _ := pr.r.State.PartStatus(); {
		case ps == dlr.PartUndeliverable, ps == dlr.PartExpired, ps == dlr.PartUnknown:
		case pr.r.State == dlr.StateNone && (pr.state == store.Undeliverable || pr.state == store.Expired):
			// an early receipt whose stat word was not kept
		default:
			continue
		}
		textErr, ne := pr.r.ErrText(), pr.r.NetworkErr
		if ne.IsZero() && pr.r.TextErr == "" {
			// Early receipts keep only Err, which may be the TLV's rendering.
			textErr, ne = dlr.SplitStoredErr(pr.r.Err)
		}
		se := m.lookup(textErr, ne)
		if se == nil {
			pr.unmapped = textErr != "" || !ne.IsZero()
			continue
		}
		if se.rule.status != 0 {
			pr.state = se.rule.status
		}
		pr.sup = se
	}
}

// supplierFinals collects the messages a mapped receipt ended, for
// SetMessageErrors.
type supplierFinals struct{ ids, reasons, codes []string }

// add records id when agg is a final failure and its deciding receipt had
// a mapped code.
func (f *supplierFinals) add(id string, agg store.State, se *supplierError) {
	if se == nil || !agg.Final() || agg == store.Delivered {
		return
	}
	f.ids = append(f.ids, id)
	f.reasons = append(f.reasons, se.rule.reason)
	f.codes = append(f.codes, se.code)
}

func (f *supplierFinals) write(ctx context.Context, tx pgx.Tx) error {
	return store.SetMessageErrors(ctx, tx, f.ids, f.reasons, f.codes)
}

// rerouteListed is whether a failed receipt sends its message again: the
// mapped rule's retry when it says, else reroute.on for the stat word.
func rerouteListed(r *rerouteRT, word string, se *supplierError) bool {
	if se != nil && se.rule.retry != 0 {
		return se.rule.retry > 0
	}
	return r.on[word]
}
