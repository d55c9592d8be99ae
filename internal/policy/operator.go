package policy

import (
	"fmt"
	"strings"

	"github.com/smsgate/smsgate/dlr"
	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/smpp/coding"
	"github.com/smsgate/smsgate/smpp/pdu"
)

// Operator is the static per-operator policy the dispatcher and the
// receipt processor need (connection settings stay in config).
type Operator struct {
	Name          string
	Concat        coding.Concat
	GSM7Packed    bool
	IDMode        dlr.IDMode
	ChargeOnDeliv bool
	RetryUnknown  bool
	FailoverAfter int
	TempErrors    map[pdu.Status]bool
	LastPartDLR   bool
	Window, Binds int
	Receivers     int // receiver-only binds (transmitter+receiver mode)
	TPS           float64
	SystemID      string
}

// Temporary reports whether st is retried rather than final for this operator.
func (o *Operator) Temporary(st pdu.Status) bool {
	return st.Temporary() || o.TempErrors[st]
}

// OperatorFromConfig builds an operator's policy.
func OperatorFromConfig(oc *config.Operator) (*Operator, error) {
	concat, err := coding.ParseConcat(oc.Concat)
	if err != nil {
		return nil, fmt.Errorf("operator %s: %w", oc.Name, err)
	}
	mode, err := dlr.ParseIDMode(oc.DLRID)
	if err != nil {
		return nil, fmt.Errorf("operator %s: %w", oc.Name, err)
	}
	o := &Operator{Name: oc.Name, Concat: concat, GSM7Packed: oc.GSM7Packed, IDMode: mode,
		ChargeOnDeliv: oc.ChargeOn == "delivered", RetryUnknown: oc.RetryUnknown, FailoverAfter: max(oc.FailoverAfter, 1),
		TempErrors: map[pdu.Status]bool{}, LastPartDLR: oc.DLRLastPartOnly, Window: oc.Window, Binds: oc.Binds,
		TPS: oc.TPS, SystemID: oc.SystemID}
	if strings.EqualFold(oc.Bind, config.BindTransmitterReceiver) {
		o.Receivers = max(oc.Receivers, 1)
	}
	for _, s := range oc.TemporaryErrors {
		o.TempErrors[pdu.Status(s)] = true
	}
	return o, nil
}

// AddressError: statuses that say the message itself is wrong; another
// route would refuse it too.
func AddressError(st pdu.Status) bool {
	switch st {
	case pdu.ErrInvDstAdr, pdu.ErrInvSrcAdr, pdu.ErrInvDstTON, pdu.ErrInvSrcTON, pdu.ErrInvMsgLen, pdu.ErrInvEsmClass:
		return true
	}
	return false
}
