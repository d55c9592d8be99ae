package smppsim

import (
	"errors"
	"math"
	"time"

	"github.com/smsgate/smsgate/smpp/pdu"
)

// onSubmit answers one submit_sm. Order of decisions: bind state, DropAfter
// reached, StopAnswering, malformed body, TPS bucket, ThrottleRatio,
// DestStatus, ErrorRate; otherwise ESME_ROK with a new id and, when asked
// for, a receipt.
func (c *conn) onSubmit(h pdu.Header, body []byte) {
	s := c.s
	s.ctr.submits.Add(1)
	if c.sys == nil || c.mode == pdu.BindReceiver {
		c.answer(pdu.SubmitSMResp, pdu.ErrInvBndSts, h.Seq)
		return
	}
	if c.dropping || s.rt.stopAnswering.Load() {
		s.ctr.unanswered.Add(1)
		return
	}
	var v smView
	if err := parseSM(body, &v); err != nil {
		st := pdu.ErrInvCmdLen
		if errors.Is(err, pdu.ErrBadTLV) {
			st = pdu.ErrInvOptParStream
		}
		c.respond(h.Seq, pdu.SubmitSMResp, st, nil, c.countSubmit())
		return
	}
	st := s.decide(&v)
	closeAfter := c.countSubmit()
	if st != pdu.StatusOK {
		c.respond(h.Seq, pdu.SubmitSMResp, st, nil, closeAfter)
		return
	}

	n := s.ids.Add(1) - 1
	id := appendID(c.idBuf[:0], n, s.o.IDFormat, s.o.IDWidth)
	now := time.Now()
	ci := v.concat()
	if s.o.RecordSubmits {
		s.record(c, &v, ci, id, now)
	}

	var rc *outPDU
	var rcDelay time.Duration
	if !s.o.NoReceipts && v.regDelivery&3 != 0 {
		if s.o.ReceiptLastPartOnly && !ci.isLastPart() {
			s.ctr.receiptsSkipped.Add(1)
		} else {
			stat := s.pickStat(v.dest)
			// registered_delivery 2: receipt on failure only.
			if v.regDelivery&3 == 1 || stat != StatDelivered {
				rcDelay = s.jitter(s.rt.receiptDelay.Load(), s.rt.receiptJitter.Load(), drawReceiptJitter)
				rc = s.newReceipt(c.sys, &v, n, id, stat, now, now.Add(rcDelay))
			}
		}
	}
	respDelay := s.jitter(s.rt.respDelay.Load(), s.rt.respJitter.Load(), drawRespJitter)

	if rc != nil && s.o.ReceiptFirst {
		if rcDelay == 0 && respDelay == 0 {
			s.deliverReceipt(rc, c, true)
			c.respond(h.Seq, pdu.SubmitSMResp, pdu.StatusOK, id, closeAfter)
			return
		}
		s.schedule(event{at: now.Add(max(rcDelay, respDelay)).UnixNano(), kind: evReceiptThenResp,
			p: rc, c: c, resp: appendSubmitResp(nil, h.Seq, pdu.StatusOK, id), closeAfter: closeAfter})
		return
	}
	c.respondAfter(respDelay, now, h.Seq, id, closeAfter)
	if rc != nil {
		if rcDelay == 0 {
			s.deliverReceipt(rc, c, true)
		} else {
			s.schedule(event{at: now.Add(rcDelay).UnixNano(), kind: evReceipt, p: rc, c: c})
		}
	}
}

// countSubmit counts an answered submit and reports whether it is the
// DropAfter-th on this connection.
func (c *conn) countSubmit() bool {
	c.submits++
	if n := c.s.rt.dropAfter.Load(); n > 0 && c.submits >= n {
		c.dropping = true
		c.s.ctr.drops.Add(1)
		return true
	}
	return false
}

// respond appends a submit_sm_resp now (through the batch).
func (c *conn) respond(seq uint32, id pdu.CommandID, st pdu.Status, msgID []byte, closeAfter bool) {
	if st == pdu.StatusOK {
		c.batch = appendSubmitResp(c.batch, seq, st, msgID)
	} else {
		c.batch = pdu.AppendEmpty(c.batch, id, st, seq)
	}
	c.s.ctr.countResp(st)
	if closeAfter {
		c.batchClose = true
	}
}

func (c *conn) respondAfter(d time.Duration, now time.Time, seq uint32, msgID []byte, closeAfter bool) {
	if d <= 0 {
		c.respond(seq, pdu.SubmitSMResp, pdu.StatusOK, msgID, closeAfter)
		return
	}
	c.s.schedule(event{at: now.Add(d).UnixNano(), kind: evResp, c: c,
		resp: appendSubmitResp(nil, seq, pdu.StatusOK, msgID), closeAfter: closeAfter})
}

func appendSubmitResp(dst []byte, seq uint32, st pdu.Status, msgID []byte) []byte {
	dst, start := pdu.AppendHeader(dst, pdu.SubmitSMResp, st, seq)
	if st == pdu.StatusOK {
		dst = append(dst, msgID...)
		dst = append(dst, 0)
	}
	return pdu.Finish(dst, start)
}

