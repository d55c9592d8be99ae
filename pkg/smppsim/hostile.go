package smppsim

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"

	"github.com/smsgate/smsgate/smpp/pdu"
)

// GarbageKind names a kind of malformed PDU sent by SendGarbage.
type GarbageKind string

// What SendGarbage writes. Every kind except GarbageBadLength is framed
// correctly (command_length matches the bytes sent), so a robust ESME stays
// in sync, answers or ignores it and keeps the bind.
const (
	// GarbageUnknownCommand: a request with a command_id SMPP 3.4 does not
	// define and 0..32 random body octets. Expected answer: generic_nack
	// ESME_RINVCMDID.
	GarbageUnknownCommand GarbageKind = "unknown_command"
	// GarbageTruncatedTLV: a valid deliver_sm whose last TLV announces more
	// octets than the PDU holds.
	GarbageTruncatedTLV GarbageKind = "truncated_tlv"
	// GarbageNoNUL: a deliver_sm whose body is random non-zero octets, so
	// its first C-octet string never ends.
	GarbageNoNUL GarbageKind = "no_nul"
	// GarbageSMLength: a deliver_sm whose sm_length exceeds the octets left.
	GarbageSMLength GarbageKind = "sm_length_overrun"
	// GarbageBadReceipt: a well-formed deliver_sm with esm_class 0x04 whose
	// receipt text is nonsense ("id: stat:?? ...") and has no TLVs.
	GarbageBadReceipt GarbageKind = "bad_receipt_text"
	// GarbageHuge: a deliver_sm of HugeGarbageLen octets of random body,
	// above any sane PDU limit but below the 64 MiB desync limit; the ESME
	// should discard it whole.
	GarbageHuge GarbageKind = "huge_length"
	// GarbageBadLength: a header whose command_length is 8 (< 16). It
	// desynchronises the stream, so only SendGarbageDesync sends it, last.
	GarbageBadLength GarbageKind = "bad_length"
)

// HugeGarbageLen is the command_length of GarbageHuge PDUs.
const HugeGarbageLen = 100_000

// Garbage is one malformed PDU as written to every bind.
type Garbage struct {
	Kind GarbageKind
	PDU  []byte
}

var inSyncKinds = []GarbageKind{GarbageUnknownCommand, GarbageTruncatedTLV, GarbageNoNUL,
	GarbageSMLength, GarbageBadReceipt, GarbageHuge}

// SendGarbage writes n malformed but correctly framed PDUs (kinds drawn
// from seed, see GarbageKind) to every bound ESME and returns them. Their
// sequence numbers are above 0x7F000000 so that answers cannot match a
// real deliver_sm. It returns ErrNoBind when nothing is bound.
func (s *Server) SendGarbage(n int, seed int64) ([]Garbage, error) {
	return s.sendGarbage(n, seed, false)
}

// SendGarbageDesync is SendGarbage followed by one GarbageBadLength PDU,
// after which the ESME can only drop the connection.
func (s *Server) SendGarbageDesync(n int, seed int64) ([]Garbage, error) {
	return s.sendGarbage(n, seed, true)
}

// garbageList builds the PDUs for a seed; the same seed gives the same bytes.
func garbageList(n int, seed int64, desync bool) []Garbage {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5347_4152_4241_4745))
	gs := make([]Garbage, 0, n+1)
	for range n {
		k := inSyncKinds[rng.IntN(len(inSyncKinds))]
		gs = append(gs, Garbage{Kind: k, PDU: makeGarbage(k, rng)})
	}
	if desync {
		gs = append(gs, Garbage{Kind: GarbageBadLength, PDU: makeGarbage(GarbageBadLength, rng)})
	}
	return gs
}

func (s *Server) sendGarbage(n int, seed int64, desync bool) ([]Garbage, error) {
	gs := garbageList(max(n, 0), seed, desync)
	conns := s.boundConns()
	if len(conns) == 0 {
		return gs, ErrNoBind
	}
	var all []byte
	for _, g := range gs {
		all = append(all, g.PDU...)
	}
	for _, c := range conns {
		if c.writeBytes(all, false) {
			s.ctr.garbageSent.Add(uint64(len(gs)))
		}
	}
	return gs, nil
}

func makeGarbage(k GarbageKind, rng *rand.Rand) []byte {
	seq := 0x7F000000 + rng.Uint32N(0xFFFFFF)
	randBytes := func(n int, nonZero bool) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
			if nonZero && b[i] == 0 {
				b[i] = 1
			}
		}
		return b
	}
	validDeliver := func(esm byte, text string) []byte {
		return pdu.Append(nil, seq, pdu.StatusOK, &pdu.SM{ID: pdu.DeliverSM, SourceTON: 1, SourceNPI: 1,
			Source: "99512345678", DestTON: 1, DestNPI: 1, Dest: "1234", ESMClass: esm, ShortMessage: []byte(text)})
	}
	switch k {
	case GarbageUnknownCommand:
		id := pdu.CommandID(0x00000200 + rng.Uint32N(0x7E00))
		for id.Known() {
			id++
		}
		b, start := pdu.AppendHeader(nil, id, pdu.StatusOK, seq)
		b = append(b, randBytes(rng.IntN(33), false)...)
		return pdu.Finish(b, start)
	case GarbageTruncatedTLV:
		b := validDeliver(0, "hello")
		// TLV header says 20 octets; only 3 follow.
		b = append(b, 0x04, 0x24, 0x00, 0x14, 'a', 'b', 'c')
		binary.BigEndian.PutUint32(b, uint32(len(b)))
		return b
	case GarbageNoNUL:
		b, start := pdu.AppendHeader(nil, pdu.DeliverSM, pdu.StatusOK, seq)
		b = append(b, randBytes(8+rng.IntN(24), true)...)
		return pdu.Finish(b, start)
	case GarbageSMLength:
		b := validDeliver(0, "short")
		// sm_length is the octet before the 5 text octets: claim 200.
		b[len(b)-6] = 200
		return b
	case GarbageBadReceipt:
		return validDeliver(pdu.ESMSMSCReceipt, fmt.Sprintf("id: sub:x dlvrd: submit date:99 done date: stat:?? err:%d text:", rng.IntN(1000)))
	case GarbageHuge:
		b, start := pdu.AppendHeader(nil, pdu.DeliverSM, pdu.StatusOK, seq)
		b = append(b, randBytes(HugeGarbageLen-pdu.HeaderLen, false)...)
		return pdu.Finish(b, start)
	case GarbageBadLength:
		b, _ := pdu.AppendHeader(nil, pdu.DeliverSM, pdu.StatusOK, seq)
		binary.BigEndian.PutUint32(b, 8)
		return b
	}
	return nil
}
