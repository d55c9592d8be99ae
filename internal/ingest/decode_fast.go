package ingest

import (
	"encoding/binary"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeSubmitFast is decodeSubmit without encoding/json on the common
// path. It returns exactly what decodeSubmit returns for every input: the
// same record, id, and *invalidError Detail.
//
// It decodes valid records itself, and invalid ones whose problem is one
// of decodeSubmit's own checks (size, UTF-8, trailing data, missing
// fields, id length, priority range, kind, meta, expires_at, NUL).
// Anything else goes to decodeSubmit, so that the error text stays
// encoding/json's, or because the case is too rare to be worth copying:
// JSON syntax errors, a value of the wrong type for a field, a priority
// that is not a plain integer of at most 18 digits, a send_at/expires_at
// time.Time rejects, a field given twice (encoding/json merges), a top
// level that is not an object, and values nested more than fastMaxDepth
// levels deep.
//
// What it copies from encoding/json (v1, the default build): unknown
// fields are skipped; keys match field names case-insensitively, with
// Unicode simple folding (U+212A KELVIN SIGN matches k); null leaves a
// string field empty, sets a pointer field or params to nil, and makes
// meta the text "null"; a null params value is ""; string escapes decode
// as in encoding/json, invalid surrogates becoming U+FFFD; meta is a copy
// of its value's JSON text; send_at and expires_at go through
// time.Time.UnmarshalJSON; after the object, whitespace and then ']' or
// '}' is not trailing data (json.Decoder.More is false there).
//
// The record and its text, dlr and priority targets are one allocation,
// all the strings (params too) another, and meta a third; none shares
// memory with value.
func decodeSubmitFast(value []byte, maxBytes int) (*submitRecord, string, error) {
	if rec, id, err, ok := decodeSubmitFastPath(value, maxBytes); ok {
		return rec, id, err
	}
	return decodeSubmit(value, maxBytes)
}

// decodeSubmitFastPath is decodeSubmitFast without the fallback: ok false
// means the input needs decodeSubmit.
func decodeSubmitFastPath(value []byte, maxBytes int) (rec *submitRecord, id string, err error, ok bool) {
	if len(value) > maxBytes {
		return nil, "", invalid("payload of %d bytes exceeds limits.max_bytes (%d)", len(value), maxBytes), true
	}
	if !utf8.Valid(value) {
		return nil, salvageIDNonUTF8(value), invalid("payload is not valid UTF-8"), true
	}
	d := fastDecoder{data: value}
	end, ok := d.parse()
	if !ok {
		return nil, "", nil, false
	}
	rec, escaped, ok := d.build()
	if !ok {
		return nil, "", nil, false
	}
	// json.Decoder.More: anything but whitespace, ']' or '}' after the
	// object is trailing data.
	if j := skipJSONSpace(value, end); j < len(value) && value[j] != ']' && value[j] != '}' {
		return nil, rec.ID, invalid("trailing data after the JSON object"), true
	}
	id, err = checkDecodedSubmit(rec, escaped)
	if err != nil {
		return nil, id, err, true
	}
	return rec, id, nil, true
}

// checkDecodedSubmit is the part of decodeSubmit after decoding; keep the two in
// step (the differential tests in decode_fast_test.go catch drift).
// escaped tells whether any string field or params had an escape: only
// \u0000 puts a NUL in a string, raw control characters are syntax errors.
func checkDecodedSubmit(rec *submitRecord, escaped bool) (string, error) {
	if rec.ID == "" {
		return "", invalid("missing required field id")
	}
	if n := utf8.RuneCountInString(rec.ID); n > 64 {
		return "", invalid("id is %d characters, the limit is 64", n)
	}
	if strings.IndexByte(rec.ID, 0) >= 0 {
		// Not an id anyone can use: no rejected event is keyed by it.
		return "", invalid("field id contains NUL (U+0000)")
	}
	var missing []string
	if rec.Account == "" {
		missing = append(missing, "account")
	}
	if rec.From == "" {
		missing = append(missing, "from")
	}
	if rec.To == "" {
		missing = append(missing, "to")
	}
	if rec.Text == nil {
		missing = append(missing, "text")
	}
	if len(missing) > 0 {
		return rec.ID, invalid("missing required field %s", strings.Join(missing, ", "))
	}
	if rec.Priority != nil && (*rec.Priority < 0 || *rec.Priority > 9) {
		return rec.ID, invalid("priority %d is outside 0-9", *rec.Priority)
	}
	switch rec.Kind {
	case "", "transactional", "marketing":
	default:
		return rec.ID, invalid("unknown kind %q (transactional or marketing)", rec.Kind)
	}
	if len(rec.Meta) > 0 && rec.Meta[0] != '{' && string(rec.Meta) != "null" {
		return rec.ID, invalid("meta must be a JSON object")
	}
	if rec.SendAt != nil && rec.ExpiresAt != nil && !rec.ExpiresAt.After(*rec.SendAt) {
		return rec.ID, invalid("expires_at is not after send_at")
	}
	if escaped {
		if err := checkStorable(rec); err != nil {
			return rec.ID, err
		}
	}
	return rec.ID, nil
}

// Fields of submitRecord. The string fields come first, in the order of
// fastDecoder.str.
const (
	fldID = iota
	fldAccount
	fldFrom
	fldTo
	fldText
	fldEncoding
	fldKind
	fldRoute
	fldParams
	fldDLR
	fldPriority
	fldSendAt
	fldExpiresAt
	fldMeta
	fldUnknown

	numStrFields = fldParams
)

// fastMaxDepth bounds the nesting of a skipped value or meta; deeper input
// goes to decodeSubmit (encoding/json allows 10000 levels).
const fastMaxDepth = 256

// jsonSpan is a range of the input. For strings it is the text between the
// quotes, and esc tells whether it has backslash escapes.
type jsonSpan struct {
	start, end int
	esc        bool
}

// fastDecoder holds what parse found, as ranges of data; build turns it
// into a submitRecord.
type fastDecoder struct {
	data    []byte
	seen    uint16 // fields present (bit per fld*)
	null    uint16 // fields present as null
	str     [numStrFields]jsonSpan
	params  jsonSpan // the object, braces included
	nParams int
	sendAt  jsonSpan // the string, quotes included
	expires jsonSpan
	meta    jsonSpan // the value as it appears
	dlr     bool
	prio    int
}

// fastBlock is the one allocation for the record and what its pointer
// fields point to (but the times, which are rare).
type fastBlock struct {
	rec  submitRecord
	text string
	dlr  bool
	prio int
}

// parse checks that data starts with one JSON object (after whitespace) the
// fast path can decode, and returns the offset just past it.
func (d *fastDecoder) parse() (int, bool) {
	data := d.data
	i := skipJSONSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return 0, false
	}
	i = skipJSONSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return 0, false
		}
		ke, kesc, ok := scanJSONString(data, i)
		if !ok {
			return 0, false
		}
		f := lookupSubmitField(data[i+1:ke-1], kesc)
		i = skipJSONSpace(data, ke)
		if i >= len(data) || data[i] != ':' {
			return 0, false
		}
		i = skipJSONSpace(data, i+1)
		if i >= len(data) {
			return 0, false
		}
		if f != fldUnknown {
			bit := uint16(1) << f
			if d.seen&bit != 0 {
				return 0, false // duplicate: encoding/json merges, leave it to it
			}
			d.seen |= bit
		}
		if i, ok = d.value(f, i); !ok {
			return 0, false
		}
		i = skipJSONSpace(data, i)
		if i >= len(data) {
			return 0, false
		}
		switch data[i] {
		case ',':
			i = skipJSONSpace(data, i+1)
		case '}':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// value reads the value of field f starting at data[i] (not whitespace).
func (d *fastDecoder) value(f int, i int) (int, bool) {
	data := d.data
	c := data[i]
	if c == 'n' && f != fldMeta && f != fldUnknown {
		if !hasJSONLiteral(data, i, "null") {
			return 0, false
		}
		d.null |= 1 << f
		return i + 4, true
	}
	switch f {
	case fldID, fldAccount, fldFrom, fldTo, fldText, fldEncoding, fldKind, fldRoute:
		if c != '"' {
			return 0, false
		}
		e, esc, ok := scanJSONString(data, i)
		d.str[f] = jsonSpan{i + 1, e - 1, esc}
		return e, ok
	case fldParams:
		if c != '{' {
			return 0, false
		}
		e, ok := d.scanParams(i)
		d.params = jsonSpan{start: i, end: e}
		return e, ok
	case fldDLR:
		switch {
		case hasJSONLiteral(data, i, "true"):
			d.dlr = true
			return i + 4, true
		case hasJSONLiteral(data, i, "false"):
			return i + 5, true
		}
		return 0, false
	case fldPriority:
		if c != '-' && (c < '0' || c > '9') {
			return 0, false
		}
		e, ok := scanJSONNumber(data, i)
		if !ok {
			return 0, false
		}
		n, ok := parseJSONSmallInt(data[i:e])
		d.prio = n
		return e, ok
	case fldSendAt, fldExpiresAt:
		if c != '"' {
			return 0, false
		}
		e, _, ok := scanJSONString(data, i)
		if f == fldSendAt {
			d.sendAt = jsonSpan{start: i, end: e}
		} else {
			d.expires = jsonSpan{start: i, end: e}
		}
		return e, ok
	case fldMeta:
		e, ok := skipJSONValue(data, i)
		d.meta = jsonSpan{start: i, end: e}
		return e, ok
	default:
		return skipJSONValue(data, i)
	}
}

// scanParams checks an object whose values are strings or null.
func (d *fastDecoder) scanParams(i int) (int, bool) {
	data := d.data
	i = skipJSONSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return 0, false
		}
		e, _, ok := scanJSONString(data, i)
		if !ok {
			return 0, false
		}
		i = skipJSONSpace(data, e)
		if i >= len(data) || data[i] != ':' {
			return 0, false
		}
		i = skipJSONSpace(data, i+1)
		switch {
		case i >= len(data):
			return 0, false
		case data[i] == '"':
			if i, _, ok = scanJSONString(data, i); !ok {
				return 0, false
			}
		case hasJSONLiteral(data, i, "null"):
			i += 4
		default:
			return 0, false
		}
		d.nParams++
		i = skipJSONSpace(data, i)
		if i >= len(data) {
			return 0, false
		}
		switch data[i] {
		case ',':
			i = skipJSONSpace(data, i+1)
		case '}':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// build makes the record from what parse found, and tells whether a string
// in it had escapes. It fails (for the fallback) only when time.Time
// rejects send_at or expires_at.
func (d *fastDecoder) build() (rec *submitRecord, escaped bool, ok bool) {
	data := d.data
	present := d.seen &^ d.null
	blk := new(fastBlock)
	rec = &blk.rec
	if present&(1<<fldSendAt) != 0 {
		// The same call encoding/json makes, on the same (raw) bytes.
		rec.SendAt = new(time.Time)
		if rec.SendAt.UnmarshalJSON(data[d.sendAt.start:d.sendAt.end]) != nil {
			return nil, false, false
		}
	}
	if present&(1<<fldExpiresAt) != 0 {
		rec.ExpiresAt = new(time.Time)
		if rec.ExpiresAt.UnmarshalJSON(data[d.expires.start:d.expires.end]) != nil {
			return nil, false, false
		}
	}

	// Unescaping never makes a string longer, so the raw lengths bound
	// the shared buffer.
	total := 0
	for f := range numStrFields {
		if present&(1<<f) != 0 {
			total += d.str[f].end - d.str[f].start
		}
	}
	hasParams := present&(1<<fldParams) != 0
	if hasParams {
		total += d.params.end - d.params.start
	}
	var b strings.Builder
	b.Grow(total)
	var scratch [256]byte
	var offs [numStrFields + 1]int
	for f := range numStrFields {
		offs[f] = b.Len()
		if present&(1<<f) != 0 {
			writeJSONString(&b, scratch[:0], data, d.str[f])
			escaped = escaped || d.str[f].esc
		}
	}
	offs[numStrFields] = b.Len()
	var lensArr [32]int
	lens := lensArr[:0] // params: key length, value length, ...
	if hasParams {
		i := skipJSONSpace(data, d.params.start+1)
		for data[i] != '}' {
			e, esc, _ := scanJSONString(data, i)
			n := b.Len()
			writeJSONString(&b, scratch[:0], data, jsonSpan{i + 1, e - 1, esc})
			lens = append(lens, b.Len()-n)
			escaped = escaped || esc
			i = skipJSONSpace(data, e)   // at ':'
			i = skipJSONSpace(data, i+1) // at the value
			if data[i] == '"' {
				e, esc, _ = scanJSONString(data, i)
				n = b.Len()
				writeJSONString(&b, scratch[:0], data, jsonSpan{i + 1, e - 1, esc})
				lens = append(lens, b.Len()-n)
				escaped = escaped || esc
			} else { // null
				e = i + 4
				lens = append(lens, 0)
			}
			i = skipJSONSpace(data, e) // at ',' or '}'
			if data[i] == ',' {
				i = skipJSONSpace(data, i+1)
			}
		}
	}
	s := b.String()
	rec.ID = s[offs[fldID]:offs[fldID+1]]
	rec.Account = s[offs[fldAccount]:offs[fldAccount+1]]
	rec.From = s[offs[fldFrom]:offs[fldFrom+1]]
	rec.To = s[offs[fldTo]:offs[fldTo+1]]
	if present&(1<<fldText) != 0 {
		blk.text = s[offs[fldText]:offs[fldText+1]]
		rec.Text = &blk.text
	}
	rec.Encoding = s[offs[fldEncoding]:offs[fldEncoding+1]]
	rec.Kind = s[offs[fldKind]:offs[fldKind+1]]
	rec.Route = s[offs[fldRoute]:offs[fldRoute+1]]
	if hasParams {
		m := make(map[string]string, d.nParams)
		o := offs[numStrFields]
		for j := 0; j < len(lens); j += 2 {
			k := s[o : o+lens[j]]
			o += lens[j]
			m[k] = s[o : o+lens[j+1]]
			o += lens[j+1]
		}
		rec.Params = m
	}
	if present&(1<<fldDLR) != 0 {
		blk.dlr = d.dlr
		rec.DLR = &blk.dlr
	}
	if present&(1<<fldPriority) != 0 {
		blk.prio = d.prio
		rec.Priority = &blk.prio
	}
	if d.seen&(1<<fldMeta) != 0 {
		// json.RawMessage copies its input, null included.
		m := make([]byte, d.meta.end-d.meta.start)
		copy(m, data[d.meta.start:d.meta.end])
		rec.Meta = m
	}
	return rec, escaped, true
}

// writeJSONString writes the decoded text of a string jsonSpan to b, using
// scratch (when big enough) for unescaping.
func writeJSONString(b *strings.Builder, scratch []byte, data []byte, sp jsonSpan) {
	raw := data[sp.start:sp.end]
	if !sp.esc {
		b.Write(raw)
		return
	}
	b.Write(appendUnescaped(scratch, raw))
}

// appendUnescaped appends the decoded text of s, the inside of a string
// scanJSONString accepted, exactly as encoding/json's unquoteBytes decodes it.
// s is valid UTF-8, so only escapes change anything.
func appendUnescaped(dst, s []byte) []byte {
	for r := 0; r < len(s); {
		if s[r] != '\\' {
			j := r + 1
			for j < len(s) && s[j] != '\\' {
				j++
			}
			dst = append(dst, s[r:j]...)
			r = j
			continue
		}
		switch c := s[r+1]; c {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			rr := jsonHex4(s[r:])
			r += 6
			if utf16.IsSurrogate(rr) {
				rr1 := jsonHex4(s[r:])
				if dec := utf16.DecodeRune(rr, rr1); dec != unicode.ReplacementChar {
					r += 6
					dst = utf8.AppendRune(dst, dec)
					continue
				}
				rr = unicode.ReplacementChar
			}
			dst = utf8.AppendRune(dst, rr)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, c)
		}
		r += 2
	}
	return dst
}

// jsonHex4 is encoding/json's getu4: the value of a \uXXXX at the start of
// s, or -1.
func jsonHex4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c = c - '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// lookupSubmitField finds the field a key (the inside of its string) names, as
// encoding/json does: exactly, or else case-insensitively.
func lookupSubmitField(raw []byte, esc bool) int {
	if !esc {
		if f := exactSubmitField(raw); f != fldUnknown {
			return f
		}
		fold := false
		for _, c := range raw {
			if c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
				fold = true
				break
			}
		}
		if !fold {
			// Lower-case ASCII folds to a field name only if it is one.
			return fldUnknown
		}
	}
	var kb, fb [64]byte
	key := raw
	if esc {
		key = appendUnescaped(kb[:0], raw)
	}
	// Folding shrinks a rune at most from 3 bytes (U+212A) to 1, and the
	// longest name is 10 bytes.
	if len(key) > 40 {
		return fldUnknown
	}
	return foldedSubmitField(appendFoldedKey(fb[:0], key))
}

