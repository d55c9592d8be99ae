package dlr

import (
	"errors"
	"time"
)

// ErrNotReceipt is returned by ParseReceiptText for a text that has neither
// an id: nor a stat: field.
var ErrNotReceipt = errors.New("dlr: not a delivery receipt")

// Receipt is a delivery receipt as the SMSC reported it. String fields are
// as found (trimmed), without interpretation; the gateway canonicalises the
// ID with LookupKeys.
type Receipt struct {
	// ID is the SMSC's message id: the receipted_message_id TLV when present
	// (see ApplyTLVs), else the text's id: field.
	ID string
	// State is the parsed stat: field or message_state TLV; StateNone when
	// absent or not recognised (Stat then holds the raw text).
	State State
	// Stat is the raw stat: value from the text, for logs.
	Stat string
	// Err is the err: field ("000"), or the network_error_code TLV rendered
	// as "<type>:0x<code>" (e.g. "3:0x0001").
	Err string
	// TextErr is the err: field of the text when the network_error_code
	// TLV replaced it in Err; "" otherwise (see ErrText).
	TextErr string
	// NetworkErr is the network_error_code TLV (0x0423); the zero value
	// when absent or not 3 bytes.
	NetworkErr NetworkError
	// Sub and Dlvrd are the sub: and dlvrd: fields as given.
	Sub, Dlvrd string
	// SubmitDate and DoneDate are in UTC; zero when absent or unparseable.
	// Accepted forms: YYMMDDhhmm, YYMMDDhhmmss, YYYYMMDDhhmmss.
	SubmitDate, DoneDate time.Time
	// Text is the text: field: everything after it, trimmed.
	Text string
}

type fieldKey uint8

const (
	keyOther fieldKey = iota
	keyID
	keySub
	keyDlvrd
	keySubmitDate
	keyDoneDate
	keyStat
	keyErr
	keyText
)

// ParseReceiptText parses the short_message of a delivery receipt,
// nominally
//
//	id:IIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:...
//
// but tolerant of what operators actually send: any field order, any case
// of keys, "submit date" / "submit_date" / "submitdate" (same for done),
// spaces around ':', tabs and runs of spaces, missing and unknown fields,
// and NUL padding. text: is taken to be last and gets the rest of the input,
// spaces included. A key given twice keeps its first value. A key followed
// by spaces and then another key has an empty value.
//
// It returns ErrNotReceipt when the text has neither id: nor stat: (one of
// them may legitimately be missing when the TLVs carry it). It never panics
// and allocates only the string copy of b.
func ParseReceiptText(b []byte) (Receipt, error) {
	s := string(b)
	var r Receipt
	var seen [keyText + 1]bool
	prev := "" // previous bare word, for two-word keys such as "submit date"
	n := len(s)
	i := 0
	for i < n {
		for i < n && isSpaceNUL(s[i]) {
			i++
		}
		if i >= n {
			break
		}
		start := i
		for i < n && !isSpaceNUL(s[i]) && s[i] != ':' {
			i++
		}
		word := s[start:i]
		j := i
		for j < n && (s[j] == ' ' || s[j] == '\t') {
			j++
		}
		if j >= n || s[j] != ':' {
			prev = word
			continue
		}
		k := keyOf(prev, word)
		prev = ""
		i = j + 1
		if k == keyText {
			if !seen[keyText] {
				seen[keyText] = true
				r.Text = trimSpaceNUL(s[i:])
			}
			break
		}
		// Value: up to the next separator. After "key:" plus spaces, a token
		// that itself contains ':' is the next field, not this value.
		spaced := i < n && (s[i] == ' ' || s[i] == '\t')
		for i < n && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		vs := i
		ve := i
		for ve < n && !isSpaceNUL(s[ve]) {
			ve++
		}
		if spaced && indexByte(s[vs:ve], ':') >= 0 {
			ve = vs
		}
		i = ve
		if seen[k] && k != keyOther {
			continue
		}
		seen[k] = true
		v := s[vs:ve]
		switch k {
		case keyID:
			r.ID = v
		case keySub:
			r.Sub = v
		case keyDlvrd:
			r.Dlvrd = v
		case keySubmitDate:
			r.SubmitDate = parseReceiptDate(v)
		case keyDoneDate:
			r.DoneDate = parseReceiptDate(v)
		case keyStat:
			r.Stat = v
			r.State, _ = ParseState(v)
		case keyErr:
			r.Err = v
		}
	}
	if !seen[keyID] && !seen[keyStat] {
		return Receipt{}, ErrNotReceipt
	}
	return r, nil
}

