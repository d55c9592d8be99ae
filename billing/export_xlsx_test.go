package billing

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

func openXLSX(t *testing.T, b []byte) *excelize.File {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

func numFmtOf(t *testing.T, f *excelize.File, sheet, cell string) string {
	t.Helper()
	id, err := f.GetCellStyle(sheet, cell)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.GetStyle(id)
	if err != nil {
		t.Fatal(err)
	}
	if st.CustomNumFmt == nil {
		return ""
	}
	return *st.CustomNumFmt
}

func rawValue(t *testing.T, f *excelize.File, sheet, cell string) string {
	t.Helper()
	v, err := f.GetCellValue(sheet, cell, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func cellType(t *testing.T, f *excelize.File, sheet, cell string) excelize.CellType {
	t.Helper()
	ct, err := f.GetCellType(sheet, cell)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// fromSerial converts an Excel 1900-system serial date (after March 1900)
// to UTC. excelize.ExcelDateToTime would round to whole seconds and so
// hide the milliseconds this export keeps.
func fromSerial(serial float64) time.Time {
	epoch := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	return epoch.Add(time.Duration(serial * float64(24*time.Hour)))
}

func checkFrozenHeader(t *testing.T, f *excelize.File, sheet string, header []string) {
	t.Helper()
	p, err := f.GetPanes(sheet)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Freeze || p.YSplit != 1 || p.XSplit != 0 || p.TopLeftCell != "A2" {
		t.Errorf("%s: panes %+v, want row 1 frozen", sheet, p)
	}
	for i, h := range header {
		cell, _ := excelize.CoordinatesToCellName(i+1, 1)
		if v := rawValue(t, f, sheet, cell); v != h {
			t.Errorf("%s!%s = %q, want %q", sheet, cell, v, h)
		}
	}
}

func TestWriteBillingXLSX(t *testing.T) {
	// 1,000 rows: the tricky ones first, then generated ones.
	rows := trickyBillingRows(t)
	base := ts("2026-11-01T00:00:00.007Z")
	for i := len(rows); i < 1000; i++ {
		if i%250 == 0 { // now and then a credit: no operator, part 0, the amount in price
			rows = append(rows, BillingRow{MessageID: CreditID(int64(i)), Account: "acme", SubmittedAt: base.Add(time.Duration(i) * 1001 * time.Millisecond),
				Status: CreditStatus, Price: Amount(1_000000 - 7*i), Currency: "EUR"})
			continue
		}
		rows = append(rows, BillingRow{MessageID: "m" + strconv.Itoa(i), Part: i%10 + 1, Account: "acme", Operator: "magti",
			Destination: "9955991" + strconv.Itoa(10000+i), CountryPrefix: "995", SubmittedAt: base.Add(time.Duration(i) * 1001 * time.Millisecond),
			Status: "submitted", Cost: Amount(12000 + i), Price: Amount(30000*i + 1), Currency: "EUR"})
	}
	var buf bytes.Buffer
	var last int64
	n, err := WriteBillingXLSX(&buf, &sliceBilling{rows: slices.Clone(rows)}, func(r int64) { last = r })
	if err != nil || n != 1000 || last != 1000 {
		t.Fatalf("n=%d last progress=%d err=%v", n, last, err)
	}
	f := openXLSX(t, buf.Bytes())
	if got := f.GetSheetList(); !slices.Equal(got, []string{"billing", "summary"}) {
		t.Fatalf("sheets %v", got)
	}
	checkFrozenHeader(t, f, "billing", xlsxHeader(BillingHeader()))
	checkPrintable(t, f, "billing", "$A$1:$K$1001")
	checkSummary(t, f, rows)
	all, err := f.GetRows("billing", excelize.Options{RawCellValue: true})
	if err != nil || len(all) != 1001 {
		t.Fatalf("%d rows, %v", len(all), err)
	}
	for i, r := range rows {
		x := i + 2
		cell := func(col string) string { return col + strconv.Itoa(x) }
		// Text columns are inline strings, unchanged.
		for col, want := range map[string]string{"A": r.MessageID, "C": r.Account, "D": r.Operator, "E": r.Destination, "F": r.CountryPrefix, "H": r.Status, "K": r.Currency} {
			if got := rawValue(t, f, "billing", cell(col)); got != want {
				t.Errorf("%s = %q, want %q", cell(col), got, want)
			}
			if ct := cellType(t, f, "billing", cell(col)); ct != excelize.CellTypeInlineString {
				t.Errorf("%s type %v, want inline string", cell(col), ct)
			}
		}
		// Numbers carry no t attribute (OOXML's default type "n"), which
		// excelize reports as CellTypeUnset.
		for _, col := range []string{"B", "G", "I", "J"} {
			if ct := cellType(t, f, "billing", cell(col)); ct != excelize.CellTypeUnset {
				t.Errorf("%s type %v, want number", cell(col), ct)
			}
		}
		if got := rawValue(t, f, "billing", cell("B")); got != strconv.Itoa(r.Part) {
			t.Errorf("%s part %q", cell("B"), got)
		}
		// The stored number text is the exact decimal, not a binary artefact.
		if got := rawValue(t, f, "billing", cell("I")); got != r.Cost.String() {
			t.Errorf("%s cost %q, want %s", cell("I"), got, r.Cost)
		}
		if got := rawValue(t, f, "billing", cell("J")); got != r.Price.String() {
			t.Errorf("%s price %q, want %s", cell("J"), got, r.Price)
		}
		serial, err := strconv.ParseFloat(rawValue(t, f, "billing", cell("G")), 64)
		if err != nil {
			t.Fatalf("%s: %v", cell("G"), err)
		}
		at := fromSerial(serial)
		if want := r.SubmittedAt.UTC().Truncate(time.Millisecond); at.Sub(want).Abs() >= time.Millisecond/2 {
			t.Errorf("%s = %s, want %s", cell("G"), at.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
		}
		if i > 5 {
			continue // styles are per column; a few rows suffice
		}
		if got := numFmtOf(t, f, "billing", cell("G")); got != xlsxTimeFormat {
			t.Errorf("%s format %q", cell("G"), got)
		}
		for _, col := range []string{"I", "J"} {
			if got := numFmtOf(t, f, "billing", cell(col)); got != xlsxAmountFormat {
				t.Errorf("%s format %q", cell(col), got)
			}
		}
	}
}

func TestWriteBillingXLSXEmpty(t *testing.T) {
	var buf bytes.Buffer
	n, err := WriteBillingXLSX(&buf, &sliceBilling{}, nil)
	if err != nil || n != 0 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	f := openXLSX(t, buf.Bytes())
	checkFrozenHeader(t, f, "billing", xlsxHeader(BillingHeader()))
	rows, err := f.GetRows("billing")
	if err != nil || len(rows) != 1 {
		t.Errorf("rows %q, %v", rows, err)
	}
}

func TestWriteBillingXLSXErrors(t *testing.T) {
	if _, err := WriteBillingXLSX(&bytes.Buffer{}, &sliceBilling{rows: trickyBillingRows(t), err: errBoom}, nil); !errors.Is(err, errBoom) {
		t.Errorf("source error: %v", err)
	}
	if _, err := WriteBillingXLSX(&failWriter{after: 100}, &sliceBilling{rows: trickyBillingRows(t)}, nil); !errors.Is(err, errBoom) {
		t.Errorf("writer error: %v", err)
	}
}

func TestWriteMOXLSX(t *testing.T) {
	rows := moRows(t)
	var buf bytes.Buffer
	n, err := WriteMOXLSX(&buf, &sliceMO{rows: slices.Clone(rows)}, nil)
	if err != nil || n != 2 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	f := openXLSX(t, buf.Bytes())
	if got := f.GetSheetList(); !slices.Equal(got, []string{"mo"}) {
		t.Fatalf("sheets %v", got)
	}
	checkFrozenHeader(t, f, "mo", xlsxHeader(MOHeader()))
	if h, _ := f.GetCellValue("mo", "B1"); h != "received_at (UTC)" {
		t.Errorf("mo!B1 = %q: the time column names its zone", h)
	}
	for i, r := range rows {
		x := strconv.Itoa(i + 2)
		for col, want := range map[string]string{"A": r.ID, "C": r.Operator, "D": r.From, "E": r.To, "F": r.Text, "G": r.Keyword, "H": strconv.Itoa(r.Parts)} {
			if got := rawValue(t, f, "mo", col+x); got != want {
				t.Errorf("%s%s = %q, want %q", col, x, got, want)
			}
		}
		if got := numFmtOf(t, f, "mo", "B"+x); got != xlsxTimeFormat {
			t.Errorf("B%s format %q", x, got)
		}
	}
	serial, err := strconv.ParseFloat(rawValue(t, f, "mo", "B3"), 64)
	if got, want := fromSerial(serial), ts("2026-11-23T06:02:00.5Z"); err != nil || got.Sub(want).Abs() >= time.Millisecond/2 {
		t.Errorf("B3 = %s (%v), want %s", got, err, want)
	}
}

// TestXLSXContinuationSheets checks the spill onto a new sheet at the row
// limit, with a small limit instead of Excel's 1,048,576.
func TestXLSXContinuationSheets(t *testing.T) {
	b, err := newXLSXBookRows("t", []string{"h"}, nil, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		if err := b.add([]any{i}); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := b.finish(&buf, nil); err != nil {
		t.Fatal(err)
	}
	f := openXLSX(t, buf.Bytes())
	want := map[string][][]string{"t": {{"h"}, {"1"}, {"2"}}, "t 2": {{"h"}, {"3"}, {"4"}}, "t 3": {{"h"}, {"5"}}}
	if got := f.GetSheetList(); !slices.Equal(got, []string{"t", "t 2", "t 3"}) {
		t.Fatalf("sheets %v", got)
	}
	for sheet, w := range want {
		checkFrozenHeader(t, f, sheet, []string{"h"})
		got, err := f.GetRows(sheet)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("%s rows %q, want %q (%v)", sheet, got, w, err)
		}
	}
}

// TestXLSXSpoolsAndCleansUp writes enough rows for excelize to spool the
// sheet to a temporary file (over its 16 MiB in-memory chunk), and checks
// the file is removed after success and after a failed source alike.
func TestXLSXSpoolsAndCleansUp(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	spooled := false
	for _, srcErr := range []error{nil, errBoom} {
		src := &failAfter{BillingSource: newSynthBilling(60000), err: srcErr, check: func() {
			if ents, _ := os.ReadDir(dir); len(ents) > 0 {
				spooled = true
			}
		}}
		_, err := WriteBillingXLSX(io.Discard, src, nil)
		if !errors.Is(err, srcErr) || (srcErr == nil) != (err == nil) {
			t.Fatalf("err = %v, want %v", err, srcErr)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("source error %v: temp files left: %v", srcErr, ents)
		}
	}
	if !spooled {
		t.Error("never spooled to a temp file: the test does not exercise cleanup")
	}
}

// failAfter wraps a source: at its end it calls check, then returns err
// (io.EOF when err is nil).
type failAfter struct {
	BillingSource
	err   error
	check func()
}

func (f *failAfter) Next(r *BillingRow) error {
	err := f.BillingSource.Next(r)
	if err == io.EOF {
		f.check()
		if f.err != nil {
			return f.err
		}
	}
	return err
}

// checkPrintable: an autofilter over header and data, landscape, one
// page wide, the header row repeated on every printed page.
func checkPrintable(t *testing.T, f *excelize.File, sheet, ref string) {
	t.Helper()
	filters := f.GetDefinedName()
	var filter, titles bool
	for _, d := range filters {
		if d.Scope == sheet && d.Name == "_xlnm._FilterDatabase" && d.RefersTo == "'"+sheet+"'!"+ref {
			filter = true
		}
		if d.Scope == sheet && d.Name == "_xlnm.Print_Titles" && d.RefersTo == "'"+sheet+"'!$1:$1" {
			titles = true
		}
	}
	if !filter || !titles {
		t.Errorf("%s: autofilter %v, print titles %v: %+v", sheet, filter, titles, filters)
	}
	pl, err := f.GetPageLayout(sheet)
	if err != nil || pl.Orientation == nil || *pl.Orientation != "landscape" || pl.FitToWidth == nil || *pl.FitToWidth != 1 {
		t.Errorf("%s: page layout %+v, %v", sheet, pl, err)
	}
	props, err := f.GetSheetProps(sheet)
	if err != nil || props.FitToPage == nil || !*props.FitToPage {
		t.Errorf("%s: fit to page not set: %+v, %v", sheet, props, err)
	}
}

// checkSummary: the summary sheet's totals equal the rows', exactly.
func checkSummary(t *testing.T, f *excelize.File, rows []BillingRow) {
	t.Helper()
	var want Summary
	for i := range rows {
		want.Add(&rows[i])
	}
	got, err := f.GetRows("summary", excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	exp := append(want.Rows(), want.Totals()...)
	if len(got) != len(exp)+1 || !slices.Equal(got[0], SummaryHeader()) {
		t.Fatalf("summary rows %q, want %d", got, len(exp)+1)
	}
	for i, r := range exp {
		g := got[i+1]
		if g[0] != r.Account || g[2] != r.Currency || g[3] != strconv.FormatInt(r.Parts, 10) || g[4] != r.Cost.String() || g[5] != r.Price.String() || g[6] != r.Margin().String() ||
			g[7] != r.Credits.String() || g[8] != r.BalanceChange().String() {
			t.Errorf("summary row %d = %q, want %+v (margin %s)", i+1, g, r, r.Margin())
		}
	}
}