func exactSubmitField(k []byte) int {
	switch string(k) {
	case "id":
		return fldID
	case "account":
		return fldAccount
	case "from":
		return fldFrom
	case "to":
		return fldTo
	case "text":
		return fldText
	case "params":
		return fldParams
	case "encoding":
		return fldEncoding
	case "dlr":
		return fldDLR
	case "kind":
		return fldKind
	case "priority":
		return fldPriority
	case "send_at":
		return fldSendAt
	case "expires_at":
		return fldExpiresAt
	case "route":
		return fldRoute
	case "meta":
		return fldMeta
	}
	return fldUnknown
}

func foldedSubmitField(k []byte) int {
	switch string(k) {
	case "ID":
		return fldID
	case "ACCOUNT":
		return fldAccount
	case "FROM":
		return fldFrom
	case "TO":
		return fldTo
	case "TEXT":
		return fldText
	case "PARAMS":
		return fldParams
	case "ENCODING":
		return fldEncoding
	case "DLR":
		return fldDLR
	case "KIND":
		return fldKind
	case "PRIORITY":
		return fldPriority
	case "SEND_AT":
		return fldSendAt
	case "EXPIRES_AT":
		return fldExpiresAt
	case "ROUTE":
		return fldRoute
	case "META":
		return fldMeta
	}
	return fldUnknown
}

