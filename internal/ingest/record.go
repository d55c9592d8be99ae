package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// submitRecord is the JSON of one sms.submit record (contract §1.1).
// Unknown fields are ignored so producers can add their own.
type submitRecord struct {
	ID        string            `json:"id"`
	Account   string            `json:"account"`
	From      string            `json:"from"`
	To        string            `json:"to"`
	Text      *string           `json:"text"`
	Params    map[string]string `json:"params"`
	Encoding  string            `json:"encoding"`
	DLR       *bool             `json:"dlr"`
	Kind      string            `json:"kind"`
	Priority  *int              `json:"priority"`
	SendAt    *time.Time        `json:"send_at"`
	ExpiresAt *time.Time        `json:"expires_at"`
	Route     string            `json:"route"`
	Meta      json.RawMessage   `json:"meta"`
}

// invalidError is a record the contract says goes to sms.dlq; Reason is the
// short DLQ reason and Detail the status event's error.detail.
type invalidError struct {
	Detail string
}

func (e *invalidError) Error() string { return e.Detail }

func invalid(format string, args ...any) error {
	return &invalidError{Detail: fmt.Sprintf(format, args...)}
}

// decodeSubmit parses and checks the shape of a record. It returns the id
// (when it could be read) even when the record is invalid, so a rejected
// status can be published for it.
func decodeSubmit(value []byte, maxBytes int) (*submitRecord, string, error) {
	if len(value) > maxBytes {
		// Oversize payloads are not parsed, not even for the id (§1.1).
		return nil, "", invalid("payload of %d bytes exceeds limits.max_bytes (%d)", len(value), maxBytes)
	}
	if !utf8.Valid(value) {
		return nil, salvageIDNonUTF8(value), invalid("payload is not valid UTF-8")
	}
	var rec submitRecord
	dec := json.NewDecoder(bytes.NewReader(value))
	if err := dec.Decode(&rec); err != nil {
		id := salvageID(value)
		return nil, id, invalid("not a valid submit JSON object: %s", jsonErrText(err))
	}
	if dec.More() {
		return nil, rec.ID, invalid("trailing data after the JSON object")
	}
	if id, err := checkDecodedSubmit(&rec, true); err != nil {
		return nil, id, err
	}
	return &rec, rec.ID, nil
}

// checkStorable rejects NUL (U+0000) in any string field: it cannot be
// stored in Postgres text, and no SMS carries it. (JSON decoding already
// turned invalid UTF-8 and lone surrogates into U+FFFD; meta is kept as
// the JSON text it was given, where a NUL stays an escape.)
func checkStorable(rec *submitRecord) error {
	for _, f := range []struct{ name, v string }{{"id", rec.ID}, {"account", rec.Account}, {"from", rec.From}, {"to", rec.To},
		{"encoding", rec.Encoding}, {"kind", rec.Kind}, {"route", rec.Route}} {
		if strings.IndexByte(f.v, 0) >= 0 {
			return invalid("field %s contains NUL (U+0000)", f.name)
		}
	}
	if rec.Text != nil && strings.IndexByte(*rec.Text, 0) >= 0 {
		return invalid("field text contains NUL (U+0000)")
	}
	for k, v := range rec.Params {
		if strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v, 0) >= 0 {
			return invalid("params contain NUL (U+0000)")
		}
	}
	return nil
}

// salvageID reads a top-level string "id" from a record that failed to
// decode as a whole (e.g. a number where a string belongs), so that its
// sender still gets a rejected status.
func salvageID(value []byte) string {
	var loose map[string]json.RawMessage
	if json.Unmarshal(value, &loose) != nil {
		return ""
	}
	var id string
	if json.Unmarshal(loose["id"], &id) != nil || id == "" || utf8.RuneCountInString(id) > 64 || strings.IndexByte(id, 0) >= 0 {
		return ""
	}
	return id
}

// salvageIDNonUTF8 reads the id of a record that is not valid UTF-8 when
// the bad bytes are elsewhere: its sender gets a rejected status, as for
// any record whose id can be read. An id that itself holds bad bytes is
// not guessed at.
func salvageIDNonUTF8(value []byte) string {
	id := salvageID(bytes.ToValidUTF8(value, []byte("\uFFFD")))
	if strings.ContainsRune(id, utf8.RuneError) {
		return ""
	}
	return id
}

func jsonErrText(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %s must be %s, not %s", te.Field, te.Type.String(), te.Value)
	}
	return err.Error()
}

// fillPlaceholders replaces {name} with params[name]. A placeholder is a
// brace pair around [A-Za-z0-9_.-]+; other braces are literal text. A
// placeholder without a value is an error naming it.
func fillPlaceholders(text string, params map[string]string) (string, error) {
	if strings.IndexByte(text, '{') < 0 {
		return text, nil
	}
	var b strings.Builder
	b.Grow(len(text))
	for i := 0; i < len(text); {
		c := text[i]
		if c != '{' {
			b.WriteByte(c)
			i++
			continue
		}
		end := i + 1
		for end < len(text) && isPlaceholderChar(text[end]) {
			end++
		}
		if end == i+1 || end >= len(text) || text[end] != '}' {
			b.WriteByte(c)
			i++
			continue
		}
		name := text[i+1 : end]
		v, ok := params[name]
		if !ok {
			return "", invalid("placeholder {%s} has no value in params", name)
		}
		b.WriteString(v)
		i = end + 1
	}
	return b.String(), nil
}

func isPlaceholderChar(c byte) bool {
	return c == '_' || c == '-' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
