package billing

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// sliceBilling is a BillingSource over a slice; err, when set, is returned
// instead of io.EOF at the end.
type sliceBilling struct {
	rows []BillingRow
	err  error
}

func (s *sliceBilling) Next(r *BillingRow) error {
	if len(s.rows) == 0 {
		if s.err != nil {
			return s.err
		}
		return io.EOF
	}
	*r, s.rows = s.rows[0], s.rows[1:]
	return nil
}

type sliceMO struct{ rows []MORow }

func (s *sliceMO) Next(r *MORow) error {
	if len(s.rows) == 0 {
		return io.EOF
	}
	*r, s.rows = s.rows[0], s.rows[1:]
	return nil
}

// trickyBillingRows exercise quoting and encoding: separators, quotes,
// newlines, a lone CR, Georgian, emoji with modifiers, formula-like text,
// leading zeros and blanks.
func trickyBillingRows(t testing.TB) []BillingRow {
	tbilisi := mustLoc(t, "Asia/Tbilisi")
	return []BillingRow{
		{MessageID: "a1", Part: 1, Account: "acme", Operator: "magti", Destination: "995599123456", CountryPrefix: "995",
			SubmittedAt: time.Date(2026, 11, 23, 14, 0, 1, 120_999_999, tbilisi), // 10:00:01.120999999Z: truncated, not rounded
			Status:      "delivered", Cost: mustAmount(t, "0.012"), Price: mustAmount(t, "0.03"), Currency: "EUR"},
		{MessageID: `id,with "quotes", commas`, Part: 2, Account: "ac\nme", Operator: "ოპერატორი", Destination: "+0995",
			CountryPrefix: "995", SubmittedAt: ts("2026-11-23T10:00:01Z"), Status: "unknown",
			Cost: mustAmount(t, "0.000001"), Price: mustAmount(t, "123456.789012"), Currency: "GEL"},
		{MessageID: "=HYPERLINK(\"x\")", Part: 10, Account: " lead and trail ", Operator: "emoji👍🏽\r", Destination: "a\rb",
			CountryPrefix: "1", SubmittedAt: ts("1999-12-31T23:59:59.999Z"), Status: "expired", Cost: 0, Price: -mustAmount(t, "0.5"), Currency: "USD"},
	}
}

func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(b))
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("reading back: %v\n%s", err, b)
	}
	return recs
}

func TestWriteBillingCSVRoundTrip(t *testing.T) {
	rows := trickyBillingRows(t)
	var buf bytes.Buffer
	var calls []int64
	n, err := WriteBillingCSV(&buf, &sliceBilling{rows: rows}, func(r int64) { calls = append(calls, r) })
	if err != nil || n != int64(len(rows)) {
		t.Fatalf("n=%d err=%v", n, err)
	}
	if !slices.Equal(calls, []int64{3}) {
		t.Errorf("progress calls %v, want the final count once", calls)
	}
	want := [][]string{
		BillingHeader(),
		{"a1", "1", "acme", "magti", "995599123456", "995", "2026-11-23T10:00:01.120Z", "delivered", "0.012", "0.03", "EUR"},
		{`id,with "quotes", commas`, "2", "ac\nme", "ოპერატორი", "'+0995", "995", "2026-11-23T10:00:01.000Z", "unknown", "0.000001", "123456.789012", "GEL"},
		{"'=HYPERLINK(\"x\")", "10", " lead and trail ", "emoji👍🏽\r", "a\rb", "1", "1999-12-31T23:59:59.999Z", "expired", "0", "-0.5", "USD"},
	}
	got := readCSV(t, buf.Bytes())
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d:\n%s", len(got), len(want), buf.Bytes())
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("record %d:\n got %q\nwant %q", i, got[i], want[i])
		}
	}
	if !strings.HasPrefix(buf.String(), "message_id,part,account,operator,destination,country_prefix,submitted_at,status,cost,price,currency\n") {
		t.Errorf("header line: %q", strings.SplitN(buf.String(), "\n", 2)[0])
	}
}