// appendFoldedKey is encoding/json's appendFoldedName.
func appendFoldedKey(out, in []byte) []byte {
	for i := 0; i < len(in); {
		if c := in[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(in[i:])
		for {
			r2 := unicode.SimpleFold(r)
			if r2 <= r {
				r = r2
				break
			}
			r = r2
		}
		out = utf8.AppendRune(out, r)
		i += n
	}
	return out
}

// skipJSONSpace skips JSON whitespace.
func skipJSONSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func hasJSONLiteral(data []byte, i int, lit string) bool {
	return len(data)-i >= len(lit) && string(data[i:i+len(lit)]) == lit
}

// jsonStrPlain marks the bytes that need no attention inside a string.
var jsonStrPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const swarOnes8 = 0x0101010101010101

// scanJSONString checks the string whose quote is at data[i] and returns the
// offset past its closing quote and whether it has escapes.
func scanJSONString(data []byte, i int) (end int, esc bool, ok bool) {
	i++
	for {
		// Eight bytes at a time while none is '"', '\\' or below 0x20
		// (the test has false positives, never false negatives).
		for i+8 <= len(data) {
			x := binary.LittleEndian.Uint64(data[i:])
			q := x ^ (swarOnes8 * '"')
			bs := x ^ (swarOnes8 * '\\')
			if ((q-swarOnes8)&^q|(bs-swarOnes8)&^bs|(x-swarOnes8*0x20)&^x)&(swarOnes8*0x80) != 0 {
				break
			}
			i += 8
		}
		for i < len(data) && jsonStrPlain[data[i]] {
			i++
		}
		if i >= len(data) {
			return 0, false, false
		}
		switch data[i] {
		case '"':
			return i + 1, esc, true
		case '\\':
			esc = true
			if i+1 >= len(data) {
				return 0, false, false
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if jsonHex4(data[i:]) < 0 {
					return 0, false, false
				}
				i += 6
			default:
				return 0, false, false
			}
		default: // control character
			return 0, false, false
		}
	}
}

// scanJSONNumber checks the JSON number at data[i] and returns its end.
func scanJSONNumber(data []byte, i int) (int, bool) {
	n := len(data)
	if i < n && data[i] == '-' {
		i++
	}
	switch {
	case i >= n:
		return 0, false
	case data[i] == '0':
		i++
	case '1' <= data[i] && data[i] <= '9':
		i++
		for i < n && '0' <= data[i] && data[i] <= '9' {
			i++
		}
	default:
		return 0, false
	}
	if i < n && data[i] == '.' {
		i++
		if i >= n || data[i] < '0' || data[i] > '9' {
			return 0, false
		}
		for i < n && '0' <= data[i] && data[i] <= '9' {
			i++
		}
	}
	if i < n && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < n && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= n || data[i] < '0' || data[i] > '9' {
			return 0, false
		}
		for i < n && '0' <= data[i] && data[i] <= '9' {
			i++
		}
	}
	return i, true
}

