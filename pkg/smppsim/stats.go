package smppsim

import (
	"encoding/binary"
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smsgate/smsgate/smpp/pdu"
)

// counters are the server's atomic counters.
type counters struct {
	bindsTotal, bindFailures, unbinds, disconnects, drops atomic.Uint64

	submits, throttled, errors, unanswered atomic.Uint64
	respLow                                [256]atomic.Uint64 // by status < 256: no map on the hot path
	respMu                                 sync.Mutex
	respHigh                               map[pdu.Status]uint64

	receiptsSent, receiptsAcked, receiptsNacked, receiptsRedelivered atomic.Uint64
	receiptsDropped, receiptsSkipped                                 atomic.Uint64

	moSent, moAcked, moNacked atomic.Uint64

	enquireRecv, enquireSent, enquireRespRecv atomic.Uint64
	genericNackSent, genericNackRecv          atomic.Uint64
	unknownResps, garbageSent                 atomic.Uint64
	schedDropped                              atomic.Uint64
}

func (c *counters) countResp(st pdu.Status) {
	if st < 256 {
		c.respLow[st].Add(1)
		return
	}
	c.respMu.Lock()
	if c.respHigh == nil {
		c.respHigh = map[pdu.Status]uint64{}
	}
	c.respHigh[st]++
	c.respMu.Unlock()
}

// SystemStats are the bind counts of one system_id.
type SystemStats struct {
	Current int    `json:"current"`
	Peak    int    `json:"peak"`
	Total   uint64 `json:"total"`
	// Modes counts current binds by mode (transmitter, receiver, transceiver).
	Modes map[string]int `json:"modes,omitempty"`
	// QueuedReceipts wait for a receiver-capable bind of this system_id.
	QueuedReceipts int `json:"queued_receipts"`
}

// Stats is a snapshot of the simulator's counters. Counters only grow,
// except Current*, QueuedReceipts, ReceiptsUnacked and Scheduled.
type Stats struct {
	BindsCurrent int                    `json:"binds_current"`
	BindsTotal   uint64                 `json:"binds_total"` // successful binds
	BindFailures uint64                 `json:"bind_failures"`
	Systems      map[string]SystemStats `json:"systems"`
	Unbinds      uint64                 `json:"unbinds"`     // unbind received
	Disconnects  uint64                 `json:"disconnects"` // connections ended, any cause
	Drops        uint64                 `json:"drops"`       // closed on purpose: DropAll, DropAfter

	Submits uint64 `json:"submits"` // submit_sm received
	// Responses counts every response sent (bind, submit_sm, enquire_link,
	// unbind ...), keyed by status as "0x00000058".
	Responses  map[string]uint64 `json:"responses"`
	Throttled  uint64            `json:"throttled"`  // TPS or ThrottleRatio
	Errors     uint64            `json:"errors"`     // DestStatus or ErrorRate
	Unanswered uint64            `json:"unanswered"` // StopAnswering or after DropAfter

	ReceiptsSent        uint64 `json:"receipts_sent"` // including redeliveries
	ReceiptsAcked       uint64 `json:"receipts_acked"`
	ReceiptsNacked      uint64 `json:"receipts_nacked"`
	ReceiptsRedelivered uint64 `json:"receipts_redelivered"`
	ReceiptsUnacked     int    `json:"receipts_unacked"` // sent, no deliver_sm_resp yet
	ReceiptsDropped     uint64 `json:"receipts_dropped"` // queue full or retries exhausted
	ReceiptsSkipped     uint64 `json:"receipts_skipped"` // not last part (ReceiptLastPartOnly)

	MOSent   uint64 `json:"mo_sent"` // deliver_sm parts
	MOAcked  uint64 `json:"mo_acked"`
	MONacked uint64 `json:"mo_nacked"`

	EnquireLinksReceived uint64 `json:"enquire_links_received"`
	EnquireLinksSent     uint64 `json:"enquire_links_sent"`
	EnquireLinkResps     uint64 `json:"enquire_link_resps"`
	GenericNacksSent     uint64 `json:"generic_nacks_sent"`
	GenericNacksReceived uint64 `json:"generic_nacks_received"`
	UnknownResponses     uint64 `json:"unknown_responses"` // deliver_sm_resp matching nothing
	GarbageSent          uint64 `json:"garbage_sent"`

	Scheduled       int    `json:"scheduled"` // delayed events waiting
	ScheduleDropped uint64 `json:"schedule_dropped"`
	Recorded        int    `json:"recorded"`
	RecordDropped   uint64 `json:"record_dropped"`
}

