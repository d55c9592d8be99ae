package router

import "sync/atomic"

// Holder holds the current Table. Readers Load it without locks on every
// send; a reload builds a new Table and swaps it in, so readers see either
// the old table or the new one, never a mix. The zero Holder holds nil, an
// empty table.
type Holder struct {
	p atomic.Pointer[Table]
}

// NewHolder returns a Holder holding t.
func NewHolder(t *Table) *Holder {
	h := &Holder{}
	h.p.Store(t)
	return h
}

// Load returns the current table. Keep it for the whole of one decision
// (Candidates then Choose) so both see the same routes.
func (h *Holder) Load() *Table { return h.p.Load() }

// Swap installs t and returns the table it replaces.
func (h *Holder) Swap(t *Table) *Table { return h.p.Swap(t) }

// Rebuild builds a table from routes and installs it. A table NewTable
// refuses is not installed: the error is returned and the current table
// stays in use.
func (h *Holder) Rebuild(routes []Route) error {
	t, err := NewTable(routes)
	if err != nil {
		return err
	}
	h.p.Store(t)
	return nil
}
