package billing

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"
)

type sliceOurs struct{ rows []OurPart }

func (s *sliceOurs) Next(p *OurPart) error {
	if len(s.rows) == 0 {
		return io.EOF
	}
	*p, s.rows = s.rows[0], s.rows[1:]
	return nil
}

var testMapping = CDRMapping{SMSCID: "Message ID", Destination: "msisdn", Timestamp: "date", Parts: "parts", Amount: "charge", TimeLayout: "2006-01-02 15:04:05"}

func readAllCDR(t *testing.T, in string, m CDRMapping) ([]CDRRow, error) {
	t.Helper()
	r, err := NewCDRReader(strings.NewReader(in), m)
	if err != nil {
		return nil, err
	}
	var out []CDRRow
	for {
		var row CDRRow
		err := r.Next(&row)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, row)
	}
}

func TestCDRReader(t *testing.T) {
	// BOM, header in another case with blanks, extra columns, columns in
	// any order.
	in := "\uFEFFdate, MESSAGE ID ,extra,msisdn,charge,parts\n" +
		"2026-11-23 10:00:01,00005F3A01,x,995599123456,0.012,1\n" +
		"2026-11-23 10:00:02,5f3a02,,995599123457,0.0120,2\n"
	rows, err := readAllCDR(t, in, testMapping)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows", len(rows))
	}
	r := rows[1]
	if r.Line != 3 || r.SMSCID != "5f3a02" || r.Destination != "995599123457" || r.Parts != 2 || r.Amount != 12000 ||
		!r.Timestamp.Equal(ts("2026-11-23T10:00:02Z")) {
		t.Errorf("row %+v", r)
	}
	if rows[0].Line != 2 || rows[0].SMSCID != "00005F3A01" {
		t.Errorf("row %+v", rows[0])
	}

	// Semicolons and decimal commas; only the id mapped.
	semi := "id;cost\n7;0,5\n"
	rows, err = readAllCDR(t, semi, CDRMapping{SMSCID: "id", Amount: "cost", Comma: ';'})
	if err != nil || len(rows) != 1 || rows[0].Amount != 500000 || rows[0].Parts != 1 {
		t.Errorf("semicolon CDR: %+v, %v", rows, err)
	}
}

func TestCDRReaderErrors(t *testing.T) {
	tests := []struct {
		name, in string
		m        CDRMapping
		line     string // expected in the message
	}{
		{"no id mapping", "a\n1\n", CDRMapping{}, ""},
		{"missing column", "Message ID,msisdn\n1,2\n", testMapping, ""},
		{"empty file", "", testMapping, ""},
		{"bad amount", "message id,charge\n1,0.01\n2,1e3\n", CDRMapping{SMSCID: "message id", Amount: "charge"}, "line 3"},
		{"too precise amount", "message id,charge\n1,0.0000001\n", CDRMapping{SMSCID: "message id", Amount: "charge"}, "line 2"},
		{"bad time", "id,t\n1,yesterday\n", CDRMapping{SMSCID: "id", Timestamp: "t"}, "line 2"},
		{"bad parts", "id,p\n1,-2\n", CDRMapping{SMSCID: "id", Parts: "p"}, "line 2"},
		{"short row", "id,x,amount\n1,2,3\n4\n", CDRMapping{SMSCID: "id", Amount: "amount"}, "line 3"},
		{"bad quoting", "id\n\"1\n", CDRMapping{SMSCID: "id"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readAllCDR(t, tc.in, tc.m)
			if !errors.Is(err, ErrCDR) {
				t.Fatalf("err = %v, want ErrCDR", err)
			}
			if !strings.Contains(err.Error(), tc.line) {
				t.Errorf("err %q does not name %q", err, tc.line)
			}
		})
	}
}

