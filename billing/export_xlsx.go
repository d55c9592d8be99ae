package billing

import (
	"archive/zip"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"
)

// xlsxMaxRows is Excel's row limit per sheet. An export longer than that
// continues on a new sheet ("billing 2", ...) with its own header, rather
// than producing a file Excel refuses to open.
const xlsxMaxRows = excelize.TotalRows

// Number formats of typed cells.
const (
	xlsxTimeFormat   = "yyyy-mm-dd hh:mm:ss.000"
	xlsxAmountFormat = "0.000000"
)

// xlsxBook streams rows into one or more sheets of an excelize workbook.
// Rows go through excelize's StreamWriter, which keeps at most about 16 MiB
// of sheet XML in memory and spools the rest to a temporary file; the zip
// is written straight to the destination (see finish), so memory stays
// bounded whatever the number of rows.
type xlsxBook struct {
	f         *excelize.File
	base      string
	header    []any
	widths    []float64
	sw        *excelize.StreamWriter
	name      string // the current sheet
	sheets    int
	row       int // last row written on the current sheet
	maxRows   int // rows per sheet, header included; xlsxMaxRows but in tests
	timeStyle int
	amtStyle  int
}

func newXLSXBook(base string, header []string, widths []float64) (*xlsxBook, error) {
	return newXLSXBookRows(base, header, widths, xlsxMaxRows)
}

func newXLSXBookRows(base string, header []string, widths []float64, maxRows int) (*xlsxBook, error) {
	f := excelize.NewFile()
	b := &xlsxBook{f: f, base: base, widths: widths, maxRows: maxRows}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return nil, b.fail(err)
	}
	tf, af := xlsxTimeFormat, xlsxAmountFormat
	if b.timeStyle, err = f.NewStyle(&excelize.Style{CustomNumFmt: &tf}); err != nil {
		return nil, b.fail(err)
	}
	if b.amtStyle, err = f.NewStyle(&excelize.Style{CustomNumFmt: &af}); err != nil {
		return nil, b.fail(err)
	}
	for _, h := range header {
		b.header = append(b.header, excelize.Cell{StyleID: bold, Value: h})
	}
	if err := b.nextSheet(); err != nil {
		return nil, b.fail(err)
	}
	return b, nil
}

func (b *xlsxBook) fail(err error) error {
	_ = b.f.Close() // removes spooled temp files
	return err
}

// closeSheet gives the current sheet its autofilter over the header and
// data, repeats the header on every printed page, and flushes it. The
// stream writer emits what was set on the sheet before its Flush.
func (b *xlsxBook) closeSheet() error {
	last, err := excelize.CoordinatesToCellName(len(b.header), max(b.row, 1))
	if err != nil {
		return err
	}
	if err := b.f.AutoFilter(b.name, "A1:"+last, nil); err != nil {
		return err
	}
	if err := b.f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", RefersTo: "'" + b.name + "'!$1:$1", Scope: b.name}); err != nil {
		return err
	}
	return b.sw.Flush()
}

// printSetup: landscape, one page wide (as many pages long as needed).
func (b *xlsxBook) printSetup(sheet string) error {
	fit := true
	if err := b.f.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return err
	}
	o, w, h := "landscape", 1, 0
	return b.f.SetPageLayout(sheet, &excelize.PageLayoutOptions{Orientation: &o, FitToWidth: &w, FitToHeight: &h})
}

// nextSheet flushes the current sheet and starts the next one with the
// header in row 1, frozen.
func (b *xlsxBook) nextSheet() error {
	if b.sw != nil {
		if err := b.closeSheet(); err != nil {
			return err
		}
	}
	b.sheets++
	name := b.base
	if b.sheets == 1 {
		// A new workbook has one sheet, "Sheet1": rename it rather than
		// leave an empty sheet in front of the data.
		if err := b.f.SetSheetName(b.f.GetSheetName(0), name); err != nil {
			return err
		}
	} else {
		name = b.base + " " + strconv.Itoa(b.sheets)
		if _, err := b.f.NewSheet(name); err != nil {
			return err
		}
	}
	if err := b.printSetup(name); err != nil {
		return err
	}
	sw, err := b.f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	b.sw, b.row, b.name = sw, 0, name
	err = sw.SetPanes(&excelize.Panes{
		Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}},
	})
	if err != nil {
		return err
	}
	for i, wd := range b.widths {
		if err := sw.SetColWidth(i+1, i+1, wd); err != nil {
			return err
		}
	}
	return b.add(b.header)
}

