package smppsim

import "fmt"

// ReceiptError is the supplier error a receipt carries (Options.DestErr).
type ReceiptError struct {
	// Err replaces the text's err: value (default 000 for DELIVRD, 001
	// otherwise); 1–16 of [A-Za-z0-9_.:-], "" keeps the default.
	Err string
	// NetworkType, when not 0, adds the network_error_code TLV (0x0423):
	// the network type (3 = GSM) and NetworkCode, big-endian.
	NetworkType uint8
	NetworkCode uint16
}

func (e ReceiptError) validate() error {
	if len(e.Err) > 16 {
		return fmt.Errorf("err %q: longer than 16 characters", e.Err)
	}
	for i := 0; i < len(e.Err); i++ {
		c := e.Err[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_' || c == '.' || c == ':' || c == '-') {
			return fmt.Errorf("err %q: want [A-Za-z0-9_.:-] (it is a field of the receipt text)", e.Err)
		}
	}
	if e.Err == "" && e.NetworkType == 0 {
		return fmt.Errorf("neither Err nor NetworkType set")
	}
	return nil
}

// receiptErr is the DestErr entry of the longest prefix of dest.
func (s *Server) receiptErr(dest []byte) (ReceiptError, bool) {
	best, found := -1, ReceiptError{}
	for p, e := range s.o.DestErr {
		if len(p) > best && len(dest) >= len(p) && string(dest[:len(p)]) == p {
			best, found = len(p), e
		}
	}
	return found, best >= 0
}
