package message

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/dlr"
)

// Event is one sms.status record (contract §1.2).
type Event struct {
	ID        string
	Account   string
	Status    string
	Operator  string
	Network   string
	Parts     int
	PartsDone int
	SMSCIDs   []string
	Reason    string // error.reason; "" = error null
	Code      string // error.code
	Detail    string // error.detail
	Cost      billing.Amount
	Price     billing.Amount
	Currency  string
	At        time.Time
	Meta      []byte // raw JSON object or nil
	Duplicate bool
}

// AppendJSON encodes the event by hand: it is on the hot path (one or two
// events per message) and amounts must be written as exact decimals, which
// encoding/json cannot do for a fixed-point type without a string.
func (e *Event) AppendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = AppendJSONString(b, e.ID)
	b = append(b, `,"account":`...)
	b = AppendJSONString(b, e.Account)
	b = append(b, `,"status":`...)
	b = AppendJSONString(b, e.Status)
	b = append(b, `,"operator":`...)
	if e.Operator == "" {
		b = append(b, "null"...)
	} else {
		b = AppendJSONString(b, e.Operator)
	}
	if e.Network != "" {
		b = append(b, `,"network":`...)
		b = AppendJSONString(b, e.Network)
	}
	b = append(b, `,"parts":`...)
	b = strconv.AppendInt(b, int64(e.Parts), 10)
	b = append(b, `,"parts_done":`...)
	b = strconv.AppendInt(b, int64(e.PartsDone), 10)
	b = append(b, `,"smsc_ids":[`...)
	for i, id := range e.SMSCIDs {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, id)
	}
	b = append(b, `],"error":`...)
	if e.Reason == "" {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"reason":`...)
		b = AppendJSONString(b, e.Reason)
		if e.Code != "" {
			b = append(b, `,"code":`...)
			b = AppendJSONString(b, e.Code)
		}
		if e.Detail != "" {
			b = append(b, `,"detail":`...)
			b = AppendJSONString(b, e.Detail)
		}
		b = append(b, '}')
	}
	if e.Currency != "" {
		b = append(b, `,"cost":`...)
		b = e.Cost.Append(b)
		b = append(b, `,"price":`...)
		b = e.Price.Append(b)
		b = append(b, `,"currency":`...)
		b = AppendJSONString(b, e.Currency)
	} else {
		b = append(b, `,"cost":null,"price":null,"currency":null`...)
	}
	b = append(b, `,"at":"`...)
	b = e.At.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, '"')
	if len(e.Meta) > 0 {
		b = append(b, `,"meta":`...)
		b = append(b, e.Meta...)
	}
	if e.Duplicate {
		b = append(b, `,"duplicate":true`...)
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// AppendJSONString writes s as a JSON string; invalid UTF-8 becomes U+FFFD
// (inputs are validated, but receipts and SMSC ids come from peers).
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c >= 0x20:
				b = append(b, c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else if r == '\u2028' || r == '\u2029' {
			b = append(b, `\u202`...)
			b = append(b, hexDigits[r&0xF])
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// MOEvent is one sms.mo record (contract §1.3): the reassembled message
// with its id first.
type MOEvent struct {
	ID string `json:"id"`
	*dlr.MO
}

func (m *MOEvent) Marshal() []byte {
	b, _ := json.Marshal(m) // cannot fail: plain fields
	return b
}