// keyOf classifies a key. prev is the bare word before it, which turns
// "date" into "submit date" or "done date".
func keyOf(prev, word string) fieldKey {
	var buf [16]byte
	switch normKey(&buf, word) {
	case "date":
		var pbuf [16]byte
		switch normKey(&pbuf, prev) {
		case "submit":
			return keySubmitDate
		case "done":
			return keyDoneDate
		}
	case "id", "msgid", "messageid":
		return keyID
	case "sub":
		return keySub
	case "dlvrd":
		return keyDlvrd
	case "submitdate":
		return keySubmitDate
	case "donedate":
		return keyDoneDate
	case "stat", "status":
		return keyStat
	case "err", "error":
		return keyErr
	case "text":
		return keyText
	}
	return keyOther
}

// normKey lower-cases an ASCII key into buf, dropping the '_' and '-' some
// SMSCs put inside keys ("submit_date"). A key too long for buf is no key
// we know and gives "".
func normKey(buf *[16]byte, word string) string {
	n := 0
	for i := 0; i < len(word); i++ {
		c := word[i]
		if c == '_' || c == '-' {
			continue
		}
		if n == len(buf) {
			return ""
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[n] = c
		n++
	}
	return string(buf[:n])
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// parseReceiptDate reads YYMMDDhhmm, YYMMDDhhmmss or YYYYMMDDhhmmss as UTC.
// Two-digit years are 20YY. Anything else, including out-of-range fields
// (month 13, 30 February), gives the zero time.
func parseReceiptDate(v string) time.Time {
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return time.Time{}
		}
	}
	num := func(i, w int) int {
		x := 0
		for k := i; k < i+w; k++ {
			x = x*10 + int(v[k]-'0')
		}
		return x
	}
	var year, rest int
	switch len(v) {
	case 10, 12:
		year, rest = 2000+num(0, 2), 2
	case 14:
		year, rest = num(0, 4), 4
	default:
		return time.Time{}
	}
	mon, day, hh, mm := num(rest, 2), num(rest+2, 2), num(rest+4, 2), num(rest+6, 2)
	ss := 0
	if len(v)-rest == 10 {
		ss = num(rest+8, 2)
	}
	if mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 59 {
		return time.Time{}
	}
	t := time.Date(year, time.Month(mon), day, hh, mm, ss, 0, time.UTC)
	if t.Day() != day { // normalised: the day does not exist in that month
		return time.Time{}
	}
	return t
}

// ApplyTLVs overlays the receipt TLVs of a deliver_sm on the text form; the
// TLVs win because they are typed and the text is free-form. receiptedID
// (receipted_message_id, 0x001E) replaces ID when non-empty; messageState
// (0x0427, only when hasState) replaces State when it is a valid value;
// networkErr (network_error_code, 0x0423: network type, then a 2-byte
// big-endian code) replaces Err when it is exactly 3 bytes.
func ApplyTLVs(r *Receipt, receiptedID string, messageState byte, hasState bool, networkErr []byte) {
	if id := trimSpaceNUL(receiptedID); id != "" {
		r.ID = id
	}
	if hasState {
		if st, ok := FromMessageState(messageState); ok {
			r.State = st
		}
	}
	if len(networkErr) == 3 {
		if r.NetworkErr.IsZero() {
			r.TextErr = r.Err
		}
		r.Err = renderNetworkError(networkErr)
		r.NetworkErr = NetworkError{Type: networkErr[0], Code: uint16(networkErr[1])<<8 | uint16(networkErr[2])}
	}
}

func renderNetworkError(b []byte) string {
	const hexdig = "0123456789ABCDEF"
	var buf [10]byte
	out := buf[:0]
	t := b[0]
	if t >= 100 {
		out = append(out, '0'+t/100)
	}
	if t >= 10 {
		out = append(out, '0'+t/10%10)
	}
	out = append(out, '0'+t%10, ':', '0', 'x',
		hexdig[b[1]>>4], hexdig[b[1]&15], hexdig[b[2]>>4], hexdig[b[2]&15])
	return string(out)
}

// ErrText is the err: field of the receipt's text, whether or not the
// network_error_code TLV replaced it in Err.
func (r *Receipt) ErrText() string {
	if r.NetworkErr.IsZero() {
		return r.Err
	}
	return r.TextErr
}