func TestWriteBillingCSVEmpty(t *testing.T) {
	var buf bytes.Buffer
	n, err := WriteBillingCSV(&buf, &sliceBilling{}, nil)
	if err != nil || n != 0 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	if got := readCSV(t, buf.Bytes()); len(got) != 1 || !slices.Equal(got[0], BillingHeader()) {
		t.Errorf("empty export = %q", got)
	}
}

var errBoom = errors.New("boom")

type failWriter struct{ after int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.after < len(p) {
		return 0, errBoom
	}
	f.after -= len(p)
	return len(p), nil
}

func TestWriteCSVErrors(t *testing.T) {
	rows := trickyBillingRows(t)
	if _, err := WriteBillingCSV(io.Discard, &sliceBilling{rows: rows, err: errBoom}, nil); !errors.Is(err, errBoom) {
		t.Errorf("source error: %v", err)
	}
	// A writer that breaks is reported, both at the end and mid-stream.
	if _, err := WriteBillingCSV(&failWriter{}, &sliceBilling{rows: rows}, nil); !errors.Is(err, errBoom) {
		t.Errorf("writer error: %v", err)
	}
	many := make([]BillingRow, 20000)
	n, err := WriteBillingCSV(&failWriter{after: 100000}, &sliceBilling{rows: many}, nil)
	if !errors.Is(err, errBoom) || n >= int64(len(many)) {
		t.Errorf("writer error mid-stream: n=%d err=%v", n, err)
	}
	if _, err := WriteMOCSV(&failWriter{}, &sliceMO{rows: []MORow{{ID: "x"}}}, nil); !errors.Is(err, errBoom) {
		t.Errorf("mo writer error: %v", err)
	}
}

func TestWriteCSVProgress(t *testing.T) {
	var calls []int64
	n, err := WriteBillingCSV(io.Discard, &sliceBilling{rows: make([]BillingRow, 2*progressEvery+5)}, func(r int64) { calls = append(calls, r) })
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{progressEvery, 2 * progressEvery, n}
	if !slices.Equal(calls, want) {
		t.Errorf("progress %v, want %v", calls, want)
	}
}

func moRows(t testing.TB) []MORow {
	return []MORow{
		{ID: "mo-7f2c", ReceivedAt: ts("2026-11-23T10:02:00Z"), Operator: "magti", From: "995599123456", To: "4422", Text: "STOP", Keyword: "STOP", Parts: 1},
		{ID: "mo-2", ReceivedAt: ts("2026-11-23T10:02:00.5+04:00"), Operator: "silknet", From: "995555000111", To: "0044",
			Text: "გამარჯობა, \"world\"\nline two 👨‍👩‍👧 ", Keyword: "", Parts: 3},
	}
}

func TestWriteMOCSV(t *testing.T) {
	var buf bytes.Buffer
	n, err := WriteMOCSV(&buf, &sliceMO{rows: moRows(t)}, nil)
	if err != nil || n != 2 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	want := [][]string{
		MOHeader(),
		{"mo-7f2c", "2026-11-23T10:02:00.000Z", "magti", "995599123456", "4422", "STOP", "STOP", "1"},
		{"mo-2", "2026-11-23T06:02:00.500Z", "silknet", "995555000111", "0044", "გამარჯობა, \"world\"\nline two 👨‍👩‍👧 ", "", "3"},
	}
	got := readCSV(t, buf.Bytes())
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("record %d:\n got %q\nwant %q", i, got[i], want[i])
		}
	}
	buf.Reset()
	if _, err := WriteMOCSV(&buf, &sliceMO{}, nil); err != nil || strings.TrimSpace(buf.String()) != strings.Join(MOHeader(), ",") {
		t.Errorf("empty MO export %q, %v", buf.String(), err)
	}
}

