package smppsim

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/smsgate/smsgate/smpp/pdu"
)

// IDFormat is how a numeric message id is rendered.
type IDFormat string

// Message id formats. The same number renders differently in each, which is
// what a correlation test needs (e.g. 305419896 / 12345678 / 000012345678).
const (
	// IDSame is only valid for Options.ReceiptIDFormat: the receipt carries
	// the id exactly as in the submit_sm_resp.
	IDSame IDFormat = "same"
	// IDDec renders the id in decimal without padding.
	IDDec IDFormat = "dec"
	// IDHexUpper renders the id in upper-case hex without padding.
	IDHexUpper IDFormat = "HEX"
	// IDHexLower renders the id in lower-case hex, zero-padded to
	// Options.IDWidth digits.
	IDHexLower IDFormat = "hex0"
)

// ParseIDFormat accepts dec, HEX (or hex) and hex0, plus "same" (or "")
// when allowSame.
func ParseIDFormat(s string, allowSame bool) (IDFormat, error) {
	switch s {
	case "dec":
		return IDDec, nil
	case "HEX", "hex":
		return IDHexUpper, nil
	case "hex0":
		return IDHexLower, nil
	case "same", "":
		if allowSame {
			return IDSame, nil
		}
	}
	return "", fmt.Errorf("smppsim: unknown id format %q (want dec, HEX, hex0%s)", s, map[bool]string{true: " or same"}[allowSame])
}

// Receipt stat values written in the receipt text (SMPP 3.4 Appendix B).
const (
	StatDelivered = "DELIVRD"
	StatUndeliv   = "UNDELIV"
	StatExpired   = "EXPIRED"
	StatRejected  = "REJECTD"
)

// Options configures a Server. The zero value is a working simulator on a
// random loopback port that accepts every bind and answers every submit_sm
// with ESME_ROK and, when asked for, an immediate DELIVRD receipt.
type Options struct {
	// Addr is the listen address. Default "127.0.0.1:0"; an empty host
	// (":2775") means 127.0.0.1. A host other than a loopback address is
	// refused unless AllowRemote.
	Addr string
	// AllowRemote permits non-loopback listen addresses.
	AllowRemote bool
	// SystemID is returned in bind responses. Default "smppsim".
	SystemID string

	// Credentials maps system_id to password. Nil accepts every bind. An
	// unknown system_id is answered ESME_RINVSYSID, a wrong password
	// ESME_RINVPASWD; the connection is then closed.
	Credentials map[string]string
	// MaxBinds limits concurrent binds per system_id (0 = unlimited); a bind
	// beyond it is answered ESME_RALYBND.
	MaxBinds int

	// IDFormat renders submit_sm_resp message ids. Default IDDec.
	IDFormat IDFormat
	// IDWidth is the zero-padded width of IDHexLower ids. Default 12.
	IDWidth int
	// IDStart is the first message id number. Default 0x10000000, so that
	// decimal and hex renderings of the same id differ.
	IDStart uint64

	// RespDelay delays every response to submit_sm; RespJitter adds a
	// uniform random [0, RespJitter) on top. Both changeable at runtime.
	RespDelay, RespJitter time.Duration
	// StopAnswering keeps reading but answers nothing at all (half-open
	// peer simulation). Changeable at runtime.
	StopAnswering bool
	// TPS is a token bucket shared by all binds (0 = unlimited); a submit
	// above it is answered ESME_RTHROTTLED. TPSBurst defaults to
	// max(1, TPS).
	TPS      float64
	TPSBurst int
	// ThrottleRatio (0..1) answers that share of submits ESME_RTHROTTLED.
	ThrottleRatio float64
	// ErrorRate (0..1) answers that share of submits with ErrorStatus
	// (default ESME_RINVDSTADR 0x0B).
	ErrorRate   float64
	ErrorStatus pdu.Status
	// DestStatus forces the status of submits whose destination starts with
	// a key (longest prefix wins), e.g. {"99500": pdu.ErrInvDstAdr}.
	DestStatus map[string]pdu.Status
	// DropAfter closes a connection right after its N-th submit_sm_resp is
	// written (0 = never). Later submits on it are ignored.
	DropAfter int
	// Seed makes every random decision (ratios, stat mix, jitter)
	// deterministic: decision k of each kind depends only on Seed and k.
	Seed int64

	// NoReceipts disables delivery receipts even when registered_delivery
	// asks for them.
	NoReceipts bool
	// ReceiptDelay delays each receipt after its submit; ReceiptJitter adds
	// a uniform random [0, ReceiptJitter).
	ReceiptDelay, ReceiptJitter time.Duration
	// ReceiptTLVs adds receipted_message_id (0x001E, same rendering as the
	// text) and message_state (0x0427) to receipts.
	ReceiptTLVs bool
	// ReceiptIDFormat renders the id in receipts. Default IDSame.
	ReceiptIDFormat IDFormat
	// ReceiptOtherBind sends each receipt on a receiver-capable bind of the
	// same system_id other than the one the submit came on, when one exists.
	ReceiptOtherBind bool
	// ReceiptFirst sends the receipt before the submit_sm_resp (the resp is
	// held until the receipt is written). Across two binds the order on the
	// ESME side is only as good as the kernel's.
	ReceiptFirst bool
	// DeliveredRatio, UndelivRatio and ExpiredRatio are weights of the
	// receipt stat mix; all zero means every receipt says DELIVRD.
	DeliveredRatio, UndelivRatio, ExpiredRatio float64
	// ReceiptLastPartOnly sends a receipt only for the last part of a
	// concatenated submit (UDH IEI 0x00/0x08 or SAR TLVs).
	ReceiptLastPartOnly bool
	// DestStat forces the receipt stat for destinations starting with a key
	// (longest prefix wins), e.g. {"99577": "UNDELIV"}.
	DestStat map[string]string
	// DestErr sets the supplier error of receipts for destinations starting
	// with a key (longest prefix wins): the text's err: value and/or the
	// network_error_code TLV, e.g. {"99577": {Err: "012"}}.
	DestErr map[string]ReceiptError
	// RedeliverDelay is the wait before resending a receipt answered with a
	// non-zero deliver_sm_resp status. Default 1s. MaxRedeliveries bounds
	// the resends (default 3); beyond, the receipt is dropped and counted.
	RedeliverDelay  time.Duration
	MaxRedeliveries int
	// MaxQueuedReceipts bounds the per-system_id queue of receipts that
	// have no receiver-capable bind (e.g. the bind dropped); they are sent
	// on the next bind. Default 100000; overflow is dropped and counted.
	MaxQueuedReceipts int
	// ReceiptWindow bounds unacknowledged deliver_sm per bind; receipts
	// beyond it wait in the queue. Default 10000.
	ReceiptWindow int

	// MOTimeout bounds how long InjectMO waits for deliver_sm_resp. Default 5s.
	MOTimeout time.Duration
	// EnquireLinkInterval makes the simulator send enquire_link to every
	// bind at that interval (0 = never).
	EnquireLinkInterval time.Duration

	// RecordSubmits keeps every accepted submit for Submits/Received, up to
	// MaxRecorded (default 1000000; overflow counted).
	RecordSubmits bool
	MaxRecorded   int

	// MaxPDULen is the largest PDU read; longer ones are discarded and
	// answered generic_nack ESME_RINVCMDLEN. Default 65536.
	MaxPDULen int
	// WriteTimeout bounds one write to an ESME. Default 10s.
	WriteTimeout time.Duration
	// IdleTimeout closes a connection that sent nothing for that long.
	// Default 10m.
	IdleTimeout time.Duration
	// MaxWriteBuffer bounds the bytes waiting for a bind's writer; readers
	// producing responses wait when it is full. Default 4 MiB.
	MaxWriteBuffer int
	// MaxScheduled bounds delayed events (delayed responses and receipts,
	// redeliveries). Default 1000000; overflow is dropped and counted.
	MaxScheduled int
}

