package smppsim

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/smpp/pdu"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", "\n", "", "\t", "").Replace(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Body fixtures (SMPP 3.4 §4.4.1 field order), also the fuzz seed corpus.
var smBodies = []struct {
	name   string
	hex    string
	err    error
	concat concatInfo
}{
	{"plain", `00 05 00 41434d4500 01 01 39393500 00 00 00 00 00 01 00 00 00 05 68656c6c6f`, nil, concatInfo{}},
	{"udh8", `00 01 01 3100 01 01 3200 40 00 00 00 00 01 00 00 00 08 050003 2a 03 02 6869`, nil,
		concatInfo{concatUDH8, 0x2a, 3, 2}},
	{"udh16 after another IE", `00 01 01 3100 01 01 3200 40 00 00 00 00 01 00 00 00 0c 0a 0a0100 080412340201 6869`, nil,
		concatInfo{concatUDH16, 0x1234, 2, 1}},
	{"sar", `00 01 01 3100 01 01 3200 00 00 00 00 00 01 00 08 00 02 0068
		020c 0002 002a 020e 0001 02 020f 0001 01`, nil, concatInfo{concatSAR, 0x2a, 2, 1}},
	{"payload", `00 01 01 3100 01 01 3200 00 00 00 00 00 01 00 00 00 00 0424 0003 616263`, nil, concatInfo{}},
	{"no NUL", `00 01 01 31`, pdu.ErrNoNUL, concatInfo{}},
	{"short", `00 01 01 3100 01 01 3200 00 00 00 00 00 01 00 00 00 09 6869`, pdu.ErrShort, concatInfo{}},
	{"bad TLV", `00 01 01 3100 01 01 3200 00 00 00 00 00 01 00 00 00 00 0424 0009 6162`, pdu.ErrBadTLV, concatInfo{}},
	{"UDHL overrun", `00 01 01 3100 01 01 3200 40 00 00 00 00 01 00 00 00 03 09 0003`, nil, concatInfo{}},
}

func TestParseSM(t *testing.T) {
	for _, tc := range smBodies {
		var v smView
		err := parseSM(unhex(t, tc.hex), &v)
		if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.err)
			continue
		}
		if err == nil {
			if c := v.concat(); c != tc.concat {
				t.Errorf("%s: concat %+v, want %+v", tc.name, c, tc.concat)
			}
		}
	}
	var v smView
	if err := parseSM(unhex(t, smBodies[4].hex), &v); err != nil || string(v.text()) != "abc" {
		t.Errorf("payload text %q %v", v.text(), err)
	}
}

// FuzzParseSM checks the zero-allocation parser against the codec: same
// verdict, same fields, and concat() never panics.
func FuzzParseSM(f *testing.F) {
	for _, tc := range smBodies {
		f.Add(unhex(f, tc.hex))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v smView
		err := parseSM(b, &v)
		var d pdu.SM
		derr := d.DecodeBody(b)
		if (err == nil) != (derr == nil) {
			t.Fatalf("parseSM %v, DecodeBody %v", err, derr)
		}
		if err != nil {
			if !errors.Is(err, derr) {
				t.Fatalf("parseSM %v, DecodeBody %v", err, derr)
			}
			return
		}
		if string(v.source) != d.Source || string(v.dest) != d.Dest || string(v.serviceType) != d.ServiceType ||
			v.esmClass != d.ESMClass || v.regDelivery != d.RegisteredDelivery || v.dataCoding != d.DataCoding ||
			v.srcTON != d.SourceTON || v.dstNPI != d.DestNPI || !bytes.Equal(v.sm, d.ShortMessage) ||
			!bytes.Equal(v.text(), d.Text()) {
			t.Fatalf("fields differ: %+v vs %+v", v, d)
		}
		c := v.concat()
		if c.kind == concatSAR {
			ref, _ := d.TLVs.Uint(pdu.TagSARMsgRefNum)
			if uint32(c.ref) != ref {
				t.Fatalf("SAR ref %d vs %d", c.ref, ref)
			}
		}
	})
}

