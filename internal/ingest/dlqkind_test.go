package ingest

import "testing"

func TestDLQKind(t *testing.T) {
	for detail, want := range map[string]string{
		"payload is not valid UTF-8":                      "not_utf8",
		"payload of 70000 bytes exceeds limits.max_bytes": "too_large",
		"trailing data after the JSON object":             "trailing_data",
		"missing required field to":                       "missing_field",
		"field text contains NUL (U+0000)":                "nul",
		`unknown account "x"`:                             "unknown_account",
		`route names unknown operator "x"`:                "unknown_route",
		"invalid character 'x' looking for beginning":     "not_json",
		"field priority must be int, not string":          "bad_priority",
		"field text must be string, not number":           "wrong_type",
		"internal: something broke":                       "internal",
		"something nobody foresaw":                        "other",
	} {
		if got := dlqKind(detail); got != want {
			t.Errorf("%q: %s, want %s", detail, got, want)
		}
	}
}
