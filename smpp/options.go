package smpp

import (
	"crypto/tls"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/smsgate/smsgate/smpp/pdu"
)

// BindMode is the kind of bind a Session opens.
type BindMode uint8

// Bind modes. Transmitter sessions submit; Receiver sessions take
// deliver_sm; Transceiver sessions do both.
const (
	Transceiver BindMode = iota
	Transmitter
	Receiver
)

// String returns the mode as written in configuration.
func (m BindMode) String() string {
	switch m {
	case Transceiver:
		return "transceiver"
	case Transmitter:
		return "transmitter"
	case Receiver:
		return "receiver"
	}
	return fmt.Sprintf("BindMode(%d)", uint8(m))
}

// bindID is the bind command for the mode.
func (m BindMode) bindID() pdu.CommandID {
	switch m {
	case Transmitter:
		return pdu.BindTransmitter
	case Receiver:
		return pdu.BindReceiver
	}
	return pdu.BindTransceiver
}

func (m BindMode) canSubmit() bool  { return m != Receiver }
func (m BindMode) canReceive() bool { return m != Transmitter }

// BindInfo identifies the bind an inbound PDU arrived on. It is passed to the
// InboundHandler and must be treated as read-only.
type BindInfo struct {
	Operator     string
	Index        int // SessionOptions.BindIndex
	Mode         BindMode
	SMSCSystemID string // system_id from the SMSC's bind_resp
}

// InboundHandler receives deliver_sm (receipts and MO) from the SMSC.
//
// HandleDeliver is called on the bind's reader goroutine, so it must return
// quickly: hand d to a queue and return. The SMSC gets its deliver_sm_resp
// only when ack is called: status 0 (pdu.StatusOK) once the PDU is durably
// recorded, or a non-zero status (e.g. pdu.ErrSysErr, pdu.ErrThrottled,
// pdu.ErrXTAppn) to make the SMSC redeliver. ack may be called from any
// goroutine; only its first call counts, and it is a no-op once the session
// has ended (the SMSC then redelivers on a later bind). d is owned by the
// handler.
type InboundHandler interface {
	HandleDeliver(b *BindInfo, d *pdu.SM, ack func(pdu.Status))
}

// HandlerFunc adapts a function to InboundHandler.
type HandlerFunc func(b *BindInfo, d *pdu.SM, ack func(pdu.Status))

// HandleDeliver calls f.
func (f HandlerFunc) HandleDeliver(b *BindInfo, d *pdu.SM, ack func(pdu.Status)) { f(b, d, ack) }

// SessionOptions configures one bind. Zero values take the documented
// defaults.
type SessionOptions struct {
	Addr       string      // host:port of the SMSC; required
	TLSConfig  *tls.Config // nil: plain TCP
	SystemID   string      // required
	Password   string
	SystemType string
	// AddressRange is sent in the bind (most SMSCs ignore it).
	AddressRange string
	Mode         BindMode

	// Window is the most submit_sm outstanding at once; Submit blocks when
	// it is full. Default 10.
	Window int
	// EnquireLink is how long the link may be silent (nothing read) before
	// an enquire_link is sent. Default 30s.
	EnquireLink time.Duration
	// RespTimeout is how long a submit_sm waits for its response before it
	// resolves as Unknown and frees its window slot. Default 30s.
	RespTimeout time.Duration
	// EnquireLinkTimeout: an enquire_link followed by this much silence
	// ends the session (half-open TCP). Default 10s.
	EnquireLinkTimeout time.Duration
	// BindTimeout bounds the bind exchange. Default 10s.
	BindTimeout time.Duration
	// DialTimeout bounds the TCP connect and TLS handshake. Default 10s.
	DialTimeout time.Duration
	// WriteTimeout bounds every socket write; a peer that does not read for
	// this long ends the session. Default 10s.
	WriteTimeout time.Duration
	// MaxPDU is the largest inbound PDU accepted (command_length); larger
	// ones are discarded and answered with generic_nack ESME_RINVCMDLEN.
	// Default 65536.
	MaxPDU int
	// MaxUnacked bounds the deliver_sm handed to Handler and not yet acked
	// (default 1000). At the bound the reader pauses (backpressure) for at
	// most MaxReadPause; past it deliver_sm are answered ESME_RTHROTTLED (the
	// SMSC delivers them again) and reading goes on, so our submit_sm_resp
	// are not left unread until they time out.
	MaxUnacked int
	// MaxReadPause bounds one backpressure pause of the reader. Default
	// RespTimeout/3, within [100ms, 5s].
	MaxReadPause time.Duration
	// Handler takes inbound deliver_sm; required for Receiver and
	// Transceiver binds.
	Handler InboundHandler
	// OnThrottle, if set, is called on the reader goroutine for every
	// submit_sm answered with ESME_RTHROTTLED or ESME_RMSGQFUL; it must
	// not block. The Pool uses it to slow the operator's Gate.
	OnThrottle func(pdu.Status)

	Logger    *zap.Logger // default: no logging
	Metrics   *Metrics    // default: no metrics
	Operator  string      // metric label and log field
	BindIndex int         // log field and BindInfo.Index

	hooks *testHooks
}

// testHooks lets tests in this package reach states that are otherwise
// racy to produce.
type testHooks struct {
	firstSeq    uint32 // first sequence number (default 1)
	beforeWrite func() // called by the writer before each socket write
}

func (o SessionOptions) withDefaults() (SessionOptions, error) {
	if o.Addr == "" {
		return o, fmt.Errorf("smpp: SessionOptions.Addr is required")
	}
	if o.SystemID == "" {
		return o, fmt.Errorf("smpp: SessionOptions.SystemID is required")
	}
	if o.Mode > Receiver {
		return o, fmt.Errorf("smpp: SessionOptions.Mode: invalid %v", o.Mode)
	}
	if o.Mode.canReceive() && o.Handler == nil {
		return o, fmt.Errorf("smpp: SessionOptions.Handler is required for a %v bind", o.Mode)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.Window <= 0 {
		o.Window = 10
	}
	def(&o.EnquireLink, 30*time.Second)
	def(&o.RespTimeout, 30*time.Second)
	def(&o.EnquireLinkTimeout, 10*time.Second)
	def(&o.BindTimeout, 10*time.Second)
	def(&o.DialTimeout, 10*time.Second)
	def(&o.WriteTimeout, 10*time.Second)
	if o.MaxPDU <= 0 {
		o.MaxPDU = 65536
	}
	// Below this not even a bind_resp or deliver_sm fits.
	o.MaxPDU = max(o.MaxPDU, 256)
	if o.MaxUnacked <= 0 {
		o.MaxUnacked = 1000
	}
	if o.MaxReadPause <= 0 {
		o.MaxReadPause = min(max(o.RespTimeout/3, 100*time.Millisecond), 5*time.Second)
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	return o, nil
}

// tickInterval is the period of the writer's sweep (response timeouts,
// enquire_link). A twentieth of the shortest timer keeps every timer within
// 5% of its setting (at most 3 ticks late for half-open detection) at a
// negligible cost; 250ms at the defaults.
func (o *SessionOptions) tickInterval() time.Duration {
	d := min(o.EnquireLink, o.EnquireLinkTimeout, o.RespTimeout) / 20
	return min(max(d, time.Millisecond), 250*time.Millisecond)
}