// Stats returns a consistent-enough snapshot (each counter is read
// atomically; they are not read all at one instant).
func (s *Server) Stats() Stats {
	c := &s.ctr
	st := Stats{
		BindsTotal: c.bindsTotal.Load(), BindFailures: c.bindFailures.Load(),
		Systems: map[string]SystemStats{}, Unbinds: c.unbinds.Load(),
		Disconnects: c.disconnects.Load(), Drops: c.drops.Load(),
		Submits: c.submits.Load(), Responses: map[string]uint64{},
		Throttled: c.throttled.Load(), Errors: c.errors.Load(), Unanswered: c.unanswered.Load(),
		ReceiptsSent: c.receiptsSent.Load(), ReceiptsAcked: c.receiptsAcked.Load(),
		ReceiptsNacked: c.receiptsNacked.Load(), ReceiptsRedelivered: c.receiptsRedelivered.Load(),
		ReceiptsDropped: c.receiptsDropped.Load(), ReceiptsSkipped: c.receiptsSkipped.Load(),
		MOSent: c.moSent.Load(), MOAcked: c.moAcked.Load(), MONacked: c.moNacked.Load(),
		EnquireLinksReceived: c.enquireRecv.Load(), EnquireLinksSent: c.enquireSent.Load(),
		EnquireLinkResps: c.enquireRespRecv.Load(), GenericNacksSent: c.genericNackSent.Load(),
		GenericNacksReceived: c.genericNackRecv.Load(), UnknownResponses: c.unknownResps.Load(),
		GarbageSent: c.garbageSent.Load(), Scheduled: s.sched.len(), ScheduleDropped: c.schedDropped.Load(),
	}
	for i := range c.respLow {
		if n := c.respLow[i].Load(); n > 0 {
			st.Responses[pdu.Status(i).Hex()] = n
		}
	}
	c.respMu.Lock()
	for k, n := range c.respHigh {
		st.Responses[k.Hex()] = n
	}
	c.respMu.Unlock()

	s.mu.Lock()
	for id, sys := range s.systems {
		sys.mu.Lock()
		ss := SystemStats{Current: len(sys.binds), Peak: sys.peak, Total: sys.total, QueuedReceipts: len(sys.queue)}
		for _, b := range sys.binds {
			if ss.Modes == nil {
				ss.Modes = map[string]int{}
			}
			ss.Modes[modeName(b.mode)]++
		}
		sys.mu.Unlock()
		st.BindsCurrent += ss.Current
		st.Systems[id] = ss
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.pmu.Lock()
		for _, p := range c.pending {
			if p.kind == outReceipt {
				st.ReceiptsUnacked++
			}
		}
		c.pmu.Unlock()
	}
	s.recMu.Lock()
	st.Recorded, st.RecordDropped = len(s.recs), s.recDropped
	s.recMu.Unlock()
	return st
}

// StatsHandler serves Stats as JSON (GET only).
func (s *Server) StatsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(s.Stats())
	})
}

