package billing

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// CDRMapping names the columns of an operator's CDR file (matched against
// its header row, case and surrounding blanks ignored). SMSCID is required;
// an empty name means the file has no such column.
type CDRMapping struct {
	SMSCID      string
	Destination string
	Timestamp   string
	Parts       string
	Amount      string
	// TimeLayout parses Timestamp (Go layout); default time.RFC3339. A
	// layout without a zone reads UTC.
	TimeLayout string
	// Comma is the field separator; default ','. With any other separator
	// a decimal comma in Amount ("0,012") is accepted too.
	Comma rune
}

// CDRRow is one line of an operator CDR.
type CDRRow struct {
	Line        int // 1-based line of the record in the file (header is line 1)
	SMSCID      string
	Destination string
	Timestamp   time.Time // zero without a Timestamp column
	Parts       int       // 1 without a Parts column
	Amount      Amount    // 0 without an Amount column
}

// ErrCDR is wrapped by every CDR format error.
var ErrCDR = errors.New("bad CDR")

// CDRReader reads an operator CDR file one row at a time.
type CDRReader struct {
	r      *csv.Reader
	m      CDRMapping
	layout string
	idx    struct{ id, dest, ts, parts, amount int }
	need   int // fields a record must have
}

// NewCDRReader reads the header row of r and resolves the mapping; it
// fails with ErrCDR when a mapped column is missing.
func NewCDRReader(r io.Reader, m CDRMapping) (*CDRReader, error) {
	if m.SMSCID == "" {
		return nil, fmt.Errorf("cdr mapping: no SMSC id column: %w", ErrCDR)
	}
	cr := csv.NewReader(r)
	if m.Comma != 0 {
		cr.Comma = m.Comma
	}
	cr.FieldsPerRecord = -1 // operators pad or trim rows; we check what we need
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("cdr header: %w: %w", ErrCDR, err)
	}
	pos := make(map[string]int, len(header))
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\uFEFF") // spreadsheet-exported UTF-8 BOM
		}
		pos[strings.ToLower(strings.TrimSpace(h))] = i
	}
	c := &CDRReader{r: cr, m: m, layout: m.TimeLayout}
	if c.layout == "" {
		c.layout = time.RFC3339
	}
	find := func(name string) (int, error) {
		if name == "" {
			return -1, nil
		}
		i, ok := pos[strings.ToLower(strings.TrimSpace(name))]
		if !ok {
			return -1, fmt.Errorf("cdr header: no column %q: %w", name, ErrCDR)
		}
		c.need = max(c.need, i+1)
		return i, nil
	}
	for _, f := range []struct {
		dst  *int
		name string
	}{{&c.idx.id, m.SMSCID}, {&c.idx.dest, m.Destination}, {&c.idx.ts, m.Timestamp}, {&c.idx.parts, m.Parts}, {&c.idx.amount, m.Amount}} {
		if *f.dst, err = find(f.name); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Next fills *row with the next record; io.EOF after the last one. A
// malformed record fails with an error wrapping ErrCDR that names its line.
func (c *CDRReader) Next(row *CDRRow) error {
	rec, err := c.r.Read()
	if err == io.EOF {
		return io.EOF
	}
	if err != nil { // a *csv.ParseError names its line
		return fmt.Errorf("cdr: %w: %w", ErrCDR, err)
	}
	line, _ := c.r.FieldPos(0)
	if len(rec) < c.need {
		return fmt.Errorf("cdr line %d: %d fields, want at least %d: %w", line, len(rec), c.need, ErrCDR)
	}
	*row = CDRRow{Line: line, SMSCID: strings.TrimSpace(rec[c.idx.id]), Parts: 1}
	if c.idx.dest >= 0 {
		row.Destination = strings.TrimSpace(rec[c.idx.dest])
	}
	if c.idx.ts >= 0 {
		if row.Timestamp, err = time.Parse(c.layout, strings.TrimSpace(rec[c.idx.ts])); err != nil {
			return fmt.Errorf("cdr line %d: %s: %w: %w", line, c.m.Timestamp, ErrCDR, err)
		}
	}
	if c.idx.parts >= 0 {
		if row.Parts, err = strconv.Atoi(strings.TrimSpace(rec[c.idx.parts])); err != nil || row.Parts < 0 {
			return fmt.Errorf("cdr line %d: %s %q: %w", line, c.m.Parts, rec[c.idx.parts], ErrCDR)
		}
	}
	if c.idx.amount >= 0 {
		s := rec[c.idx.amount]
		if c.r.Comma != ',' {
			s = strings.Replace(s, ",", ".", 1)
		}
		if row.Amount, err = ParseAmount(s); err != nil {
			return fmt.Errorf("cdr line %d: %s: %w: %w", line, c.m.Amount, ErrCDR, err)
		}
	}
	return nil
}

// NormalizeSMSCID is the matching key of an SMSC message id: surrounding
// blanks, letter case and leading zeros do not count ("00AB12" = "ab12").
func NormalizeSMSCID(id string) string {
	id = strings.ToLower(strings.TrimSpace(id))
	t := strings.TrimLeft(id, "0")
	if t == "" && id != "" {
		return "0"
	}
	return t
}

// OurPart is one part from our ledger, as reconciliation sees it.
type OurPart struct {
	SMSCID      string
	MessageID   string
	Part        int
	Destination string
	Cost        Amount // the operator's cost for this part
}

// OurSource yields our parts (io.EOF at the end), e.g. from a cursor over
// the ledger for one operator and period.
type OurSource interface {
	Next(*OurPart) error
}

// CDRSource yields CDR rows (io.EOF at the end); *CDRReader is one.
type CDRSource interface {
	Next(*CDRRow) error
}

// Kinds of reconciliation finding.
const (
	ReconOursOnly        = "ours_only"        // we billed a part the operator did not
	ReconTheirsOnly      = "theirs_only"      // the operator billed a part we do not know
	ReconAmountMismatch  = "amount_mismatch"  // both billed it, at different amounts
	ReconDuplicateTheirs = "duplicate_theirs" // the operator billed the same id again
	ReconDuplicateOurs   = "duplicate_ours"   // our source listed the same id again
)

// ReconRow is one finding; matched parts are counted, not listed.
type ReconRow struct {
	Kind        string
	SMSCID      string // as written by whichever side has it
	MessageID   string // ours; empty for theirs_only
	Part        int    // ours; 0 for theirs_only
	Destination string
	Ours        Amount
	Theirs      Amount
	Line        int // CDR line; 0 for ours_only
}

// Report is the result of Reconcile. Each of our parts is counted once as
// Matched (same id, same amount), AmountMismatch or OursOnly; each CDR row
// as Matched, AmountMismatch, TheirsOnly or Duplicates.
type Report struct {
	Matched, OursOnly, TheirsOnly, AmountMismatch, Duplicates int
	TotalsOurs, TotalsTheirs                                  Amount // sums over every row of each side
	Rows                                                      []ReconRow
}

// Reconcile matches our parts with an operator's CDR rows by normalised
// SMSC id (NormalizeSMSCID). Amounts are compared when compareAmounts is
// set (the CDR has an amount column). Both sides must be in the operator's
// single currency. Our parts are held in memory (one map entry per part);
// the CDR is streamed.
func Reconcile(ours OurSource, theirs CDRSource, compareAmounts bool) (Report, error) {
	var rep Report
	type entry struct {
		OurPart
		matched bool
	}
	var list []entry
	index := make(map[string]int)
	var p OurPart
	for {
		err := ours.Next(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Report{}, fmt.Errorf("reconcile: ours: %w", err)
		}
		if rep.TotalsOurs, err = addAmounts(rep.TotalsOurs, p.Cost); err != nil {
			return Report{}, fmt.Errorf("reconcile: ours: %w", err)
		}
		k := NormalizeSMSCID(p.SMSCID)
		if _, dup := index[k]; dup {
			rep.Duplicates++
			rep.Rows = append(rep.Rows, ReconRow{Kind: ReconDuplicateOurs, SMSCID: p.SMSCID, MessageID: p.MessageID, Part: p.Part, Destination: p.Destination, Ours: p.Cost})
			continue
		}
		index[k] = len(list)
		list = append(list, entry{OurPart: p})
	}
	var c CDRRow
	for {
		err := theirs.Next(&c)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Report{}, fmt.Errorf("reconcile: cdr: %w", err)
		}
		if rep.TotalsTheirs, err = addAmounts(rep.TotalsTheirs, c.Amount); err != nil {
			return Report{}, fmt.Errorf("reconcile: cdr line %d: %w", c.Line, err)
		}
		i, ok := index[NormalizeSMSCID(c.SMSCID)]
		switch {
		case !ok:
			rep.TheirsOnly++
			rep.Rows = append(rep.Rows, ReconRow{Kind: ReconTheirsOnly, SMSCID: c.SMSCID, Destination: c.Destination, Theirs: c.Amount, Line: c.Line})
		case list[i].matched:
			e := list[i]
			rep.Duplicates++
			rep.Rows = append(rep.Rows, ReconRow{Kind: ReconDuplicateTheirs, SMSCID: c.SMSCID, MessageID: e.MessageID, Part: e.Part, Destination: c.Destination, Ours: e.Cost, Theirs: c.Amount, Line: c.Line})
		default:
			e := &list[i]
			e.matched = true
			if compareAmounts && e.Cost != c.Amount {
				rep.AmountMismatch++
				rep.Rows = append(rep.Rows, ReconRow{Kind: ReconAmountMismatch, SMSCID: c.SMSCID, MessageID: e.MessageID, Part: e.Part, Destination: e.Destination, Ours: e.Cost, Theirs: c.Amount, Line: c.Line})
			} else {
				rep.Matched++
			}
		}
	}
	for _, e := range list {
		if !e.matched {
			rep.OursOnly++
			rep.Rows = append(rep.Rows, ReconRow{Kind: ReconOursOnly, SMSCID: e.SMSCID, MessageID: e.MessageID, Part: e.Part, Destination: e.Destination, Ours: e.Cost})
		}
	}
	return rep, nil
}

