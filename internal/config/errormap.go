package config

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/smsgate/smsgate/dlr"
)

var (
	errorCode   = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,16}$`)
	errorReason = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)
)

// NormalizeErrCode is the form receipt err: values are compared in: codes
// of digits only lose their leading zeros ("012" and "12" are the same
// code), others are upper-cased.
func NormalizeErrCode(s string) string {
	s = strings.TrimSpace(s)
	if isDigits(s, 1, len(s)) {
		t := strings.TrimLeft(s, "0")
		if t == "" {
			return "0"
		}
		return t
	}
	return strings.ToUpper(s)
}

// errorMap checks one operator's error_map: each entry names exactly one
// code, a known status and a reason; retry: true needs the reroute section
// (its max_attempts bounds the attempts); no code twice.
func (v *validator) errorMap(p string, rules []ErrorRule) {
	seen := map[string]int{}
	for i, r := range rules {
		key := fmt.Sprintf("%s.error_map[%d]", p, i)
		var code string
		switch {
		case r.Err == "" && r.NetworkError == "":
			v.add(key, "one of err or network_error is required")
		case r.Err != "" && r.NetworkError != "":
			v.add(key, "give err or network_error, not both")
		case r.Err != "":
			if !errorCode.MatchString(r.Err) {
				v.add(key+".err", "want 1–16 characters of [A-Za-z0-9_.-] as in the receipt's err: field, got %q", r.Err)
			} else {
				code = "err:" + NormalizeErrCode(r.Err)
			}
		default:
			ne, err := dlr.ParseNetworkError(r.NetworkError)
			if err != nil {
				v.add(key+".network_error", "%v", err)
			} else {
				code = "net:" + ne.String()
			}
		}
		if code != "" {
			if j, dup := seen[code]; dup {
				v.add(key, "same code as %s.error_map[%d]", p, j)
			} else {
				seen[code] = i
			}
		}
		if r.Status != "" {
			v.oneOf(key+".status", r.Status, ErrorStatusUndeliverable, ErrorStatusExpired)
		}
		if !errorReason.MatchString(r.Reason) {
			if r.Reason == "" {
				v.add(key+".reason", "required: the error.reason shown in sms.status, e.g. absent_subscriber")
			} else {
				v.add(key+".reason", "want 1–64 characters of [a-z0-9_], got %q", r.Reason)
			}
		}
		if r.Retry != nil && *r.Retry && v.c.Reroute == nil {
			v.add(key+".retry", "retry: true needs the reroute section (its max_attempts bounds the attempts)")
		}
	}
}