func TestAppendID(t *testing.T) {
	for _, tc := range []struct {
		n     uint64
		f     IDFormat
		width int
		want  string
	}{
		{0, IDDec, 12, "0"},
		{305441741, IDDec, 12, "305441741"},
		{0x1234ABCD, IDHexUpper, 12, "1234ABCD"},
		{0x1234ABCD, IDHexLower, 12, "00001234abcd"},
		{0x1234ABCD, IDHexLower, 4, "1234abcd"},
		{0, IDHexLower, 3, "000"},
		{1<<64 - 1, IDHexUpper, 0, "FFFFFFFFFFFFFFFF"},
	} {
		if got := string(appendID(nil, tc.n, tc.f, tc.width)); got != tc.want {
			t.Errorf("appendID(%d, %s, %d) = %q, want %q", tc.n, tc.f, tc.width, got, tc.want)
		}
	}
	for _, s := range []string{"dec", "HEX", "hex", "hex0"} {
		if _, err := ParseIDFormat(s, false); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if _, err := ParseIDFormat("same", false); err == nil {
		t.Error("same accepted for resp ids")
	}
	if f, err := ParseIDFormat("same", true); err != nil || f != IDSame {
		t.Errorf("same: %v %v", f, err)
	}
}

func TestReceiptEncoding(t *testing.T) {
	s := &Server{o: Options{IDFormat: IDDec, ReceiptIDFormat: IDHexUpper, IDWidth: 12, ReceiptTLVs: true}}
	var v smView
	if err := parseSM(unhex(t, smBodies[0].hex), &v); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 9, 7, 5, 0, 0, time.UTC)
	p := s.newReceipt(nil, &v, 0xABC, []byte("2748"), StatExpired, at, at.Add(61*time.Minute))
	want := unhex(t, `00000099 00000005 00000000 00000000
		00 01 01 39393500 05 00 41434d4500 04 00 00 00 00 00 00 00 00
		64`+hex.EncodeToString([]byte("id:ABC sub:001 dlvrd:000 submit date:2603090705 done date:2603090806 stat:EXPIRED err:001 text:hello"))+`
		001e 0004 41424300 0427 0001 03`)
	if !bytes.Equal(p.b, want) {
		t.Errorf("receipt\n got %x\nwant %x", p.b, want)
	}
}

func TestScheduler(t *testing.T) {
	s := newScheduler(5)
	now := time.Now().UnixNano()
	for i, d := range []int64{30, 10, 20, 10, 0} {
		if !s.add(event{at: now + d*int64(time.Millisecond), kind: uint8(i)}) {
			t.Fatal("add refused")
		}
	}
	if s.add(event{}) {
		t.Error("add beyond max accepted")
	}
	done := make(chan struct{})
	var got []uint8
	fired := make(chan struct{})
	go func() {
		s.run(done, func(e event) {
			got = append(got, e.kind)
			if len(got) == 5 {
				close(fired)
			}
		})
	}()
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("events did not fire")
	}
	close(done)
	// Due time first, then insertion order for equal times.
	if want := []uint8{4, 1, 3, 2, 0}; !bytes.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestDrawDeterministic(t *testing.T) {
	sum := 0.0
	for k := uint64(1); k <= 10000; k++ {
		x := draw(9, drawStat, k)
		if x < 0 || x >= 1 || x != draw(9, drawStat, k) {
			t.Fatalf("draw %d = %v", k, x)
		}
		sum += x
	}
	if m := sum / 10000; m < 0.49 || m > 0.51 { // sd of the mean is 0.0029
		t.Errorf("mean %v", m)
	}
	if draw(9, drawStat, 1) == draw(10, drawStat, 1) || draw(9, drawStat, 1) == draw(9, drawError, 1) {
		t.Error("seed or kind does not change the draw")
	}
}
