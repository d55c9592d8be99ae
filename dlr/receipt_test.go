package dlr

import (
	"errors"
	"testing"
	"time"
)

func utc(y int, mo time.Month, d, h, mi, s int) time.Time {
	return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
}

func TestParseReceiptText(t *testing.T) {
	sub := utc(2026, 11, 23, 10, 0, 0)
	done := utc(2026, 11, 23, 10, 1, 0)
	tests := []struct {
		name string
		in   string
		want Receipt
	}{
		{"canonical SMPP 3.4 appendix B",
			"id:1234567890 sub:001 dlvrd:001 submit date:2611231000 done date:2611231001 stat:DELIVRD err:000 text:Hello world",
			Receipt{ID: "1234567890", State: StateDelivered, Stat: "DELIVRD", Err: "000", Sub: "001", Dlvrd: "001", SubmitDate: sub, DoneDate: done, Text: "Hello world"}},
		{"hex id, capitalised Text key",
			"id:499602D2 sub:001 dlvrd:001 submit date:2611231000 done date:2611231001 stat:DELIVRD err:000 Text:Your code is 1234",
			Receipt{ID: "499602D2", State: StateDelivered, Stat: "DELIVRD", Err: "000", Sub: "001", Dlvrd: "001", SubmitDate: sub, DoneDate: done, Text: "Your code is 1234"}},
		{"upper-case keys",
			"ID:5F3A01 SUB:001 DLVRD:000 SUBMIT DATE:2611231000 DONE DATE:2611231001 STAT:UNDELIV ERR:001 TEXT:x",
			Receipt{ID: "5F3A01", State: StateUndeliverable, Stat: "UNDELIV", Err: "001", Sub: "001", Dlvrd: "000", SubmitDate: sub, DoneDate: done, Text: "x"}},
		{"underscored date keys and seconds",
			"id:42 sub:1 dlvrd:1 submit_date:261123100000 done_date:261123100100 stat:DELIVRD err:0",
			Receipt{ID: "42", State: StateDelivered, Stat: "DELIVRD", Err: "0", Sub: "1", Dlvrd: "1", SubmitDate: sub, DoneDate: done}},
		{"joined date keys",
			"id:42 submitdate:2611231000 donedate:2611231001 stat:EXPIRED err:000",
			Receipt{ID: "42", State: StateExpired, Stat: "EXPIRED", Err: "000", SubmitDate: sub, DoneDate: done}},
		{"full word state DELIVERED",
			"id:77 stat:DELIVERED err:000",
			Receipt{ID: "77", State: StateDelivered, Stat: "DELIVERED", Err: "000"}},
		{"lower-case state and keys",
			"id:77 stat:rejectd err:0b",
			Receipt{ID: "77", State: StateRejected, Stat: "rejectd", Err: "0b"}},
		{"field order shuffled",
			"stat:DELIVRD err:000 id:0012345 done date:2611231001 dlvrd:001 sub:001",
			Receipt{ID: "0012345", State: StateDelivered, Stat: "DELIVRD", Err: "000", Sub: "001", Dlvrd: "001", DoneDate: done}},
		{"missing dates and text",
			"id:99 sub:001 dlvrd:001 stat:DELIVRD err:000",
			Receipt{ID: "99", State: StateDelivered, Stat: "DELIVRD", Err: "000", Sub: "001", Dlvrd: "001"}},
		{"extra vendor fields",
			"id:99 sub:001 dlvrd:001 submit date:2611231000 done date:2611231001 stat:DELIVRD err:000 mcc:282 mnc:01 smsc:SMSC1 Text:hi",
			Receipt{ID: "99", State: StateDelivered, Stat: "DELIVRD", Err: "000", Sub: "001", Dlvrd: "001", SubmitDate: sub, DoneDate: done, Text: "hi"}},
		{"tabs and runs of spaces",
			"id:99\tsub:001   dlvrd:001\t\tsubmit  date:2611231000 done\tdate:2611231001   stat:DELIVRD err:000",
			Receipt{ID: "99", State: StateDelivered, Stat: "DELIVRD", Err: "000", Sub: "001", Dlvrd: "001", SubmitDate: sub, DoneDate: done}},
		{"spaces around colons",
			"id : 99 stat: DELIVRD err :000",
			Receipt{ID: "99", State: StateDelivered, Stat: "DELIVRD", Err: "000"}},
		{"trailing NULs",
			"id:99 stat:DELIVRD err:000 text:ok\x00\x00\x00",
			Receipt{ID: "99", State: StateDelivered, Stat: "DELIVRD", Err: "000", Text: "ok"}},
		{"text with colons and keys inside",
			"id:99 stat:DELIVRD err:000 text:id:1 stat:UNDELIV pay at 10:30",
			Receipt{ID: "99", State: StateDelivered, Stat: "DELIVRD", Err: "000", Text: "id:1 stat:UNDELIV pay at 10:30"}},
		{"0x id",
			"id:0x1A2B stat:ACCEPTD err:000",
			Receipt{ID: "0x1A2B", State: StateAccepted, Stat: "ACCEPTD", Err: "000"}},
		{"empty value followed by next key",
			"id:99 err: stat:ENROUTE",
			Receipt{ID: "99", State: StateEnroute, Stat: "ENROUTE"}},
		{"unknown stat kept raw",
			"id:99 stat:SENT err:000",
			Receipt{ID: "99", State: StateNone, Stat: "SENT", Err: "000"}},
		{"bad dates are zero",
			"id:99 submit date:2613231000 done date:2602301001 stat:DELETED",
			Receipt{ID: "99", State: StateDeleted, Stat: "DELETED"}},
		{"four-digit year dates",
			"id:99 submit date:20261123100000 done date:20261123100100 stat:DELIVRD",
			Receipt{ID: "99", State: StateDelivered, Stat: "DELIVRD", SubmitDate: sub, DoneDate: done}},
		{"stat only (id in TLV)",
			"stat:UNKNOWN err:000",
			Receipt{State: StateUnknown, Stat: "UNKNOWN", Err: "000"}},
		{"leading text and status key",
			"Receipt id:abc-1 status:undeliverable error:34",
			Receipt{ID: "abc-1", State: StateUndeliverable, Stat: "undeliverable", Err: "34"}},
		{"repeated key keeps first",
			"id:1 id:2 stat:DELIVRD stat:UNDELIV",
			Receipt{ID: "1", State: StateDelivered, Stat: "DELIVRD"}},
		{"err with colon and no space",
			"id:1 stat:UNDELIV err:3:0x0001",
			Receipt{ID: "1", State: StateUndeliverable, Stat: "UNDELIV", Err: "3:0x0001"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseReceiptText([]byte(tc.in))
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseReceiptTextNotReceipt(t *testing.T) {
	for _, in := range []string{"", "\x00\x00", "STOP", "hello: world", "sub:001 dlvrd:001 err:000", "Text:id:1 stat:DELIVRD"} {
		if _, err := ParseReceiptText([]byte(in)); !errors.Is(err, ErrNotReceipt) {
			t.Errorf("%q: err = %v, want ErrNotReceipt", in, err)
		}
	}
}

func TestParseReceiptDate(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2611231000", utc(2026, 11, 23, 10, 0, 0)},
		{"261123100059", utc(2026, 11, 23, 10, 0, 59)},
		{"20261123100059", utc(2026, 11, 23, 10, 0, 59)},
		{"2402291200", utc(2024, 2, 29, 12, 0, 0)},
		{"2502291200", time.Time{}}, // not a leap year
		{"2600011200", time.Time{}},
		{"2612002400", time.Time{}},
		{"2612012400", time.Time{}},
		{"2612012360", time.Time{}},
		{"261201235960", time.Time{}},
		{"26120123", time.Time{}},
		{"26-1201235", time.Time{}},
		{"", time.Time{}},
	}
	for _, tc := range tests {
		if got := parseReceiptDate(tc.in); !got.Equal(tc.want) {
			t.Errorf("%q = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestApplyTLVs(t *testing.T) {
	base, err := ParseReceiptText([]byte("id:1234567890 stat:ENROUTE err:000"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		id       string
		state    byte
		hasState bool
		netErr   []byte
		want     Receipt
	}{
		{"nothing", "", 0, false, nil, base},
		{"id wins, NUL trimmed", "499602D2\x00", 0, false, nil,
			Receipt{ID: "499602D2", State: StateEnroute, Stat: "ENROUTE", Err: "000"}},
		{"state wins", "", 2, true, nil,
			Receipt{ID: "1234567890", State: StateDelivered, Stat: "ENROUTE", Err: "000"}},
		{"invalid state ignored", "", 9, true, nil, base},
		{"zero state without flag ignored", "", 0, false, nil, base},
		{"network error GSM", "", 5, true, []byte{0x03, 0x00, 0x01},
			Receipt{ID: "1234567890", State: StateUndeliverable, Stat: "ENROUTE", Err: "3:0x0001", TextErr: "000", NetworkErr: NetworkError{Type: 3, Code: 1}}},
		{"network error big values", "", 8, true, []byte{0xFF, 0xAB, 0xCD},
			Receipt{ID: "1234567890", State: StateRejected, Stat: "ENROUTE", Err: "255:0xABCD", TextErr: "000", NetworkErr: NetworkError{Type: 255, Code: 0xABCD}}},
		{"network error wrong length ignored", "", 0, false, []byte{0x03, 0x01}, base},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := base
			ApplyTLVs(&r, tc.id, tc.state, tc.hasState, tc.netErr)
			if r != tc.want {
				t.Errorf("got  %+v\nwant %+v", r, tc.want)
			}
		})
	}
}

func FuzzParseReceiptText(f *testing.F) {
	for _, s := range []string{
		"id:1234567890 sub:001 dlvrd:001 submit date:2611231000 done date:2611231001 stat:DELIVRD err:000 text:Hello",
		"ID : 5F3A01 STAT: UNDELIV",
		"submit date:",
		"id:",
		"::::",
		"date:1 submit date:x done",
		"text:",
		"id:1\x00\x00\x00",
		"stat:9",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseReceiptText(b)
		if err != nil {
			if !errors.Is(err, ErrNotReceipt) || r != (Receipt{}) {
				t.Fatalf("err %v with receipt %+v", err, r)
			}
			return
		}
		// Fields are trimmed substrings: no separators at their ends.
		for _, v := range []string{r.ID, r.Stat, r.Err, r.Sub, r.Dlvrd, r.Text} {
			if v != trimSpaceNUL(v) {
				t.Fatalf("untrimmed field %q in %+v", v, r)
			}
		}
		if st, ok := ParseState(r.Stat); ok != (r.State != StateNone) || st != r.State {
			t.Fatalf("state %v inconsistent with stat %q", r.State, r.Stat)
		}
	})
}

var sinkReceipt Receipt

func BenchmarkParseReceiptText(b *testing.B) {
	in := []byte("id:1234567890 sub:001 dlvrd:001 submit date:2611231000 done date:2611231001 stat:DELIVRD err:000 text:Your code is 123456")
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		r, err := ParseReceiptText(in)
		if err != nil {
			b.Fatal(err)
		}
		sinkReceipt = r
	}
}
