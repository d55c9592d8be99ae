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
// Text cells that a spreadsheet would run as a formula (see CSVText) are
// neutralised with a leading apostrophe; numbers and times are written as
// they are. The XLSX export stores text as typed strings and needs no such
// escaping.
func WriteBillingCSV(w io.Writer, src BillingSource, progress func(rows int64)) (int64, error) {
	return writeCSV(w, "billing csv", BillingHeader(), src.Next, func(row *BillingRow, rec []string) {
		rec[0] = CSVText(row.MessageID)
		rec[1] = strconv.Itoa(row.Part)
		rec[2] = CSVText(row.Account)
		rec[3] = CSVText(row.Operator)
		rec[4] = CSVText(row.Destination)
		rec[5] = CSVText(row.CountryPrefix)
		rec[6] = row.SubmittedAt.UTC().Format(tsLayout)
		rec[7] = CSVText(row.Status)
		rec[8] = row.Cost.String()
		rec[9] = row.Price.String()
		rec[10] = CSVText(row.Currency)
	}, progress)
}

// WriteMOCSV writes the MO export as CSV; see WriteBillingCSV.
// received_at uses the same RFC 3339 UTC millisecond form as submitted_at.
func WriteMOCSV(w io.Writer, src MOSource, progress func(rows int64)) (int64, error) {
	return writeCSV(w, "mo csv", MOHeader(), src.Next, func(row *MORow, rec []string) {
		rec[0] = CSVText(row.ID)
		rec[1] = row.ReceivedAt.UTC().Format(tsLayout)
		rec[2] = CSVText(row.Operator)
		rec[3] = CSVText(row.From)
		rec[4] = CSVText(row.To)
		rec[5] = CSVText(row.Text)
		rec[6] = CSVText(row.Keyword)
		rec[7] = strconv.Itoa(row.Parts)
	}, progress)
}

// CSVText neutralises a text cell for spreadsheets, as OWASP recommends
// against CSV injection: a cell that begins with '=', '+', '-', '@', a tab
// or a carriage return gets a leading apostrophe, so that Excel, LibreOffice
// and Google Sheets show it as text instead of evaluating it. Other cells
// are returned unchanged.
func CSVText(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
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
