package smppsim

import (
	"bytes"
	"encoding/binary"

	"github.com/smsgate/smsgate/smpp/pdu"
)

// smView is a submit_sm (or deliver_sm) body parsed without allocation: the
// slices alias the read buffer and are valid only until the next read. The
// hot path needs a handful of fields per submit; pdu.SM.DecodeBody would
// allocate six strings and slices for each.
type smView struct {
	serviceType    []byte
	srcTON, srcNPI byte
	source         []byte
	dstTON, dstNPI byte
	dest           []byte
	esmClass       byte
	protocolID     byte
	priority       byte
	schedule       []byte
	validity       []byte
	regDelivery    byte
	replace        byte
	dataCoding     byte
	defaultMsgID   byte
	sm             []byte
	tlvs           []byte // raw TLV area, validated
}

// Concatenation schemes detected in a submit.
const (
	concatNone  = ""
	concatUDH8  = "udh8"
	concatUDH16 = "udh16"
	concatSAR   = "sar"
)

// concatInfo describes a part of a concatenated message.
type concatInfo struct {
	kind       string
	ref        uint16
	total, seq uint8
}

// parseSM parses a submit_sm/deliver_sm body with the same acceptance rules
// as pdu.SM.DecodeBody: it fails with pdu.ErrShort, pdu.ErrNoNUL or
// pdu.ErrBadTLV exactly when DecodeBody does.
func parseSM(b []byte, v *smView) error {
	var err error
	cstr := func() []byte {
		if err != nil {
			return nil
		}
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			err = pdu.ErrNoNUL
			return nil
		}
		s := b[:i]
		b = b[i+1:]
		return s
	}
	u8 := func() byte {
		if err != nil {
			return 0
		}
		if len(b) < 1 {
			err = pdu.ErrShort
			return 0
		}
		c := b[0]
		b = b[1:]
		return c
	}
	v.serviceType = cstr()
	v.srcTON, v.srcNPI = u8(), u8()
	v.source = cstr()
	v.dstTON, v.dstNPI = u8(), u8()
	v.dest = cstr()
	v.esmClass, v.protocolID, v.priority = u8(), u8(), u8()
	v.schedule = cstr()
	v.validity = cstr()
	v.regDelivery, v.replace, v.dataCoding, v.defaultMsgID = u8(), u8(), u8(), u8()
	n := int(u8())
	if err != nil {
		return err
	}
	if len(b) < n {
		return pdu.ErrShort
	}
	v.sm = b[:n]
	v.tlvs = b[n:]
	for t := v.tlvs; len(t) > 0; {
		if len(t) < 4 {
			return pdu.ErrBadTLV
		}
		l := int(binary.BigEndian.Uint16(t[2:]))
		if len(t) < 4+l {
			return pdu.ErrBadTLV
		}
		t = t[4+l:]
	}
	return nil
}

// tlv returns the value of the first TLV with tag in a validated TLV area.
func tlv(area []byte, tag pdu.Tag) ([]byte, bool) {
	for len(area) >= 4 {
		t := pdu.Tag(binary.BigEndian.Uint16(area))
		l := int(binary.BigEndian.Uint16(area[2:]))
		if len(area) < 4+l {
			return nil, false
		}
		if t == tag {
			return area[4 : 4+l], true
		}
		area = area[4+l:]
	}
	return nil, false
}

// text returns short_message, or message_payload when short_message is empty.
func (v *smView) text() []byte {
	if len(v.sm) == 0 {
		if p, ok := tlv(v.tlvs, pdu.TagMessagePayload); ok {
			return p
		}
	}
	return v.sm
}

// concat detects a concatenated part: a UDH concatenation IE (IEI 0x00
// 8-bit ref, 0x08 16-bit ref) when esm_class has UDHI, else SAR TLVs.
func (v *smView) concat() concatInfo {
	if v.esmClass&pdu.ESMUDHI != 0 && len(v.sm) > 0 {
		udhl := int(v.sm[0])
		if udhl+1 <= len(v.sm) {
			h := v.sm[1 : 1+udhl]
			for len(h) >= 2 {
				iei, l := h[0], int(h[1])
				if len(h) < 2+l {
					break
				}
				d := h[2 : 2+l]
				switch {
				case iei == 0x00 && l == 3:
					return concatInfo{kind: concatUDH8, ref: uint16(d[0]), total: d[1], seq: d[2]}
				case iei == 0x08 && l == 4:
					return concatInfo{kind: concatUDH16, ref: binary.BigEndian.Uint16(d), total: d[2], seq: d[3]}
				}
				h = h[2+l:]
			}
		}
	}
	ref, ok1 := tlv(v.tlvs, pdu.TagSARMsgRefNum)
	tot, ok2 := tlv(v.tlvs, pdu.TagSARTotalSegments)
	seq, ok3 := tlv(v.tlvs, pdu.TagSARSegmentSeqnum)
	if ok1 && ok2 && ok3 && len(ref) == 2 && len(tot) == 1 && len(seq) == 1 {
		return concatInfo{kind: concatSAR, ref: binary.BigEndian.Uint16(ref), total: tot[0], seq: seq[0]}
	}
	return concatInfo{}
}

// isLastPart reports whether a submit with concat info c deserves a receipt
// under ReceiptLastPartOnly: single messages and last parts do.
func (c concatInfo) isLastPart() bool {
	return c.kind == concatNone || c.seq >= c.total
}