// WriteTable writes a human-readable summary followed by the findings as
// an aligned table.
func (r Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "matched\t%d\nours only\t%d\ntheirs only\t%d\namount mismatch\t%d\nduplicates\t%d\ntotal ours\t%s\ntotal theirs\t%s\ndifference\t%s\n",
		r.Matched, r.OursOnly, r.TheirsOnly, r.AmountMismatch, r.Duplicates, r.TotalsOurs, r.TotalsTheirs, r.TotalsTheirs-r.TotalsOurs)
	if len(r.Rows) > 0 {
		fmt.Fprintf(tw, "\nkind\tsmsc_id\tmessage_id\tpart\tdestination\tours\ttheirs\tcdr_line\n")
		for _, x := range r.Rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%d\n", x.Kind, x.SMSCID, x.MessageID, x.Part, x.Destination, x.Ours, x.Theirs, x.Line)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("reconciliation table: %w", err)
	}
	return nil
}

// WriteCSV writes the findings as CSV with a header row.
func (r Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"kind", "smsc_id", "message_id", "part", "destination", "ours", "theirs", "cdr_line"})
	for _, x := range r.Rows {
		_ = cw.Write([]string{CSVText(x.Kind), CSVText(x.SMSCID), CSVText(x.MessageID), strconv.Itoa(x.Part), CSVText(x.Destination), x.Ours.String(), x.Theirs.String(), strconv.Itoa(x.Line)})
	}
	cw.Flush() // write errors are sticky in the csv.Writer and reported here
	if err := cw.Error(); err != nil {
		return fmt.Errorf("reconciliation csv: %w", err)
	}
	return nil
}