// Submit is one accepted submit_sm, recorded when Options.RecordSubmits.
type Submit struct {
	MessageID          string    `json:"message_id"` // as in the submit_sm_resp
	SystemID           string    `json:"system_id"`
	SourceTON          byte      `json:"source_ton"`
	SourceNPI          byte      `json:"source_npi"`
	Source             string    `json:"source"`
	DestTON            byte      `json:"dest_ton"`
	DestNPI            byte      `json:"dest_npi"`
	Dest               string    `json:"dest"`
	ServiceType        string    `json:"service_type,omitempty"`
	ValidityPeriod     string    `json:"validity_period,omitempty"`
	ESMClass           byte      `json:"esm_class"`
	DataCoding         byte      `json:"data_coding"`
	RegisteredDelivery byte      `json:"registered_delivery"`
	ShortMessage       []byte    `json:"short_message"`
	TLVs               pdu.TLVs  `json:"tlvs,omitempty"`
	Concat             string    `json:"concat,omitempty"` // "", "udh8", "udh16" or "sar"
	Ref                uint16    `json:"ref,omitempty"`
	Total              uint8     `json:"total,omitempty"`
	Seq                uint8     `json:"seq,omitempty"`
	ReceivedAt         time.Time `json:"received_at"`
}

func (s *Server) record(c *conn, v *smView, ci concatInfo, id []byte, now time.Time) {
	sub := Submit{
		MessageID: string(id), SystemID: c.systemID,
		SourceTON: v.srcTON, SourceNPI: v.srcNPI, Source: string(v.source),
		DestTON: v.dstTON, DestNPI: v.dstNPI, Dest: string(v.dest),
		ServiceType: string(v.serviceType), ValidityPeriod: string(v.validity), ESMClass: v.esmClass, DataCoding: v.dataCoding,
		RegisteredDelivery: v.regDelivery, ShortMessage: append([]byte(nil), v.sm...),
		Concat: ci.kind, Ref: ci.ref, Total: ci.total, Seq: ci.seq, ReceivedAt: now,
	}
	for t := v.tlvs; len(t) >= 4; {
		l := int(binary.BigEndian.Uint16(t[2:]))
		sub.TLVs = append(sub.TLVs, pdu.TLV{Tag: pdu.Tag(binary.BigEndian.Uint16(t)), Value: append([]byte(nil), t[4:4+l]...)})
		t = t[4+l:] // parseSM validated the lengths
	}
	s.recMu.Lock()
	if len(s.recs) < s.o.MaxRecorded {
		s.recs = append(s.recs, sub)
	} else {
		s.recDropped++
	}
	s.recMu.Unlock()
}

// Submits returns a copy of the recorded submits in arrival order (empty
// unless Options.RecordSubmits).
func (s *Server) Submits() []Submit {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	return append([]Submit(nil), s.recs...)
}

// Received returns the recorded submits to dest, in arrival order.
func (s *Server) Received(dest string) []Submit {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	var out []Submit
	for _, r := range s.recs {
		if r.Dest == dest {
			out = append(out, r)
		}
	}
	return out
}

// Duplicates returns the recorded (dest, short_message) pairs seen more than
// once, with their counts: a quick check for resends in tests.
func (s *Server) Duplicates() map[string]int {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	seen := map[string]int{}
	for _, r := range s.recs {
		seen[r.Dest+"\x00"+string(r.ShortMessage)]++
	}
	out := map[string]int{}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if seen[k] > 1 {
			out[k] = seen[k]
		}
	}
	return out
}

// bucket is a token bucket; rate 0 lets everything through without a lock.
type bucket struct {
	on     atomic.Bool
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func (b *bucket) set(rate float64, burst int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if rate <= 0 || rate != rate {
		b.on.Store(false)
		b.rate = 0
		return
	}
	b.rate = rate
	b.burst = float64(burst)
	if burst <= 0 {
		b.burst = max(1, rate)
	}
	b.tokens = b.burst
	b.last = time.Now()
	b.on.Store(true)
}

func (b *bucket) allow() bool {
	if !b.on.Load() {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rate <= 0 {
		return true
	}
	now := time.Now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