func (b *xlsxBook) add(cells []any) error {
	if b.row == b.maxRows {
		if err := b.nextSheet(); err != nil {
			return err
		}
	}
	b.row++
	return b.sw.SetRow("A"+strconv.Itoa(b.row), cells)
}

// finish completes the workbook and writes it to w; extra (may be nil)
// adds sheets after the data.
func (b *xlsxBook) finish(w io.Writer, extra func(*xlsxBook) error) error {
	if err := b.closeSheet(); err != nil {
		return b.fail(err)
	}
	if extra != nil {
		if err := extra(b); err != nil {
			return b.fail(err)
		}
	}
	// File.Write would assemble the whole zip in a bytes.Buffer first. The
	// documented SetZipWriter hook lets the zip go straight to w instead;
	// the buffer excelize passes in then stays empty and is written as
	// zero bytes. (Its zip64 header patch only concerns parts over 4 GiB;
	// one sheet of at most 1,048,576 rows stays below that.)
	zw := zip.NewWriter(w)
	// Deflate at BestSpeed: at the default level compression took about
	// half of the export's CPU time (profile of BenchmarkWriteBillingXLSX).
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	b.f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zw })
	if err := b.f.Write(w); err != nil {
		return b.fail(err)
	}
	return b.f.Close()
}

// WriteBillingXLSX writes the billing export as an XLSX workbook: sheet
// "billing" (continued on "billing 2", ... past Excel's row limit), header
// in row 1 and frozen, typed cells: part a number, submitted_at a date-time
// shown as yyyy-mm-dd hh:mm:ss.000 (UTC, truncated to the millisecond like
// the CSV), cost and price numbers shown with
// 6 decimals, the rest text. Arguments, result and memory as for
// WriteBillingCSV.
//
// cost and price are stored as doubles because that is what a spreadsheet
// number is. float64(micros)/1e6 is the double nearest the exact decimal,
// and excelize writes the shortest text that reads back as that double,
// which for up to 15 significant digits (|amount| < 10^9) is exactly the
// decimal: the cell XML holds "0.012", not a binary approximation.
func WriteBillingXLSX(w io.Writer, src BillingSource, progress func(rows int64)) (int64, error) {
	widths := []float64{24, 6, 14, 12, 16, 8, 24, 14, 12, 12, 9}
	var sum Summary
	return writeXLSX(w, "billing", xlsxHeader(BillingHeader()), widths, src.Next, func(b *xlsxBook, row *BillingRow, cells []any) {
		sum.Add(row)
		cells[0] = row.MessageID
		cells[1] = row.Part
		cells[2] = row.Account
		cells[3] = row.Operator
		cells[4] = row.Destination
		cells[5] = row.CountryPrefix
		cells[6] = excelize.Cell{StyleID: b.timeStyle, Value: row.SubmittedAt.UTC().Truncate(time.Millisecond)}
		cells[7] = row.Status
		cells[8] = excelize.Cell{StyleID: b.amtStyle, Value: row.Cost.Float64()}
		cells[9] = excelize.Cell{StyleID: b.amtStyle, Value: row.Price.Float64()}
		cells[10] = row.Currency
	}, func(b *xlsxBook) error { return b.summarySheet(&sum) }, progress)
}

// xlsxHeader labels the time columns with their zone: the cells are UTC
// date-times, and a spreadsheet shows no zone of its own.
func xlsxHeader(h []string) []string {
	out := make([]string, len(h))
	for i, c := range h {
		out[i] = c
		if c == "submitted_at" || c == "received_at" {
			out[i] = c + " (UTC)"
		}
	}
	return out
}