// FuzzBillingCSVRoundTrip checks that any text survives the CSV writer and
// encoding/csv's reader: unchanged, or with one leading apostrophe when it
// would start a formula. The reader turns a CRLF inside a quoted field into
// LF (documented encoding/csv behaviour), the other expected change.
func FuzzBillingCSVRoundTrip(f *testing.F) {
	for _, s := range []string{"plain", `a,"b"`, "x\ny", "x\r\ny", "\r", "ოპერატორი👍🏽", " ", "", "\"", "a\rb\r"} {
		f.Add(s, s+"2", int64(12000))
	}
	f.Fuzz(func(t *testing.T, s1, s2 string, micros int64) {
		row := BillingRow{MessageID: s1, Part: 1, Account: s2, Operator: s1 + s2, Destination: s2, SubmittedAt: time.Unix(0, 0), Cost: Amount(micros), Price: Amount(micros)}
		var buf bytes.Buffer
		if _, err := WriteBillingCSV(&buf, &sliceBilling{rows: []BillingRow{row}}, nil); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatalf("read back: %v", err)
		}
		if len(recs) != 2 {
			t.Fatalf("%d records", len(recs))
		}
		norm := func(s string) string { return strings.ReplaceAll(CSVText(s), "\r\n", "\n") }
		for _, i := range []int{0, 2, 3, 4} { // the text cells
			if c := recs[1][i]; c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				t.Errorf("cell %d %q would run as a formula", i, c)
			}
		}
		r := recs[1]
		if r[0] != norm(s1) || r[2] != norm(s2) || r[3] != norm(s1+s2) || r[4] != norm(s2) {
			t.Errorf("text changed: %q", r)
		}
		if a, err := ParseAmount(r[8]); err != nil || a != row.Cost {
			t.Errorf("cost %q, want %d micros (%v)", r[8], micros, err)
		}
	})
}

// The summary CSV adds up the rows exactly, per account, operator and
// currency, then per currency; credits count apart from parts, on the
// account's row without an operator, and the balance change is credits
// minus prices.
func TestWriteBillingSummaryCSV(t *testing.T) {
	rows := []BillingRow{
		{MessageID: "a", Part: 1, Account: "acme", Operator: "magti", Currency: "EUR", Cost: 12000, Price: 30000},
		{MessageID: "a", Part: 2, Account: "acme", Operator: "magti", Currency: "EUR", Cost: 12000, Price: 30000},
		{MessageID: "b", Part: 1, Account: "beta", Operator: "magti", Currency: "EUR", Cost: 12000, Price: 50000},
		{MessageID: "c", Part: 1, Account: "=beta", Operator: "silknet", Currency: "GEL", Cost: 1, Price: 3},
		// Credits: a top-up and an adjustment of acme, a top-up of beta.
		{MessageID: CreditID(1), Part: 0, Account: "acme", Status: CreditStatus, Currency: "EUR", Price: 10_000000},
		{MessageID: CreditID(2), Part: 0, Account: "acme", Status: CreditStatus, Currency: "EUR", Price: -250000},
		{MessageID: CreditID(3), Part: 0, Account: "beta", Status: CreditStatus, Currency: "EUR", Price: 1_000000},
	}
	var buf bytes.Buffer
	n, err := WriteBillingSummaryCSV(&buf, &sliceBilling{rows: rows})
	if err != nil || n != 7 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	want := [][]string{
		SummaryHeader(),
		{"'=beta", "silknet", "GEL", "1", "0.000001", "0.000003", "0.000002", "0", "-0.000003"},
		{"acme", "", "EUR", "0", "0", "0", "0", "9.75", "9.75"},
		{"acme", "magti", "EUR", "2", "0.024", "0.06", "0.036", "0", "-0.06"},
		{"beta", "", "EUR", "0", "0", "0", "0", "1", "1"},
		{"beta", "magti", "EUR", "1", "0.012", "0.05", "0.038", "0", "-0.05"},
		{"total", "", "EUR", "3", "0.036", "0.11", "0.074", "10.75", "10.64"},
		{"total", "", "GEL", "1", "0.000001", "0.000003", "0.000002", "0", "-0.000003"},
	}
	got := readCSV(t, buf.Bytes())
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("row %d: got %q, want %q", i, got[i], want[i])
		}
	}
}