// parseJSONSmallInt parses a JSON number that strconv.ParseInt(s, 10, 64)
// accepts and that fits an int, handling up to 18 digits; anything else
// (fraction, exponent, longer) is not ok.
func parseJSONSmallInt(s []byte) (int, bool) {
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	if len(s) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	if int64(int(v)) != v {
		return 0, false
	}
	return int(v), true
}

// skipJSONValue checks the JSON value at data[i] (not whitespace) and returns
// its end.
func skipJSONValue(data []byte, i int) (int, bool) {
	switch c := data[i]; c {
	case '"':
		e, _, ok := scanJSONString(data, i)
		return e, ok
	case '{', '[':
		return skipJSONNested(data, i)
	case 't':
		return i + 4, hasJSONLiteral(data, i, "true")
	case 'f':
		return i + 5, hasJSONLiteral(data, i, "false")
	case 'n':
		return i + 4, hasJSONLiteral(data, i, "null")
	default:
		return scanJSONNumber(data, i)
	}
}

// skipJSONNested checks the object or array at data[i], without recursion,
// up to fastMaxDepth levels.
func skipJSONNested(data []byte, i int) (int, bool) {
	var stack [fastMaxDepth]byte
	depth := 0
	n := len(data)
	ok := false
	for {
		// A value starts at i.
		i = skipJSONSpace(data, i)
		if i >= n {
			return 0, false
		}
		switch c := data[i]; c {
		case '{', '[':
			if depth == len(stack) {
				return 0, false
			}
			stack[depth] = c
			depth++
			i = skipJSONSpace(data, i+1)
			if i >= n {
				return 0, false
			}
			if data[i] == c+2 { // '}' or ']': empty
				depth--
				i++
				break
			}
			if c == '{' {
				if i, ok = scanJSONKey(data, i); !ok {
					return 0, false
				}
			}
			continue
		default:
			if i, ok = skipJSONValue(data, i); !ok {
				return 0, false
			}
		}
		// A value ended at i: close what it ends.
		for {
			if depth == 0 {
				return i, true
			}
			i = skipJSONSpace(data, i)
			if i >= n {
				return 0, false
			}
			c := data[i]
			if c == ',' {
				i = skipJSONSpace(data, i+1)
				if stack[depth-1] == '{' {
					if i, ok = scanJSONKey(data, i); !ok {
						return 0, false
					}
				}
				break
			}
			if c != stack[depth-1]+2 {
				return 0, false
			}
			depth--
			i++
		}
	}
}

// scanJSONKey checks `"key" :` at data[i] and returns the offset past the
// colon.
func scanJSONKey(data []byte, i int) (int, bool) {
	if i >= len(data) || data[i] != '"' {
		return 0, false
	}
	e, _, ok := scanJSONString(data, i)
	if !ok {
		return 0, false
	}
	i = skipJSONSpace(data, e)
	if i >= len(data) || data[i] != ':' {
		return 0, false
	}
	return i + 1, true
}
