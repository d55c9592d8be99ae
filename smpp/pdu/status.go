package pdu

import "fmt"

// Status is an SMPP command_status. It implements error so a non-zero
// response status can be returned and inspected with errors.As.
type Status uint32

// Command status values used by smsgate (SMPP 3.4 §5.1.3).
const (
	StatusOK           Status = 0x00000000
	ErrInvMsgLen       Status = 0x00000001
	ErrInvCmdLen       Status = 0x00000002
	ErrInvCmdID        Status = 0x00000003
	ErrInvBndSts       Status = 0x00000004
	ErrAlyBnd          Status = 0x00000005
	ErrInvPrtFlg       Status = 0x00000006
	ErrInvRegDlvFlg    Status = 0x00000007
	ErrSysErr          Status = 0x00000008
	ErrInvSrcAdr       Status = 0x0000000A
	ErrInvDstAdr       Status = 0x0000000B
	ErrInvMsgID        Status = 0x0000000C
	ErrBindFail        Status = 0x0000000D
	ErrInvPaswd        Status = 0x0000000E
	ErrInvSysID        Status = 0x0000000F
	ErrMsgQFul         Status = 0x00000014
	ErrInvSerTyp       Status = 0x00000015
	ErrInvEsmClass     Status = 0x00000043
	ErrSubmitFail      Status = 0x00000045
	ErrInvSrcTON       Status = 0x00000048
	ErrInvDstTON       Status = 0x00000050
	ErrThrottled       Status = 0x00000058
	ErrInvSched        Status = 0x00000061
	ErrInvExpiry       Status = 0x00000062
	ErrXTAppn          Status = 0x00000064
	ErrXPAppn          Status = 0x00000065
	ErrXRAppn          Status = 0x00000066
	ErrInvOptParStream Status = 0x000000C0
	ErrOptParNotAllwd  Status = 0x000000C1
	ErrInvParLen       Status = 0x000000C2
	ErrMissingOptParam Status = 0x000000C3
	ErrInvOptParamVal  Status = 0x000000C4
	ErrDeliveryFailure Status = 0x000000FE
	ErrUnknownErr      Status = 0x000000FF
)

var statusNames = map[Status]string{
	StatusOK: "ESME_ROK", ErrInvMsgLen: "ESME_RINVMSGLEN", ErrInvCmdLen: "ESME_RINVCMDLEN",
	ErrInvCmdID: "ESME_RINVCMDID", ErrInvBndSts: "ESME_RINVBNDSTS", ErrAlyBnd: "ESME_RALYBND",
	ErrInvPrtFlg: "ESME_RINVPRTFLG", ErrInvRegDlvFlg: "ESME_RINVREGDLVFLG", ErrSysErr: "ESME_RSYSERR",
	ErrInvSrcAdr: "ESME_RINVSRCADR", ErrInvDstAdr: "ESME_RINVDSTADR", ErrInvMsgID: "ESME_RINVMSGID",
	ErrBindFail: "ESME_RBINDFAIL", ErrInvPaswd: "ESME_RINVPASWD", ErrInvSysID: "ESME_RINVSYSID",
	ErrMsgQFul: "ESME_RMSGQFUL", ErrInvSerTyp: "ESME_RINVSERTYP", ErrInvEsmClass: "ESME_RINVESMCLASS",
	ErrSubmitFail: "ESME_RSUBMITFAIL", ErrInvSrcTON: "ESME_RINVSRCTON", ErrInvDstTON: "ESME_RINVDSTTON",
	ErrThrottled: "ESME_RTHROTTLED", ErrInvSched: "ESME_RINVSCHED", ErrInvExpiry: "ESME_RINVEXPIRY",
	ErrXTAppn: "ESME_RX_T_APPN", ErrXPAppn: "ESME_RX_P_APPN", ErrXRAppn: "ESME_RX_R_APPN",
	ErrInvOptParStream: "ESME_RINVOPTPARSTREAM", ErrOptParNotAllwd: "ESME_ROPTPARNOTALLWD",
	ErrInvParLen: "ESME_RINVPARLEN", ErrMissingOptParam: "ESME_RMISSINGOPTPARAM",
	ErrInvOptParamVal: "ESME_RINVOPTPARAMVAL", ErrDeliveryFailure: "ESME_RDELIVERYFAILURE",
	ErrUnknownErr: "ESME_RUNKNOWNERR",
}

// Error renders the status as "ESME_RTHROTTLED (0x00000058)".
func (s Status) Error() string {
	if n, ok := statusNames[s]; ok {
		return fmt.Sprintf("%s (0x%08X)", n, uint32(s))
	}
	return fmt.Sprintf("command_status 0x%08X", uint32(s))
}

// String is Error, so a Status can be logged as a fmt.Stringer.
func (s Status) String() string { return s.Error() }

// Hex renders the status as the contract's error.code, e.g. "0x0000000B".
func (s Status) Hex() string { return fmt.Sprintf("0x%08X", uint32(s)) }

// Temporary reports whether the status is one the contract treats as
// temporary by default (§1.2): throttled, queue full, system error and
// temporary application error. The part is retried later; it never produces
// a rejection by itself. Operators extend the list with temporary_errors.
func (s Status) Temporary() bool {
	switch s {
	case ErrThrottled, ErrMsgQFul, ErrSysErr, ErrXTAppn:
		return true
	}
	return false
}

// Throttling reports whether the SMSC asked us to slow down.
func (s Status) Throttling() bool { return s == ErrThrottled || s == ErrMsgQFul }
