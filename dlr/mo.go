package dlr

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrBadPart is returned by Reassembler.Add for a part whose concatenation
// header is impossible (Seq 0 or above Total) or that has no Received time.
// The caller may deliver such a part as a single message (Total = 1) rather
// than lose it.
var ErrBadPart = errors.New("dlr: malformed MO part")

// MOPart is one deliver_sm of a mobile-originated message, already decoded
// to text. Ref, Total and Seq come from the concatenation UDH (8- or 16-bit
// reference) or the SAR TLVs; Total <= 1 means not concatenated.
type MOPart struct {
	Operator, From, To string
	Ref                uint16
	Total, Seq         uint8
	Text               string
	Received           time.Time
	// Key identifies the part for deduplication: the same part delivered
	// twice (a lost deliver_sm_resp, another bind) has the same Key.
	// Reassembler.Add sets it to PartKey(p); a Store may use it as a unique
	// key.
	Key string
}

// GroupKey is the key shared by the parts of one multipart message:
// operator, from, to, reference and total, so that parts arriving on
// different binds of the same operator meet.
func GroupKey(p MOPart) string {
	var b strings.Builder
	b.Grow(len(p.Operator) + len(p.From) + len(p.To) + 12)
	b.WriteString(p.Operator)
	b.WriteByte('|')
	b.WriteString(p.From)
	b.WriteByte('|')
	b.WriteString(p.To)
	b.WriteByte('|')
	b.WriteString(strconv.Itoa(int(p.Ref)))
	b.WriteByte('|')
	b.WriteString(strconv.Itoa(int(p.Total)))
	return b.String()
}

// PartKey is GroupKey plus the part's sequence number.
func PartKey(p MOPart) string {
	return GroupKey(p) + "|" + strconv.Itoa(int(p.Seq))
}

// MO is a mobile-originated message ready to publish on sms.mo (§1.3); the
// gateway adds the id.
type MO struct {
	Operator string `json:"operator"`
	From     string `json:"from"`
	To       string `json:"to"`
	// Text is the text of the parts that arrived, in sequence order.
	Text string `json:"text"`
	// Parts is the number of parts the message was sent in (the declared
	// total), so that Parts - len(PartsMissing) parts are in Text.
	Parts int `json:"parts"`
	// Keyword is the first word upper-cased when it is one of the
	// Reassembler's keywords, else "".
	Keyword string `json:"keyword,omitempty"`
	// ReceivedAt is when the last part that arrived was received.
	ReceivedAt time.Time `json:"received_at"`
	// Incomplete is set when the reassembly timeout passed with parts
	// missing; PartsMissing lists their sequence numbers (1-based).
	Incomplete   bool  `json:"incomplete,omitempty"`
	PartsMissing []int `json:"parts_missing,omitempty"`
	// GroupKey names the stored parts to remove with Reassembler.Done once
	// the message is published; "" for a single-part message.
	GroupKey string `json:"-"`
	// Ref is the concatenation reference (0 for a single part) and
	// FirstReceived when its first part arrived: with the addresses they
	// identify a message delivered again.
	Ref           uint16    `json:"-"`
	FirstReceived time.Time `json:"-"`
}

// Store keeps the parts of multipart messages until they are complete or
// time out. The gateway implements it on Postgres (so parts survive a
// restart and are shared by instances); MemStore is the in-memory version.
type Store interface {
	// AddPart stores p unless a part with the same (operator, from, to, ref,
	// total, seq), i.e. the same p.Key, is stored; it is idempotent. It
	// returns the group's stored parts, in any order, and complete=true to
	// exactly one call per group: the one that stored the last missing part,
	// even when calls race. A duplicate never reports complete. A store may
	// drop a late duplicate of a group already removed (same Key and Text)
	// and return (nil, false, nil).
	AddPart(ctx context.Context, p MOPart) (parts []MOPart, complete bool, err error)
	// Remove deletes the parts of a group; removing an unknown group is not
	// an error.
	Remove(ctx context.Context, groupKey string) error
	// Expired returns up to limit groups whose earliest part was received
	// before the given time, oldest first. Complete groups that were never
	// removed (a crash between completion and publishing) are included.
	Expired(ctx context.Context, before time.Time, limit int) ([][]MOPart, error)
}

// ReassemblerOptions tunes a Reassembler. The zero value is usable.
type ReassemblerOptions struct {
	// Keywords are the keywords MO.Keyword recognises, as built by
	// KeywordSet. Default: none.
	Keywords map[string]struct{}
	// SweepBatch is the most groups one Sweep returns. Default 100.
	SweepBatch int
}