func TestNormalizeSMSCID(t *testing.T) {
	for in, want := range map[string]string{"00AB12": "ab12", " ab12 ": "ab12", "000": "0", "0": "0", "": "", "10": "10", "0x1": "x1"} {
		if got := NormalizeSMSCID(in); got != want {
			t.Errorf("NormalizeSMSCID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReconcile(t *testing.T) {
	ours := []OurPart{
		{SMSCID: "5F3A01", MessageID: "a1", Part: 1, Destination: "995599123456", Cost: 12000}, // matched (case, zeros)
		{SMSCID: "5F3A02", MessageID: "a1", Part: 2, Destination: "995599123456", Cost: 12000}, // amount mismatch
		{SMSCID: "77", MessageID: "b1", Part: 1, Destination: "995555000000", Cost: 15000},     // ours only
		{SMSCID: "0077", MessageID: "b2", Part: 1, Destination: "995555000001", Cost: 15000},   // same normalised id again
		{SMSCID: "99", MessageID: "c1", Part: 1, Destination: "995555000002", Cost: 18000},     // matched, then billed twice by them
	}
	cdr := "id,dest,amount\n" +
		"0005f3a01,995599123456,0.012\n" +
		"5f3a02,995599123456,0.018\n" +
		"abc,995599000000,0.5\n" +
		"99,995555000002,0.018\n" +
		"099,995555000002,0.018\n"
	src, err := NewCDRReader(strings.NewReader(cdr), CDRMapping{SMSCID: "id", Destination: "dest", Amount: "amount"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Reconcile(&sliceOurs{rows: ours}, src, true)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Matched != 2 || rep.AmountMismatch != 1 || rep.OursOnly != 1 || rep.TheirsOnly != 1 || rep.Duplicates != 2 {
		t.Errorf("counts %+v", rep)
	}
	if rep.TotalsOurs.String() != "0.072" || rep.TotalsTheirs.String() != "0.566" {
		t.Errorf("totals ours %s theirs %s", rep.TotalsOurs, rep.TotalsTheirs)
	}
	want := []ReconRow{
		{Kind: ReconDuplicateOurs, SMSCID: "0077", MessageID: "b2", Part: 1, Destination: "995555000001", Ours: 15000},
		{Kind: ReconAmountMismatch, SMSCID: "5f3a02", MessageID: "a1", Part: 2, Destination: "995599123456", Ours: 12000, Theirs: 18000, Line: 3},
		{Kind: ReconTheirsOnly, SMSCID: "abc", Destination: "995599000000", Theirs: 500000, Line: 4},
		{Kind: ReconDuplicateTheirs, SMSCID: "099", MessageID: "c1", Part: 1, Destination: "995555000002", Ours: 18000, Theirs: 18000, Line: 6},
		{Kind: ReconOursOnly, SMSCID: "77", MessageID: "b1", Part: 1, Destination: "995555000000", Ours: 15000},
	}
	if len(rep.Rows) != len(want) {
		t.Fatalf("rows %+v", rep.Rows)
	}
	for i := range want {
		if rep.Rows[i] != want[i] {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, rep.Rows[i], want[i])
		}
	}

	// Without amount comparison the mismatch counts as matched.
	src, _ = NewCDRReader(strings.NewReader(cdr), CDRMapping{SMSCID: "id", Amount: "amount"})
	rep2, err := Reconcile(&sliceOurs{rows: ours}, src, false)
	if err != nil || rep2.Matched != 3 || rep2.AmountMismatch != 0 {
		t.Errorf("no amount comparison: %+v, %v", rep2, err)
	}

	// Table and CSV output.
	var tbl bytes.Buffer
	if err := rep.WriteTable(&tbl); err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(tbl.String(), "\n") {
		lines[strings.Join(strings.Fields(l), " ")] = true
	}
	for _, s := range []string{"matched 2", "theirs only 1", "difference 0.494", "amount_mismatch 5f3a02 a1 2 995599123456 0.012 0.018 3"} {
		if !lines[s] {
			t.Errorf("table lacks line %q:\n%s", s, tbl.String())
		}
	}
	var c bytes.Buffer
	if err := rep.WriteCSV(&c); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&c).ReadAll()
	if err != nil || len(recs) != 6 {
		t.Fatalf("csv %q, %v", recs, err)
	}
	if strings.Join(recs[2], ",") != "amount_mismatch,5f3a02,a1,2,995599123456,0.012,0.018,3" {
		t.Errorf("csv row %q", recs[2])
	}
}

func TestReconcileSourceErrors(t *testing.T) {
	src, _ := NewCDRReader(strings.NewReader("id,amount\n1,x\n"), CDRMapping{SMSCID: "id", Amount: "amount"})
	if _, err := Reconcile(&sliceOurs{}, src, true); !errors.Is(err, ErrCDR) {
		t.Errorf("bad CDR: %v", err)
	}
	src, _ = NewCDRReader(strings.NewReader("id,amount\n1,9000000000000\n2,9000000000000\n"), CDRMapping{SMSCID: "id", Amount: "amount"})
	if _, err := Reconcile(&sliceOurs{}, src, true); !errors.Is(err, ErrOverflow) {
		t.Errorf("overflowing total: %v", err)
	}
}

// FuzzCDRReader: any input either fails with ErrCDR or yields rows with
// line numbers past the header; it never panics.
func FuzzCDRReader(f *testing.F) {
	for _, s := range []string{
		"id,amount,date,parts,dest\n1,0.012,2026-11-23T10:00:00Z,1,995\n",
		"\uFEFFid,amount\n\"0\"\"1\",1\n",
		"id\n\n\n2\n",
		"amount,id\n,\n",
		"id,amount\n1\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := NewCDRReader(strings.NewReader(in), CDRMapping{SMSCID: "id", Amount: "amount", Timestamp: "date", Parts: "parts", Destination: "dest"})
		if err != nil {
			if !errors.Is(err, ErrCDR) {
				t.Fatalf("header error without ErrCDR: %v", err)
			}
			return
		}
		for i := 0; i < 10000; i++ {
			var row CDRRow
			err := r.Next(&row)
			if err == io.EOF {
				return
			}
			if err != nil {
				if !errors.Is(err, ErrCDR) {
					t.Fatalf("row error without ErrCDR: %v", err)
				}
				return
			}
			if row.Line < 2 || row.Parts < 0 {
				t.Fatalf("row %+v", row)
			}
		}
	})
}