// summarySheet adds sheet "summary": totals per account, operator and
// currency (credits on the account's row with an empty operator), then a
// grand total per currency, as typed numbers.
func (b *xlsxBook) summarySheet(sum *Summary) error {
	const name = "summary"
	if _, err := b.f.NewSheet(name); err != nil {
		return err
	}
	if err := b.printSetup(name); err != nil {
		return err
	}
	bold, err := b.f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	boldAmt := xlsxAmountFormat
	boldAmtStyle, err := b.f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, CustomNumFmt: &boldAmt})
	if err != nil {
		return err
	}
	row := 1
	set := func(cells []any) error {
		for i, v := range cells {
			cell, _ := excelize.CoordinatesToCellName(i+1, row)
			style := 0
			if c, ok := v.(excelize.Cell); ok {
				v, style = c.Value, c.StyleID
			}
			if err := b.f.SetCellValue(name, cell, v); err != nil {
				return err
			}
			if style != 0 {
				if err := b.f.SetCellStyle(name, cell, cell, style); err != nil {
					return err
				}
			}
		}
		row++
		return nil
	}
	header := []any{}
	for _, h := range SummaryHeader() {
		header = append(header, excelize.Cell{StyleID: bold, Value: h})
	}
	if err := set(header); err != nil {
		return err
	}
	for _, r := range sum.Rows() {
		if err := set([]any{r.Account, r.Operator, r.Currency, r.Parts, excelize.Cell{StyleID: b.amtStyle, Value: r.Cost.Float64()},
			excelize.Cell{StyleID: b.amtStyle, Value: r.Price.Float64()}, excelize.Cell{StyleID: b.amtStyle, Value: r.Margin().Float64()},
			excelize.Cell{StyleID: b.amtStyle, Value: r.Credits.Float64()}, excelize.Cell{StyleID: b.amtStyle, Value: r.BalanceChange().Float64()}}); err != nil {
			return err
		}
	}
	for _, r := range sum.Totals() {
		if err := set([]any{excelize.Cell{StyleID: bold, Value: "total"}, "", r.Currency, excelize.Cell{StyleID: bold, Value: r.Parts},
			excelize.Cell{StyleID: boldAmtStyle, Value: r.Cost.Float64()}, excelize.Cell{StyleID: boldAmtStyle, Value: r.Price.Float64()},
			excelize.Cell{StyleID: boldAmtStyle, Value: r.Margin().Float64()}, excelize.Cell{StyleID: boldAmtStyle, Value: r.Credits.Float64()},
			excelize.Cell{StyleID: boldAmtStyle, Value: r.BalanceChange().Float64()}}); err != nil {
			return err
		}
	}
	for i, wd := range []float64{14, 12, 9, 10, 14, 14, 14, 14, 14} {
		if err := b.f.SetColWidth(name, colName(i+1), colName(i+1), wd); err != nil {
			return err
		}
	}
	last, _ := excelize.CoordinatesToCellName(len(header), max(row-1, 1))
	if err := b.f.AutoFilter(name, "A1:"+last, nil); err != nil {
		return err
	}
	return b.f.SetPanes(name, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"})
}

func colName(i int) string {
	n, _ := excelize.ColumnNumberToName(i)
	return n
}

// WriteMOXLSX writes the MO export as an XLSX workbook, sheet "mo"; see
// WriteBillingXLSX. received_at is a date-time cell, parts a number.
func WriteMOXLSX(w io.Writer, src MOSource, progress func(rows int64)) (int64, error) {
	widths := []float64{24, 24, 12, 16, 12, 60, 10, 6}
	return writeXLSX(w, "mo", xlsxHeader(MOHeader()), widths, src.Next, func(b *xlsxBook, row *MORow, cells []any) {
		cells[0] = row.ID
		cells[1] = excelize.Cell{StyleID: b.timeStyle, Value: row.ReceivedAt.UTC().Truncate(time.Millisecond)}
		cells[2] = row.Operator
		cells[3] = row.From
		cells[4] = row.To
		cells[5] = row.Text
		cells[6] = row.Keyword
		cells[7] = row.Parts
	}, nil, progress)
}

// writeXLSX is the loop both XLSX exports share: one row at a time into the
// streaming book, progress every progressEvery rows.
func writeXLSX[T any](w io.Writer, sheet string, header []string, widths []float64, next func(*T) error,
	fill func(*xlsxBook, *T, []any), extra func(*xlsxBook) error, progress func(rows int64)) (int64, error) {
	b, err := newXLSXBook(sheet, header, widths)
	if err != nil {
		return 0, fmt.Errorf("%s xlsx: %w", sheet, err)
	}
	cells := make([]any, len(header))
	var row T
	var n int64
	for {
		err := next(&row)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, b.fail(fmt.Errorf("%s xlsx: row %d: %w", sheet, n+1, err))
		}
		fill(b, &row, cells)
		if err := b.add(cells); err != nil {
			return n, b.fail(fmt.Errorf("%s xlsx: row %d: %w", sheet, n+1, err))
		}
		n++
		if progress != nil && n%progressEvery == 0 {
			progress(n)
		}
	}
	if err := b.finish(w, extra); err != nil {
		return n, fmt.Errorf("%s xlsx: %w", sheet, err)
	}
	if progress != nil {
		progress(n)
	}
	return n, nil
}
