package receipts

import (
	"regexp"
	"strings"
	"time"

	"github.com/smsgate/smsgate/dlr"
	"github.com/smsgate/smsgate/internal/correlate"
	"github.com/smsgate/smsgate/internal/message"
	"github.com/smsgate/smsgate/internal/policy"
	"github.com/smsgate/smsgate/smpp/coding"
	"github.com/smsgate/smsgate/smpp/pdu"
)

// receipt is a parsed delivery receipt ready for correlation. Every string
// from the SMSC is sanitised here; the id is also kept byte-exact.
type receipt struct {
	op     *policy.Operator
	r      dlr.Receipt
	raw    []byte        // the receipt's SMSC id as sent
	text   string        // the receipt's text, sanitised and redacted (Options.KeepText), else ""
	state  message.State // Delivered, Undeliverable, Expired; Submitted for an intermediate receipt
	keys   []string      // correlation keys in preference order (stored form)
	doneAt time.Time
}

// parseReceipt reads a receipt from text and TLVs (TLVs win). False: not a
// receipt that can be applied (it is acknowledged and counted).
func parseReceipt(op *policy.Operator, sm *pdu.SM, at time.Time) (receipt, bool) {
	r, err := dlr.ParseReceiptText(sm.Text())
	rid, hasRID := sm.TLVs.CString(pdu.TagReceiptedMessageID)
	ms, hasMS := sm.TLVs.Uint(pdu.TagMessageState)
	nerr, _ := sm.TLVs.Get(pdu.TagNetworkErrorCode)
	if err != nil && !hasRID {
		return receipt{}, false
	}
	dlr.ApplyTLVs(&r, rid, byte(ms), hasMS, nerr)
	if r.ID == "" {
		return receipt{}, false
	}
	rc := receipt{op: op, raw: []byte(r.ID), doneAt: r.DoneDate}
	r.Stat, r.Err, r.TextErr = message.Sanitize(r.Stat), message.Sanitize(r.Err), message.Sanitize(r.TextErr)
	r.Sub, r.Dlvrd, r.Text = message.Sanitize(r.Sub), message.Sanitize(r.Dlvrd), message.Sanitize(r.Text)
	rc.r = r
	if rc.doneAt.IsZero() {
		rc.doneAt = at
	}
	ps, ok := r.State.PartStatus()
	if !ok {
		return receipt{}, false
	}
	switch ps {
	case dlr.PartDelivered:
		rc.state = message.Delivered
	case dlr.PartUndeliverable:
		rc.state = message.Undeliverable
	case dlr.PartExpired:
		rc.state = message.Expired
	default:
		rc.state = message.Submitted // intermediate: proves the SMSC took it
	}
	for _, k := range dlr.LookupKeys(nil, r.ID, op.IDMode) {
		rc.keys = append(rc.keys, correlate.StoredKey(k))
	}
	return rc, true
}

// word is the receipt's stat (UNDELIV, REJECTD…) as reroute.on names it;
// receipts kept early only know our state.
func (rc *receipt) word() string {
	if w := rc.r.State.String(); w != "" {
		return w
	}
	switch rc.state {
	case message.Undeliverable:
		return "UNDELIV"
	case message.Expired:
		return "EXPIRED"
	case message.Delivered:
		return "DELIVRD"
	}
	return ""
}

// decodeMO turns a deliver_sm into an MO part: UDH or SAR concatenation,
// text decoded per data_coding, every string sanitised.
func decodeMO(op *policy.Operator, sm *pdu.SM, now time.Time) (dlr.MOPart, error) {
	payload := sm.Text()
	p := dlr.MOPart{Operator: op.Name, From: digitsOnly(sm.Source), To: message.Sanitize(sm.Dest), Total: 1, Seq: 1, Received: now}
	fill := 0
	if sm.ESMClass&pdu.ESMUDHI != 0 {
		udh, rest, err := coding.ParseUDH(payload)
		if err != nil {
			return p, err
		}
		if udh.Concat {
			p.Ref, p.Total, p.Seq = udh.Ref, udh.Total, udh.Seq
		}
		udhLen := len(payload) - len(rest)
		fill = (7 - (udhLen*8)%7) % 7
		payload = rest
	} else if ref, ok := sm.TLVs.Uint(pdu.TagSARMsgRefNum); ok {
		total, _ := sm.TLVs.Uint(pdu.TagSARTotalSegments)
		seq, _ := sm.TLVs.Uint(pdu.TagSARSegmentSeqnum)
		p.Ref, p.Total, p.Seq = uint16(ref), uint8(total), uint8(seq)
	}
	text, err := coding.Decode(sm.DataCoding, payload, coding.DecodeOptions{GSM7Packed: op.GSM7Packed, FillBits: fill})
	if err != nil {
		return p, err
	}
	p.Text = message.Sanitize(text)
	return p, nil
}

func digitsOnly(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// receiptTextField finds the text: field of a receipt (the message's first
// characters), up to the end of the string: it is the last field.
var receiptTextField = regexp.MustCompile(`(?i)(\btext:)(.*)$`)

// keptText is a receipt's text for traces: sanitised (valid UTF-8, no
// NUL or control characters), bounded, and its text: excerpt of the
// message replaced unless message text may be shown.
func keptText(b []byte, showText bool) string {
	s := message.SanitizeBytes(b)
	if len(s) > 300 {
		s = strings.ToValidUTF8(s[:300], "")
	}
	if !showText {
		s = receiptTextField.ReplaceAllString(s, "${1}•••")
	}
	return s
}
