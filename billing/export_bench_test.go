package billing

import (
	"io"
	"strconv"
	"testing"
	"time"
)

const benchRows = 100_000

// synthBilling yields n synthetic rows without allocating per row, so the
// benchmark measures the writer, not the source.
type synthBilling struct {
	n, i int
	ids  []string
	dest []string
	base time.Time
}

func newSynthBilling(n int) *synthBilling {
	s := &synthBilling{n: n, base: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	for i := 0; i < 1024; i++ {
		s.ids = append(s.ids, "msg-"+strconv.Itoa(1_000_000+i))
		s.dest = append(s.dest, "9955991"+strconv.Itoa(10000+i))
	}
	return s
}

func (s *synthBilling) Next(r *BillingRow) error {
	if s.i == s.n {
		return io.EOF
	}
	k := s.i & 1023
	*r = BillingRow{MessageID: s.ids[k], Part: s.i%3 + 1, Account: "acme", Operator: "magti", Destination: s.dest[k],
		CountryPrefix: "995", SubmittedAt: s.base.Add(time.Duration(s.i) * time.Millisecond), Status: "delivered",
		Cost: Amount(12000 + k), Price: Amount(30000 + k), Currency: "EUR"}
	s.i++
	return nil
}

func benchmarkExport(b *testing.B, write func(io.Writer, BillingSource, func(int64)) (int64, error)) {
	b.ReportAllocs()
	var rows int64
	for b.Loop() {
		n, err := write(io.Discard, newSynthBilling(benchRows), nil)
		if err != nil || n != benchRows {
			b.Fatalf("n=%d err=%v", n, err)
		}
		rows += n
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkWriteBillingCSV writes 100k rows per op.
func BenchmarkWriteBillingCSV(b *testing.B) { benchmarkExport(b, WriteBillingCSV) }

// BenchmarkWriteBillingXLSX writes 100k rows per op.
func BenchmarkWriteBillingXLSX(b *testing.B) { benchmarkExport(b, WriteBillingXLSX) }
