// Package correlate is the in-memory index of parts recently accepted by
// an SMSC, keyed by operator and correlation key. Dispatch adds a part the
// moment its submit_sm_resp arrives; receipts look it up first, so a
// receipt that arrives before the outcome is written (the common case:
// SMSCs send the receipt right after the response) is matched without a
// database read. The index is bounded in entries and age; a receipt for a
// part it no longer holds is matched in Postgres.
package correlate

import (
	"sync"
	"time"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/internal/message"
)

// Msg is one attempt of a message as the parts of the index share it. Its
// fields after the mutex change only under it.
type Msg struct {
	ID          string
	Gen         int32
	Attempt     int16
	Account     string
	Dest        string
	Network     string
	Operator    string
	ForcedRoute string
	Tried       []string
	DLR         bool
	Rerouted    bool
	Meta        []byte
	Created     time.Time

	mu sync.Mutex
	// Parts is the attempt's parts, by part number - 1.
	Parts []*Part
	// Batch is the outcome batch that wrote the attempt (0: not yet). A
	// receipt is applied once it is set; its status event is produced
	// after that batch's (see journal.Effects.Depends).
	Batch int64
	// Final: a final status was published; later receipts change nothing.
	Final bool
}

// Part is one part of an attempt.
type Part struct {
	Msg         *Msg
	Part        int16 // from 1
	SMSCID      []byte
	Key         string
	SubmittedAt time.Time
	// State is the outcome (Submitted, Unknown…) and then what receipts
	// said (guarded by Msg's mutex).
	State   message.State
	Stat    string
	Reason  string
	Code    string
	Charged bool
	Price   billing.Amount
	Cost    billing.Amount
	Cur     string

	indexSeq uint64 // set by Index.Add under the index's mutex
}

// Lock and Unlock guard the mutable fields of m and its parts.
func (m *Msg) Lock()   { m.mu.Lock() }
func (m *Msg) Unlock() { m.mu.Unlock() }

// Index maps (operator, key) to parts. Safe for concurrent use.
type Index struct {
	mu     sync.Mutex
	parts  map[string]*Part
	order  []entryRef // insertion order, for eviction
	head   int
	seq    uint64
	max    int
	maxAge time.Duration
	// OnWritten is called after outcomes were written (set before use).
	OnWritten func()
}

type entryRef struct {
	key string
	seq uint64 // the part's indexSeq: identity without keeping the part alive
	at  time.Time
}

// New returns an index holding at most max parts for at most maxAge.
func New(max int, maxAge time.Duration) *Index {
	return &Index{parts: make(map[string]*Part, max/4), max: max, maxAge: maxAge}
}

func indexKey(op, key string) string { return op + "\x00" + key }

// Add registers p under its operator and key (no-op without a key).
func (x *Index) Add(p *Part, now time.Time) {
	if x == nil || p.Key == "" {
		return
	}
	k := indexKey(p.Msg.Operator, p.Key)
	x.mu.Lock()
	x.seq++
	p.indexSeq = x.seq
	x.parts[k] = p
	x.order = append(x.order, entryRef{key: k, seq: x.seq, at: now})
	x.evictLocked(now)
	x.mu.Unlock()
}

func (x *Index) evictLocked(now time.Time) {
	for x.head < len(x.order) {
		e := x.order[x.head]
		if len(x.parts) <= x.max && now.Sub(e.at) < x.maxAge {
			break
		}
		if p := x.parts[e.key]; p != nil && p.indexSeq == e.seq { // not a later part under a reused key
			delete(x.parts, e.key)
		}
		x.order[x.head] = entryRef{}
		x.head++
	}
	if x.head > 4096 && x.head*2 > len(x.order) {
		x.order = append(x.order[:0:0], x.order[x.head:]...)
		x.head = 0
	}
}

// Remove drops m's parts: its status is final, so a later receipt (a
// repeat) changes nothing and is left to Postgres. Without this the index
// would hold every part for its whole maxAge, most of them final — the
// bulk of the live heap at a high rate.
func (x *Index) Remove(m *Msg) {
	if x == nil {
		return
	}
	m.mu.Lock()
	keys := make([]string, 0, len(m.Parts))
	parts := make([]*Part, 0, len(m.Parts))
	for _, p := range m.Parts {
		if p.Key != "" {
			keys, parts = append(keys, indexKey(m.Operator, p.Key)), append(parts, p)
		}
	}
	m.mu.Unlock()
	x.mu.Lock()
	for i, k := range keys {
		if x.parts[k] == parts[i] {
			delete(x.parts, k)
		}
	}
	x.mu.Unlock()
}

// Lookup returns the part for a receipt of operator, trying keys in order.
func (x *Index) Lookup(op string, keys []string) *Part {
	if x == nil {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, k := range keys {
		if p := x.parts[indexKey(op, k)]; p != nil {
			return p
		}
	}
	return nil
}

// Written records that msgs' outcome committed as batch, and calls
// OnWritten (receipts waiting for those parts may go on).
func (x *Index) Written(msgs []*Msg, batch int64) {
	if x == nil || len(msgs) == 0 {
		return
	}
	for _, m := range msgs {
		m.mu.Lock()
		m.Batch = batch
		m.mu.Unlock()
	}
	if f := x.OnWritten; f != nil {
		f()
	}
}

// Len is the number of parts held.
func (x *Index) Len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.parts)
}

// StoredKey is the form of a correlation key that goes into Postgres and
// the index: the key itself when it is valid UTF-8 without NUL (every
// real SMSC id), else "~x" and its bytes in hex, so a hostile id can
// neither break a write nor match another id.
func StoredKey(k string) string {
	if message.Storable(k) && (len(k) < 2 || k[:2] != "~x") {
		return k
	}
	const hexd = "0123456789abcdef"
	b := make([]byte, 0, 2+2*len(k))
	b = append(b, '~', 'x')
	for i := 0; i < len(k); i++ {
		b = append(b, hexd[k[i]>>4], hexd[k[i]&15])
	}
	return string(b)
}
