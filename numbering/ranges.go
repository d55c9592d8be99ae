package numbering

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strings"
)

// rangeKeyShift puts a prefix's digit count above its value (< 2^50), so
// "0" and "00", or "99" and "099", are different keys.
const rangeKeyShift = 50

// maxRangeErrors bounds how many bad lines one load reports.
const maxRangeErrors = 50

// RangeTable maps number-range prefixes to networks, longest prefix
// winning. It is immutable once built: reload by building a new one and
// swapping it in (Resolver.SetRanges).
//
// Layout: one open-addressing table keyed by (digit count, prefix value),
// and a bitmask of the digit counts present. A lookup tries, longest first,
// each count present: at most 15 probes, usually a handful, no allocation.
type RangeTable struct {
	keys  []uint64 // count<<50 | value; 0 is empty (count ≥ 1)
	nets  []NetID
	shift uint
	mask  uint64
	lens  uint16 // bit L set: some prefix has L digits
	n     int
	reg   *Registry
}

func newRangeTable(capacity int, reg *Registry) *RangeTable {
	if capacity < 8 {
		capacity = 8
	}
	lg := bits.Len64(uint64(capacity)*4/3 - 1)
	size := uint64(1) << lg
	return &RangeTable{
		keys:  make([]uint64, size),
		nets:  make([]NetID, size),
		shift: uint(64 - lg),
		mask:  size - 1,
		reg:   reg,
	}
}

func (t *RangeTable) home(key uint64) uint64 { return mix(key) >> t.shift }

// insert adds key; it reports false if key is already there.
func (t *RangeTable) insert(key uint64, id NetID) bool {
	for i := t.home(key); ; i = (i + 1) & t.mask {
		switch t.keys[i] {
		case 0:
			t.keys[i], t.nets[i] = key, id
			t.n++
			return true
		case key:
			return false
		}
	}
}

func (t *RangeTable) lookupKey(key uint64) NetID {
	for i := t.home(key); ; i = (i + 1) & t.mask {
		switch t.keys[i] {
		case 0:
			return 0
		case key:
			return t.nets[i]
		}
	}
}

// Match returns the network of the longest prefix of e164 (digits, one
// leading '+' allowed), or 0 when no prefix matches or e164 is not 1–15
// digits.
func (t *RangeTable) Match(e164 string) NetID {
	v, n, ok := parseDigits(e164)
	if !ok {
		return 0
	}
	return t.match(v, n)
}

func (t *RangeTable) match(v uint64, n int) NetID {
	if t == nil || t.n == 0 {
		return 0
	}
	// Only counts present and ≤ n: clear the bits above n.
	lens := t.lens & (1<<(n+1) - 1)
	for lens != 0 {
		l := bits.Len16(lens) - 1
		lens &^= 1 << l
		if id := t.lookupKey(uint64(l)<<rangeKeyShift | v/pow10[n-l]); id != 0 {
			return id
		}
	}
	return 0
}

// Len returns the number of ranges.
func (t *RangeTable) Len() int { return t.n }

// Registry returns the registry the table's NetIDs belong to.
func (t *RangeTable) Registry() *Registry { return t.reg }

// Bytes returns the memory the table's index uses.
func (t *RangeTable) Bytes() int { return len(t.keys)*8 + len(t.nets)*2 }

// rangeHeader is the required first line of a range CSV.
var rangeHeader = [...]string{"prefix", "mcc", "mnc", "network"}

// LineError is one bad line of a CSV file.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// LoadRanges reads a range CSV (header prefix,mcc,mnc,network; prefix 1–15
// digits, mcc 3 digits, mnc 2–3 digits, network a free label) into a table
// whose networks are interned in reg. The file is taken whole or not at
// all: every bad line (up to 50) is reported, each as a *LineError naming
// its line, joined into one error. A prefix given twice is an error.
// sizeHint (the expected number of ranges, 0 if unknown) avoids regrowth.
func LoadRanges(r io.Reader, reg *Registry, sizeHint int) (*RangeTable, error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 64<<10))
	cr.FieldsPerRecord = -1 // counted here, to name the line in our words
	cr.ReuseRecord = true
	t := newRangeTable(sizeHint, reg)
	var errs []error
	bad := 0
	fail := func(line int, err error) {
		bad++
		if len(errs) < maxRangeErrors {
			errs = append(errs, &LineError{Line: line, Err: err})
		}
	}
	header := true
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && !header {
				fail(pe.Line, pe.Err) // the reader resumes at the next line
				continue
			}
			return nil, fmt.Errorf("ranges: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if header {
			header = false
			if len(rec) > 0 {
				rec[0] = strings.TrimPrefix(rec[0], "\uFEFF") // spreadsheet BOM
			}
			if len(rec) != len(rangeHeader) || rec[0] != rangeHeader[0] || rec[1] != rangeHeader[1] || rec[2] != rangeHeader[2] || rec[3] != rangeHeader[3] {
				return nil, fmt.Errorf("ranges: line %d: header %q, want %q", line, strings.Join(rec, ","), strings.Join(rangeHeader[:], ","))
			}
			continue
		}
		if len(rec) != 4 {
			fail(line, fmt.Errorf("%d fields, want 4 (prefix,mcc,mnc,network)", len(rec)))
			continue
		}
		prefix, mcc, mnc, name := rec[0], rec[1], rec[2], rec[3]
		if len(prefix) == 0 || len(prefix) > maxDigits || !allDigits(prefix) {
			fail(line, fmt.Errorf("prefix %q: want 1 to %d digits", prefix, maxDigits))
			continue
		}
		if err := checkMCCMNC(mcc, mnc); err != nil {
			fail(line, err)
			continue
		}
		if bad > 0 {
			continue // the table is discarded; keep checking lines only
		}
		id, err := reg.Intern(mcc, mnc, name)
		if err != nil {
			fail(line, err)
			continue
		}
		v, n, _ := parseDigits(prefix)
		key := uint64(n)<<rangeKeyShift | v
		if t.n >= len(t.keys)/4*3 {
			t = t.grown()
		}
		if !t.insert(key, id) {
			fail(line, fmt.Errorf("prefix %s given twice", prefix))
			continue
		}
		t.lens |= 1 << n
	}
	if header {
		return nil, errors.New("ranges: empty file, want header prefix,mcc,mnc,network")
	}
	if bad > 0 {
		if bad > len(errs) {
			errs = append(errs, fmt.Errorf("and %d more bad lines", bad-len(errs)))
		}
		return nil, fmt.Errorf("ranges: %d bad lines: %w", bad, errors.Join(errs...))
	}
	return t, nil
}

// grown returns a copy of t with twice the slots.
func (t *RangeTable) grown() *RangeTable {
	g := newRangeTable(len(t.keys), t.reg) // len(keys) entries → 2× slots at ≤ 3/4 load
	for i, k := range t.keys {
		if k != 0 {
			g.insert(k, t.nets[i])
		}
	}
	g.lens = t.lens
	return g
}
