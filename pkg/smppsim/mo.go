package smppsim

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smsgate/smsgate/smpp/coding"
	"github.com/smsgate/smsgate/smpp/pdu"
)

// ErrNoBind is returned when no receiver-capable bind exists for the
// requested system_id (or no bind at all for SendGarbage).
var ErrNoBind = errors.New("smppsim: no receiver-capable bind")

// ErrBadOrder is returned when MO.Order names a part outside 1..parts, names
// one twice, or has more entries than parts.
var ErrBadOrder = errors.New("smppsim: MO.Order is not a permutation of the parts")

// MO is a mobile-originated message to inject.
type MO struct {
	// SystemID selects the binds; required.
	SystemID string
	// From and To are the MSISDN and the short code (TON 1, NPI 1).
	From, To string
	// Text is UTF-8.
	Text string
	// Encoding is the encoding; zero lets coding.Choose pick one.
	Encoding coding.Encoding
	// Concat is how a long text is split (UDH8 by default; SAR puts the
	// sar_* TLVs on each part; Payload sends one deliver_sm with
	// message_payload).
	Concat coding.Concat
	// Packed packs GSM 7-bit septets.
	Packed bool
	// Ref is the concatenation reference; 0 takes the next one from a
	// counter.
	Ref uint16
	// Order lists the 1-based part numbers in sending order (e.g. 3,1,2);
	// a subset sends only those parts (incomplete messages in tests);
	// nil sends them in order.
	Order []int
	// SpreadBinds sends the k-th part sent on the k-th receiver-capable
	// bind (round robin) instead of all on one.
	SpreadBinds bool
}

// InjectMO encodes and splits mo, sends each part as a deliver_sm and waits
// until every part got its deliver_sm_resp. It fails on the first non-zero
// deliver_sm_resp status (a pdu.Status), when a bind closes before its
// answer (ErrConnClosed), or when Options.MOTimeout or ctx expire first.
func (s *Server) InjectMO(ctx context.Context, mo MO) error {
	enc := mo.Encoding
	enc, err := coding.Choose(mo.Text, enc)
	if err != nil {
		return fmt.Errorf("smppsim: MO encoding: %w", err)
	}
	ref := mo.Ref
	if ref == 0 {
		ref = uint16(s.moRef.Add(1))
		if mo.Concat == coding.UDH8 {
			ref = ref%255 + 1
		}
	}
	parts, err := coding.Split(mo.Text, enc, coding.SplitOptions{Concat: mo.Concat, GSM7Packed: mo.Packed, Ref: ref})
	if err != nil {
		return fmt.Errorf("smppsim: MO split: %w", err)
	}
	order, err := partOrder(mo.Order, len(parts))
	if err != nil {
		return err
	}
	sys := s.lookupSystem(mo.SystemID)
	if sys == nil {
		return fmt.Errorf("%w for system_id %q", ErrNoBind, mo.SystemID)
	}
	var binds []*conn
	all, _ := sys.snapshot()
	for _, c := range all {
		if receiverCapable(c.mode) {
			binds = append(binds, c)
		}
	}
	if len(binds) == 0 {
		return fmt.Errorf("%w for system_id %q", ErrNoBind, mo.SystemID)
	}

	outs := make([]*outPDU, 0, len(parts))
	for k, i := range order {
		part := parts[i-1]
		b := appendMO(nil, &mo, enc, part)
		p := &outPDU{b: b, kind: outMO, sys: sys, done: make(chan error, 1)}
		c := binds[0]
		if mo.SpreadBinds {
			c = binds[k%len(binds)]
		}
		if !c.register(p) {
			return fmt.Errorf("smppsim: MO part %d/%d: %w", i, len(parts), ErrConnClosed)
		}
		if c.writeBytes(p.b, false) {
			s.countOut(outMO, false)
		}
		outs = append(outs, p)
	}

	t := time.NewTimer(s.o.MOTimeout)
	defer t.Stop()
	for k, p := range outs {
		select {
		case err := <-p.done:
			if err != nil {
				return fmt.Errorf("smppsim: MO part %d/%d: %w", order[k], len(parts), err)
			}
		case <-t.C:
			return fmt.Errorf("smppsim: MO part %d/%d: no deliver_sm_resp within %v: %w",
				order[k], len(parts), s.o.MOTimeout, context.DeadlineExceeded)
		case <-ctx.Done():
			return fmt.Errorf("smppsim: MO: %w", ctx.Err())
		case <-s.done:
			return ErrClosed
		}
	}
	return nil
}

func partOrder(order []int, n int) ([]int, error) {
	if order == nil {
		out := make([]int, n)
		for i := range out {
			out[i] = i + 1
		}
		return out, nil
	}
	// A subset is allowed: sending only some parts is how tests make an MO
	// that never completes, or straddle a restart.
	if len(order) == 0 || len(order) > n {
		return nil, fmt.Errorf("%w: %d entries for %d parts", ErrBadOrder, len(order), n)
	}
	seen := make([]bool, n+1)
	for _, i := range order {
		if i < 1 || i > n || seen[i] {
			return nil, fmt.Errorf("%w: %v for %d parts", ErrBadOrder, order, n)
		}
		seen[i] = true
	}
	return order, nil
}

// appendMO encodes one MO part as a deliver_sm (sequence number 0, patched
// when sent).
func appendMO(dst []byte, mo *MO, enc coding.Encoding, part coding.Part) []byte {
	sm := &pdu.SM{
		ID: pdu.DeliverSM, SourceTON: 1, SourceNPI: 1, Source: mo.From,
		DestTON: 1, DestNPI: 1, Dest: mo.To, DataCoding: enc.DataCoding(),
		ShortMessage: part.ShortMessage,
	}
	if part.UDHI {
		sm.ESMClass = pdu.ESMUDHI
	}
	switch {
	case mo.Concat == coding.Payload || len(part.ShortMessage) > 254:
		sm.ShortMessage = nil
		sm.TLVs = append(sm.TLVs, pdu.TLV{Tag: pdu.TagMessagePayload, Value: part.ShortMessage})
	case mo.Concat == coding.SAR && part.Total > 1:
		sm.TLVs = append(sm.TLVs,
			pdu.TLV{Tag: pdu.TagSARMsgRefNum, Value: pdu.U16(part.Ref)},
			pdu.TLV{Tag: pdu.TagSARTotalSegments, Value: pdu.U8(part.Total)},
			pdu.TLV{Tag: pdu.TagSARSegmentSeqnum, Value: pdu.U8(part.Seq)})
	}
	return pdu.Append(dst, 0, pdu.StatusOK, sm)
}
