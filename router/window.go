package router

import (
	"math/bits"
	"slices"
	"time"
)

// Route time windows (Route.Active).
//
// A row whose window is closed at the decision time is left out of Choose
// as if it were not in effect: the other routes of its key take the
// traffic, and a key whose rows are all closed does not shadow a shorter
// prefix (or, for a network key, the prefix routes). Candidates ignores
// windows: it is also used to price sends and receipts, which happen
// whatever the window says now. When nothing is open, NextOpen says which
// route opens first and when, so the caller can let the message wait.

// indexWindows indexes the rows' windows: winRow[i] is 0 for a row without one
// and k+1 for wins[k]. Both stay nil when no row has a window, which keeps
// tables without windows exactly as fast as before.
func (t *Table) indexWindows() {
	for i := range t.rows {
		w := t.rows[i].Active
		if w == nil || w.IsZero() {
			continue
		}
		if t.winRow == nil {
			t.winRow = make([]int32, len(t.rows))
		}
		t.wins = append(t.wins, *w)
		t.winRow[i] = int32(len(t.wins))
	}
}

// isOpen reports whether row ri's window (if any) contains at.
func (t *Table) isOpen(ri int32, at time.Time) bool {
	if t.winRow == nil {
		return true
	}
	k := t.winRow[ri]
	return k == 0 || t.wins[k-1].Contains(at)
}

// keySpans fills out with the row spans that may apply to dest on network:
// the network's rows first (when known and present), then the rows of each
// prefix of dest, longest first. It does not allocate.
func (t *Table) keySpans(out *[MaxPrefixDigits + 1]span, dest, network string) int {
	n := 0
	if network != "" {
		if sp, ok := t.networks[network]; ok {
			out[n] = sp
			n++
		}
	}
	if len(dest) > 0 && dest[0] == '+' {
		dest = dest[1:]
	}
	var matches [MaxPrefixDigits]span
	found := 0
	node := int32(0)
	for i := 0; i < len(dest) && i < MaxPrefixDigits; i++ {
		d := dest[i] - '0'
		if d > 9 {
			break
		}
		nd := &t.nodes[node]
		bit := uint16(1) << d
		if nd.mask&bit == 0 {
			break
		}
		node = nd.first + int32(bits.OnesCount16(nd.mask&(bit-1)))
		if sp := t.nodes[node].rows; sp.end > sp.start {
			matches[found] = sp
			found++
		}
	}
	for k := found - 1; k >= 0; k-- {
		out[n] = matches[k]
		n++
	}
	return n
}

// collectOpen is collect for Choose: rows whose window is closed at `at`
// are left out, and a key whose rows in effect are all closed gives way to
// the next one (network → longest prefix → shorter prefixes).
func (t *Table) collectOpen(buf []int32, dest, network string, at time.Time) []int32 {
	if t == nil || t.winRow == nil {
		return t.collect(buf, dest, network, at)
	}
	now := instantOf(at)
	var keys [MaxPrefixDigits + 1]span
	n0 := len(buf)
	for _, sp := range keys[:t.keySpans(&keys, dest, network)] {
		buf = t.appendLatest(buf, sp, now)
		k := n0
		for _, ri := range buf[n0:] {
			if t.isOpen(ri, at) {
				buf[k] = ri
				k++
			}
		}
		buf = buf[:k]
		if len(buf) > n0 {
			return t.sortByCost(buf, n0)
		}
	}
	return buf
}

// Closed reports whether operator's route to dest on network is held back
// by its window at `at`: operator has a row in effect for some key of dest,
// but Choose would not consider it now. A dispatcher asks this before
// sending a message queued earlier, when the window may have closed since.
// It is false for an operator without any row (nothing to hold it back).
// It does not allocate.
func (t *Table) Closed(dest, network, operator string, at time.Time) bool {
	if t == nil || t.winRow == nil {
		return false
	}
	var buf [stackCandidates]int32
	has := false
	for _, ri := range t.collectAll(buf[:0], dest, network, at) {
		if t.opNames[t.hot[ri].op] == operator {
			has = true
			break
		}
	}
	if !has {
		return false
	}
	for _, ri := range t.collectOpen(buf[:0], dest, network, at) {
		if t.opNames[t.hot[ri].op] == operator {
			return false
		}
	}
	return true
}

// collectAll appends the latest row in effect of each operator for every
// key of dest, windows ignored.
func (t *Table) collectAll(buf []int32, dest, network string, at time.Time) []int32 {
	now := instantOf(at)
	var keys [MaxPrefixDigits + 1]span
	for _, sp := range keys[:t.keySpans(&keys, dest, network)] {
		buf = t.appendLatest(buf, sp, now)
	}
	return buf
}

// NextOpen is the fallback when Choose finds no open route: among the rows
// in effect for dest on network (every key, windows considered) whose
// operator is not in tried (and is forced, when forced is set), the one
// whose window opens first, and when it opens (at itself when open). Ties
// go to the longer key, then the lower cost. ok is false when no row
// applies at all.
func (t *Table) NextOpen(dest, network, forced string, at time.Time, tried []string) (c Candidate, opens time.Time, ok bool) {
	if t == nil {
		return Candidate{}, time.Time{}, false
	}
	var buf [stackCandidates]int32
	best := int32(-1)
	for _, ri := range t.collectAll(buf[:0], dest, network, at) {
		op := t.opNames[t.hot[ri].op]
		if slices.Contains(tried, op) || forced != "" && op != forced {
			continue
		}
		o := at
		if t.winRow != nil {
			if k := t.winRow[ri]; k != 0 {
				o = t.wins[k-1].Next(at)
			}
		}
		// Rows come longest key first, so only a strictly earlier opening
		// or, at the same time and key, a lower cost replaces the best.
		if best < 0 || o.Before(opens) || o.Equal(opens) && t.hot[ri].cost < t.hot[best].cost && sameKey(t, ri, best) {
			best, opens = ri, o
		}
	}
	if best < 0 {
		return Candidate{}, time.Time{}, false
	}
	return Candidate{Route: t.rows[best]}, opens, true
}

func sameKey(t *Table, a, b int32) bool {
	return kind(&t.rows[a]) == kind(&t.rows[b]) && key(&t.rows[a]) == key(&t.rows[b])
}

// Windowed reports whether any row of the table has a window.
func (t *Table) Windowed() bool { return t != nil && t.winRow != nil }