func (o Options) withDefaults() (Options, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if host, port, err := net.SplitHostPort(o.Addr); err == nil && host == "" {
		// ":2775" means the loopback address here, never all interfaces.
		o.Addr = net.JoinHostPort("127.0.0.1", port)
	}
	if !o.AllowRemote {
		if err := CheckLoopback(o.Addr); err != nil {
			return o, err
		}
	}
	if o.SystemID == "" {
		o.SystemID = "smppsim"
	}
	if o.IDFormat == "" {
		o.IDFormat = IDDec
	}
	if _, err := ParseIDFormat(string(o.IDFormat), false); err != nil {
		return o, err
	}
	if o.ReceiptIDFormat == "" {
		o.ReceiptIDFormat = IDSame
	}
	if _, err := ParseIDFormat(string(o.ReceiptIDFormat), true); err != nil {
		return o, err
	}
	if o.IDWidth <= 0 {
		o.IDWidth = 12
	}
	if o.IDStart == 0 {
		o.IDStart = 0x10000000
	}
	if o.ErrorStatus == 0 {
		o.ErrorStatus = pdu.ErrInvDstAdr
	}
	if o.RedeliverDelay <= 0 {
		o.RedeliverDelay = time.Second
	}
	if o.MaxRedeliveries <= 0 {
		o.MaxRedeliveries = 3
	}
	if o.MaxQueuedReceipts <= 0 {
		o.MaxQueuedReceipts = 100000
	}
	if o.ReceiptWindow <= 0 {
		o.ReceiptWindow = 10000
	}
	if o.MOTimeout <= 0 {
		o.MOTimeout = 5 * time.Second
	}
	if o.MaxRecorded <= 0 {
		o.MaxRecorded = 1000000
	}
	if o.MaxPDULen <= 0 {
		o.MaxPDULen = 65536
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 10 * time.Minute
	}
	if o.MaxWriteBuffer <= 0 {
		o.MaxWriteBuffer = 4 << 20
	}
	if o.MaxScheduled <= 0 {
		o.MaxScheduled = 1000000
	}
	for p, st := range o.DestStat {
		if !validStat(st) {
			return o, fmt.Errorf("smppsim: DestStat[%q]: unknown stat %q", p, st)
		}
	}
	for p, e := range o.DestErr {
		if err := e.validate(); err != nil {
			return o, fmt.Errorf("smppsim: DestErr[%q]: %w", p, err)
		}
	}
	return o, nil
}

func validStat(s string) bool {
	switch s {
	case StatDelivered, StatUndeliv, StatExpired, StatRejected:
		return true
	}
	return false
}

// ErrRemoteAddr is returned for a listen address that is not loopback.
var ErrRemoteAddr = fmt.Errorf("smppsim: listen address is not loopback (set AllowRemote)")

// CheckLoopback returns ErrRemoteAddr unless addr's host is a loopback IP or
// "localhost". Start maps an empty host (":2775") to 127.0.0.1 first.
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("smppsim: listen address %q: %w", addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%w: %q", ErrRemoteAddr, addr)
}
