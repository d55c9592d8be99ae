package coding

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseUDH(t *testing.T) {
	tests := []struct {
		name string
		sm   string // hex
		want UDH
		rest string // hex
	}{
		{"8-bit ref", "050003cc0201" + "6869", UDH{Concat: true, Ref: 0xcc, Total: 2, Seq: 1, Len: 6}, "6869"},
		{"16-bit ref", "0608041234030368", UDH{Concat: true, Ref: 0x1234, Total: 3, Seq: 3, Ref16: true, Len: 7}, "68"},
		{"empty udh", "00ab", UDH{Len: 1}, "ab"},
		{"no payload", "050003010101", UDH{Concat: true, Ref: 1, Total: 1, Seq: 1, Len: 6}, ""},
		// National language single shift (IEI 0x24) before the concat IE is skipped.
		{"other IE first", "08240101" + "0003070201" + "41", UDH{Concat: true, Ref: 7, Total: 2, Seq: 1, Len: 9}, "41"},
		{"only other IEs", "0624010125" + "0100" + "41", UDH{Len: 7}, "41"},
		{"empty IE", "027000" + "41", UDH{Len: 3}, "41"},
		// Repeated concat IEs: the last one counts.
		{"last wins", "0b000301020108040102020241", UDH{Concat: true, Ref: 0x0102, Total: 2, Seq: 2, Ref16: true, Len: 12}, "41"},
		// Invalid values: the IE is ignored (GSM 03.40 §9.2.3.24.1).
		{"seq zero", "050003010200", UDH{Len: 6}, ""},
		{"seq beyond total", "050003010203", UDH{Len: 6}, ""},
		{"total zero", "050003010000", UDH{Len: 6}, ""},
		{"invalid after valid", "0a0003010201000301020341", UDH{Len: 11}, "41"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, rest, err := ParseUDH(mustHex(t, tt.sm))
			if err != nil {
				t.Fatal(err)
			}
			if h != tt.want {
				t.Errorf("UDH = %+v, want %+v", h, tt.want)
			}
			if want := mustHex(t, tt.rest); !bytes.Equal(rest, want) {
				t.Errorf("rest = %x, want %x", rest, want)
			}
		})
	}
}

func TestParseUDHMalformed(t *testing.T) {
	for _, sm := range []string{
		"",             // no UDHL
		"05000301",     // UDHL beyond data
		"0100",         // IE header cut
		"03000401",     // IE length beyond UDH
		"0400020102",   // concat8 with length 2
		"050803010201", // concat16 with length 3
		"0600040102030401",
		"ff",
	} {
		_, _, err := ParseUDH(mustHex(t, sm))
		if !errors.Is(err, ErrMalformedUDH) {
			t.Errorf("ParseUDH(%s) err = %v, want ErrMalformedUDH", sm, err)
		}
	}
}

func TestAppendConcat(t *testing.T) {
	tests := []struct {
		h    UDH
		want string
	}{
		{UDH{Ref: 0x1234, Total: 2, Seq: 1}, "050003340201"},
		{UDH{Ref: 0x1234, Total: 2, Seq: 1, Ref16: true}, "060804123402 01"},
		{UDH{Ref: 0xff, Total: 255, Seq: 255}, "050003ffffff"},
	}
	for _, tt := range tests {
		got := tt.h.AppendConcat([]byte{0xee})
		want := append([]byte{0xee}, mustHex(t, stripSpaces(tt.want))...)
		if !bytes.Equal(got, want) {
			t.Errorf("%+v: got %x, want %x", tt.h, got, want)
		}
		h, rest, err := ParseUDH(got[1:])
		if err != nil || len(rest) != 0 || h.Ref != tt.h.Ref&refMask(tt.h.Ref16) || h.Total != tt.h.Total || h.Seq != tt.h.Seq || h.Ref16 != tt.h.Ref16 {
			t.Errorf("%+v: parsed back as %+v, rest %x, err %v", tt.h, h, rest, err)
		}
	}
}

func refMask(ref16 bool) uint16 {
	if ref16 {
		return 0xffff
	}
	return 0xff
}

func stripSpaces(s string) string {
	return string(bytes.ReplaceAll([]byte(s), []byte(" "), nil))
}

func FuzzParseUDH(f *testing.F) {
	for _, s := range []string{"050003cc0201", "0608041234030368", "00", "", "ff", "0624010125010041", "0b000301020108040102020241"} {
		f.Add(mustHex(f, s))
	}
	f.Fuzz(func(t *testing.T, sm []byte) {
		h, rest, err := ParseUDH(sm)
		if err != nil {
			if !errors.Is(err, ErrMalformedUDH) {
				t.Fatalf("error %v does not wrap ErrMalformedUDH", err)
			}
			return
		}
		if h.Len < 1 || h.Len+len(rest) != len(sm) || !bytes.Equal(sm[h.Len:], rest) {
			t.Fatalf("Len %d rest %d of %d octets", h.Len, len(rest), len(sm))
		}
		if h.Concat {
			if h.Total == 0 || h.Seq == 0 || h.Seq > h.Total || (!h.Ref16 && h.Ref > 0xff) {
				t.Fatalf("invalid concat info accepted: %+v", h)
			}
			// Rebuilding the concat IE alone parses to the same info.
			h2, _, err := ParseUDH(h.AppendConcat(nil))
			h.Len = h2.Len
			if err != nil || h2 != h {
				t.Fatalf("rebuilt %+v, parsed %+v, %v", h, h2, err)
			}
		} else if h.Ref != 0 || h.Total != 0 || h.Seq != 0 || h.Ref16 {
			t.Fatalf("concat fields set without Concat: %+v", h)
		}
	})
}
