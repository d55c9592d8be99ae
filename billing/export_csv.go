package billing

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// WriteBillingCSV writes the billing export as RFC 4180 CSV with a header
// row, reading src until io.EOF. Memory is constant: one row at a time
// through a buffered writer. progress (may be nil) is called with the
// running row count every so often and once at the end. It returns the
// number of data rows written; on error the output is incomplete and must
// be discarded by the caller.
//
// Values are written as they are: a text starting with '=' is not escaped
// against spreadsheet formula injection, because the CSV is a data
// interchange format and finance tools must read back exactly what was
// billed; the XLSX export stores text as text and is the one for humans.
func WriteBillingCSV(w io.Writer, src BillingSource, progress func(rows int64)) (int64, error) {
	return writeCSV(w, "billing csv", BillingHeader(), src.Next, func(row *BillingRow, rec []string) {
		rec[0] = row.MessageID
		rec[1] = strconv.Itoa(row.Part)
		rec[2] = row.Account
		rec[3] = row.Operator
		rec[4] = row.Destination
		rec[5] = row.CountryPrefix
		rec[6] = row.SubmittedAt.UTC().Format(tsLayout)
		rec[7] = row.Status
		rec[8] = row.Cost.String()
		rec[9] = row.Price.String()
		rec[10] = row.Currency
	}, progress)
}

// WriteMOCSV writes the MO export as CSV; see WriteBillingCSV.
// received_at uses the same RFC 3339 UTC millisecond form as submitted_at.
func WriteMOCSV(w io.Writer, src MOSource, progress func(rows int64)) (int64, error) {
	return writeCSV(w, "mo csv", MOHeader(), src.Next, func(row *MORow, rec []string) {
		rec[0] = row.ID
		rec[1] = row.ReceivedAt.UTC().Format(tsLayout)
		rec[2] = row.Operator
		rec[3] = row.From
		rec[4] = row.To
		rec[5] = row.Text
		rec[6] = row.Keyword
		rec[7] = strconv.Itoa(row.Parts)
	}, progress)
}

// writeCSV is the loop both CSV exports share: header, one row at a time
// through csv.Writer's buffer, progress every progressEvery rows.
func writeCSV[T any](w io.Writer, what string, header []string, next func(*T) error, fill func(*T, []string), progress func(rows int64)) (int64, error) {
	cw := csv.NewWriter(w) // csv.Writer wraps w in a bufio.Writer
	if err := cw.Write(header); err != nil {
		return 0, fmt.Errorf("%s: header: %w", what, err)
	}
	rec := make([]string, len(header))
	var row T
	var n int64
	for {
		err := next(&row)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, fmt.Errorf("%s: row %d: %w", what, n+1, err)
		}
		fill(&row, rec)
		if err := cw.Write(rec); err != nil {
			return n, fmt.Errorf("%s: row %d: %w", what, n+1, err)
		}
		n++
		if n%progressEvery == 0 {
			// Surface a broken writer (client gone) without waiting for the end.
			if err := cw.Error(); err != nil {
				return n, fmt.Errorf("%s: %w", what, err)
			}
			if progress != nil {
				progress(n)
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, fmt.Errorf("%s: %w", what, err)
	}
	if progress != nil {
		progress(n)
	}
	return n, nil
}
