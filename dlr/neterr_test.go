package dlr

import (
	"strings"
	"testing"
)

func TestNetworkErrorParseAndString(t *testing.T) {
	for in, want := range map[string]NetworkError{
		"gsm:0x000B": {3, 11}, "GSM:11": {3, 11}, "3:0x0b": {3, 11}, " smpp : 0xFFFF ": {7, 0xFFFF},
		"ansi136cause:0": {4, 0}, "200:5": {200, 5},
	} {
		got, err := ParseNetworkError(in)
		if err != nil || got != want {
			t.Errorf("ParseNetworkError(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"gsm": "want TYPE:CODE", "lte:1": "unknown network type", "0:1": "unknown network type",
		"256:1": "unknown network type", "gsm:0x10000": "want 0–65535", "gsm:-1": "want 0–65535", "gsm:": "want 0–65535",
	} {
		if _, err := ParseNetworkError(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseNetworkError(%q) = %v, want an error with %q", in, err, msg)
		}
	}
	for e, want := range map[NetworkError]string{{3, 11}: "gsm:0x000B", {8, 0xABCD}: "smsc:0xABCD", {200, 1}: "200:0x0001", {}: ""} {
		if got := e.String(); got != want {
			t.Errorf("%+v.String() = %q, want %q", e, got, want)
		}
	}
}

// The text's err: value survives the TLV, and what is stored (Err) reads
// back into the same parts.
func TestReceiptErrTextAndTLV(t *testing.T) {
	r, err := ParseReceiptText([]byte("id:7 stat:UNDELIV err:012 text:x"))
	if err != nil {
		t.Fatal(err)
	}
	if r.ErrText() != "012" || !r.NetworkErr.IsZero() {
		t.Fatalf("text only: ErrText %q, NetworkErr %+v", r.ErrText(), r.NetworkErr)
	}
	ApplyTLVs(&r, "", 0, false, []byte{3, 0, 0x0B})
	if r.ErrText() != "012" || r.NetworkErr != (NetworkError{3, 11}) || r.Err != "3:0x000B" {
		t.Fatalf("with TLV: ErrText %q, NetworkErr %+v, Err %q", r.ErrText(), r.NetworkErr, r.Err)
	}
	if txt, ne := SplitStoredErr(r.Err); txt != "" || ne != (NetworkError{3, 11}) {
		t.Errorf("SplitStoredErr(%q) = %q, %+v", r.Err, txt, ne)
	}
	if txt, ne := SplitStoredErr("012"); txt != "012" || !ne.IsZero() {
		t.Errorf("SplitStoredErr(012) = %q, %+v", txt, ne)
	}
	if txt, ne := SplitStoredErr("0:0x0001"); txt != "0:0x0001" || !ne.IsZero() {
		t.Errorf("type 0 is no network error: %q, %+v", txt, ne)
	}
}