// decide returns the status for an accepted-for-processing submit.
func (s *Server) decide(v *smView) pdu.Status {
	if !s.tps.allow() {
		s.ctr.throttled.Add(1)
		return pdu.ErrThrottled
	}
	if r := math.Float64frombits(s.rt.throttleRatio.Load()); r > 0 && s.draw(drawThrottle) < r {
		s.ctr.throttled.Add(1)
		return pdu.ErrThrottled
	}
	if r, ok := matchRule(&s.rt.destStatus, v.dest); ok && r.status != pdu.StatusOK {
		s.ctr.errors.Add(1)
		return r.status
	}
	if r := math.Float64frombits(s.rt.errorRate.Load()); r > 0 && s.draw(drawError) < r {
		s.ctr.errors.Add(1)
		return pdu.Status(s.rt.errorStatus.Load())
	}
	return pdu.StatusOK
}

// pickStat chooses the receipt stat: DestStat rule, else the weighted mix.
func (s *Server) pickStat(dest []byte) string {
	if r, ok := matchRule(&s.rt.destStat, dest); ok {
		return r.stat
	}
	d, u, e := s.o.DeliveredRatio, s.o.UndelivRatio, s.o.ExpiredRatio
	sum := d + u + e
	if sum <= 0 || u+e == 0 {
		return StatDelivered
	}
	x := s.draw(drawStat) * sum
	switch {
	case x < d:
		return StatDelivered
	case x < d+u:
		return StatUndeliv
	}
	return StatExpired
}

func (s *Server) schedule(e event) {
	if !s.sched.add(e) {
		s.ctr.schedDropped.Add(1)
	}
}

// fire runs a due event on the timer goroutine.
func (s *Server) fire(e event) {
	switch e.kind {
	case evResp:
		if e.c.writeBytes(e.resp, e.closeAfter) {
			return
		}
	case evReceipt:
		s.deliverReceipt(e.p, e.c, false)
	case evReceiptThenResp:
		s.deliverReceipt(e.p, e.c, false)
		e.c.writeBytes(e.resp, e.closeAfter)
	case evRedeliver:
		s.deliverReceipt(e.p, nil, false)
	}
}

// message_state values (SMPP 3.4 §5.2.28) for each stat.
func messageState(stat string) byte {
	switch stat {
	case StatDelivered:
		return 2
	case StatExpired:
		return 3
	case StatUndeliv:
		return 5
	case StatRejected:
		return 8
	}
	return 7 // UNKNOWN
}

// newReceipt encodes the deliver_sm receipt for message n (rendered as
// respID in the submit_sm_resp). The sequence number is patched when sent.
func (s *Server) newReceipt(sys *system, v *smView, n uint64, respID []byte, stat string, submitAt, doneAt time.Time) *outPDU {
	var idb [32]byte
	rid := respID
	if s.o.ReceiptIDFormat != IDSame {
		rid = appendID(idb[:0], n, s.o.ReceiptIDFormat, s.o.IDWidth)
	}
	text := v.text()
	if v.esmClass&pdu.ESMUDHI != 0 && len(text) > 0 && int(text[0])+1 <= len(text) {
		text = text[int(text[0])+1:]
	}
	text = text[:min(len(text), 20)]

	b := make([]byte, 0, 160+len(v.source)+len(v.dest)+2*len(rid))
	b, start := pdu.AppendHeader(b, pdu.DeliverSM, pdu.StatusOK, 0)
	b = append(b, 0)                  // service_type
	b = append(b, v.dstTON, v.dstNPI) // source = the submit's destination
	b = append(b, v.dest...)
	b = append(b, 0, v.srcTON, v.srcNPI)
	b = append(b, v.source...)
	b = append(b, 0, pdu.ESMSMSCReceipt, 0, 0, 0, 0, 0, 0, 0, 0)
	// esm_class, protocol_id, priority, schedule "", validity "",
	// registered_delivery, replace, data_coding, sm_default_msg_id.
	lenAt := len(b)
	b = append(b, 0) // sm_length, patched below
	b = append(b, "id:"...)
	b = append(b, rid...)
	b = append(b, " sub:001 dlvrd:"...)
	if stat == StatDelivered {
		b = append(b, "001"...)
	} else {
		b = append(b, "000"...)
	}
	b = append(b, " submit date:"...)
	b = appendDate(b, submitAt)
	b = append(b, " done date:"...)
	b = appendDate(b, doneAt)
	b = append(b, " stat:"...)
	b = append(b, stat...)
	b = append(b, " err:"...)
	re, hasRE := s.receiptErr(v.dest)
	switch {
	case hasRE && re.Err != "":
		b = append(b, re.Err...)
	case stat == StatDelivered:
		b = append(b, "000"...)
	default:
		b = append(b, "001"...)
	}
	b = append(b, " text:"...)
	b = append(b, text...)
	b[lenAt] = byte(len(b) - lenAt - 1)
	if s.o.ReceiptTLVs {
		b = pdu.AppendTLV(b, pdu.TagReceiptedMessageID, append(rid, 0))
		b = pdu.AppendTLV(b, pdu.TagMessageState, []byte{messageState(stat)})
	}
	if hasRE && re.NetworkType != 0 {
		b = pdu.AppendTLV(b, pdu.TagNetworkErrorCode, []byte{re.NetworkType, byte(re.NetworkCode >> 8), byte(re.NetworkCode)})
	}
	return &outPDU{b: pdu.Finish(b, start), kind: outReceipt, sys: sys}
}

// appendDate renders YYMMDDhhmm in UTC.
func appendDate(b []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, _ := t.Clock()
	for _, n := range [...]int{y % 100, int(mo), d, h, mi} {
		b = append(b, byte('0'+n/10), byte('0'+n%10))
	}
	return b
}
