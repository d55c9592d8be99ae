package smppsim

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// DestErr puts the err: value and the network_error_code TLV into the
// receipts of matching destinations (longest prefix), and nothing else
// changes for the others.
func TestReceiptDestErr(t *testing.T) {
	s := &Server{o: Options{IDFormat: IDDec, ReceiptIDFormat: IDSame, IDWidth: 12, DestErr: map[string]ReceiptError{
		"99":  {Err: "012"},
		"995": {Err: "AB-1", NetworkType: 3, NetworkCode: 0x000B},
	}}}
	at := time.Date(2026, 3, 9, 7, 5, 0, 0, time.UTC)
	receipt := func(dest string) []byte {
		v := smView{dest: []byte(dest), source: []byte("ACME")}
		return s.newReceipt(nil, &v, 1, []byte("1"), StatUndeliv, at, at).b
	}
	tlv := []byte{0x04, 0x23, 0x00, 0x03, 0x03, 0x00, 0x0B}
	if b := receipt("995599000001"); !bytes.Contains(b, []byte("stat:UNDELIV err:AB-1 text:")) || !bytes.HasSuffix(b, tlv) {
		t.Errorf("995…: %q, want err:AB-1 and the network_error_code TLV", b)
	}
	if b := receipt("991000"); !bytes.Contains(b, []byte("err:012 text:")) || bytes.Contains(b, []byte{0x04, 0x23}) {
		t.Errorf("99…: %q, want err:012 without a TLV", b)
	}
	if b := receipt("4420"); !bytes.Contains(b, []byte("err:001 text:")) {
		t.Errorf("44…: %q, want the default err:001", b)
	}
	for _, bad := range []ReceiptError{{Err: "0 12"}, {Err: strings.Repeat("1", 17)}, {}} {
		if _, err := (Options{DestErr: map[string]ReceiptError{"9": bad}}).withDefaults(); err == nil {
			t.Errorf("DestErr %+v accepted", bad)
		}
	}
}
