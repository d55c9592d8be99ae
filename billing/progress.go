package billing

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progressInterval bounds how often the progress line is redrawn (~10/s):
// redrawing on every callback would cost more than the export itself.
const progressInterval = 100 * time.Millisecond

// Progress draws a single, self-overwriting ("\r") progress line for an
// export on a terminal. It is not safe for concurrent use; an export calls
// it from one goroutine.
type Progress struct {
	w        io.Writer
	enabled  bool
	total    int64
	start    time.Time
	last     time.Time
	drawn    bool
	now      func() time.Time // replaced in tests
	lastRows int64
}

// NewProgressBar returns a progress line writing to w. When isTerminal is
// false it draws nothing (a log file or pipe must not fill with \r
// frames). total is the expected row count, or -1 when unknown.
func NewProgressBar(w io.Writer, isTerminal bool, total int64) *Progress {
	p := &Progress{w: w, enabled: isTerminal, total: total, now: time.Now}
	p.start = p.now()
	return p
}

// NewProgress returns the Update method of a new Progress, the shape the
// export writers take as their progress callback.
func NewProgress(w io.Writer, isTerminal bool, total int64) func(rows int64) {
	return NewProgressBar(w, isTerminal, total).Update
}

// Update records that rows rows are done and redraws the line if at least
// ~100 ms passed since the last redraw, or the known total was reached.
func (p *Progress) Update(rows int64) {
	p.lastRows = rows
	if !p.enabled {
		return
	}
	now := p.now()
	if p.drawn && now.Sub(p.last) < progressInterval && (p.total < 0 || rows < p.total) {
		return
	}
	p.draw(now, rows)
}

// Done draws the final state and ends the line, so that the next output
// starts on a fresh line. It draws nothing when not on a terminal.
func (p *Progress) Done() {
	if !p.enabled {
		return
	}
	p.draw(p.now(), p.lastRows)
	fmt.Fprint(p.w, "\n")
}

func (p *Progress) draw(now time.Time, rows int64) {
	p.last, p.drawn = now, true
	rate := ""
	if el := now.Sub(p.start).Seconds(); el > 0 {
		rate = fmt.Sprintf(", %.0f rows/s", float64(rows)/el)
	}
	// Trailing spaces wipe leftovers of a longer previous frame.
	if p.total >= 0 {
		pct := int64(100)
		if p.total > 0 {
			pct = min(rows*100/p.total, 100)
		}
		fmt.Fprintf(p.w, "\r%d/%d rows (%d%%)%s   ", rows, p.total, pct, rate)
		return
	}
	fmt.Fprintf(p.w, "\r%d rows%s   ", rows, rate)
}

// IsTerminal reports whether f is a character device (a terminal), where
// a self-overwriting progress line makes sense.
func IsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