// Reassembler joins MO parts through a Store. It holds no state of its own,
// so any number of goroutines and instances may share one Store.
type Reassembler struct {
	store    Store
	timeout  time.Duration
	keywords map[string]struct{}
	batch    int
}

// NewReassembler returns a Reassembler that gives up waiting for missing
// parts timeout after a group's first part (mo.reassembly_timeout).
func NewReassembler(store Store, timeout time.Duration, opts ReassemblerOptions) *Reassembler {
	if opts.SweepBatch <= 0 {
		opts.SweepBatch = 100
	}
	return &Reassembler{store: store, timeout: timeout, keywords: opts.Keywords, batch: opts.SweepBatch}
}

// Add takes one part. A single-part message (Total <= 1) is returned at
// once. A part of a multipart message is stored; the call that completes
// the message returns it, with the text of all parts in sequence order;
// other calls, duplicates included, return nil.
//
// The returned message stays in the Store until Done: publish it, then call
// Done, so that a crash in between republishes rather than loses it.
func (r *Reassembler) Add(ctx context.Context, p MOPart) (*MO, error) {
	if p.Total <= 1 {
		m := &MO{Operator: p.Operator, From: p.From, To: p.To, Text: p.Text, Parts: 1, ReceivedAt: p.Received, FirstReceived: p.Received}
		m.Keyword = Keyword(m.Text, r.keywords)
		return m, nil
	}
	if p.Seq == 0 || p.Seq > p.Total {
		return nil, fmt.Errorf("part %d of %d: %w", p.Seq, p.Total, ErrBadPart)
	}
	if p.Received.IsZero() {
		return nil, fmt.Errorf("part without received time: %w", ErrBadPart)
	}
	p.Key = PartKey(p)
	parts, complete, err := r.store.AddPart(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("store MO part %s: %w", p.Key, err)
	}
	if !complete {
		return nil, nil
	}
	m := r.join(parts)
	return &m, nil
}

// Sweep returns, as incomplete messages, up to SweepBatch groups whose first
// part arrived more than the timeout before now: the text of the parts that
// arrived in order, PartsMissing listing the others. A group found complete
// (see Store.Expired) comes back as a normal message. Publish each, call
// Done, and call Sweep again while it returns a full batch.
func (r *Reassembler) Sweep(ctx context.Context, now time.Time) ([]MO, error) {
	groups, err := r.store.Expired(ctx, now.Add(-r.timeout), r.batch)
	if err != nil {
		return nil, fmt.Errorf("list expired MO groups: %w", err)
	}
	out := make([]MO, 0, len(groups))
	for _, g := range groups {
		if len(g) == 0 {
			continue
		}
		out = append(out, r.join(g))
	}
	return out, nil
}

// Done removes a published message's parts from the Store. It does nothing
// for a single-part message.
func (r *Reassembler) Done(ctx context.Context, m *MO) error {
	if m == nil || m.GroupKey == "" {
		return nil
	}
	if err := r.store.Remove(ctx, m.GroupKey); err != nil {
		return fmt.Errorf("remove MO group %s: %w", m.GroupKey, err)
	}
	return nil
}

// join builds the message from a group's parts, trusting no order and no
// uniqueness from the Store: parts are sorted by Seq and the first of equal
// Seqs wins.
func (r *Reassembler) join(parts []MOPart) MO {
	parts = slices.Clone(parts)
	slices.SortStableFunc(parts, func(a, b MOPart) int { return int(a.Seq) - int(b.Seq) })
	first := parts[0]
	total := int(first.Total)
	m := MO{Operator: first.Operator, From: first.From, To: first.To, Parts: total, GroupKey: GroupKey(first), Ref: first.Ref}
	var text strings.Builder
	next := 1 // the lowest sequence number not yet seen
	for i, p := range parts {
		if i > 0 && p.Seq == parts[i-1].Seq {
			continue
		}
		if p.Seq < 1 || int(p.Seq) > total {
			continue
		}
		for ; next < int(p.Seq); next++ {
			m.PartsMissing = append(m.PartsMissing, next)
		}
		next = int(p.Seq) + 1
		text.WriteString(p.Text)
		if p.Received.After(m.ReceivedAt) {
			m.ReceivedAt = p.Received
		}
		if m.FirstReceived.IsZero() || p.Received.Before(m.FirstReceived) {
			m.FirstReceived = p.Received
		}
	}
	for ; next <= total; next++ {
		m.PartsMissing = append(m.PartsMissing, next)
	}
	m.Incomplete = len(m.PartsMissing) > 0
	m.Text = text.String()
	m.Keyword = Keyword(m.Text, r.keywords)
	return m
}
