package dlr

import (
	"context"
	"slices"
	"sync"
	"time"
)

// MemStore is an in-memory Store for tests and single-process tools. It
// keeps the Key and Text of removed parts until they are older than the
// `before` of a later Expired call (the reassembly timeout, when driven by
// Reassembler.Sweep), so that a part redelivered after its message was
// published is dropped instead of starting a group that would time out as
// a spurious incomplete message. It is unbounded: not for production.
type MemStore struct {
	mu     sync.Mutex
	groups map[string]*memGroup
	done   map[string]memDone
}

type memGroup struct {
	parts    []MOPart
	first    time.Time
	complete bool
}

type memDone struct {
	text string
	at   time.Time
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{groups: map[string]*memGroup{}, done: map[string]memDone{}}
}

// AddPart implements Store.
func (s *MemStore) AddPart(_ context.Context, p MOPart) ([]MOPart, bool, error) {
	if p.Key == "" {
		p.Key = PartKey(p)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.done[p.Key]; ok && d.text == p.Text {
		return nil, false, nil
	}
	gk := GroupKey(p)
	g := s.groups[gk]
	if g == nil {
		g = &memGroup{first: p.Received}
		s.groups[gk] = g
	}
	for _, q := range g.parts {
		if q.Seq == p.Seq {
			return slices.Clone(g.parts), false, nil
		}
	}
	g.parts = append(g.parts, p)
	if p.Received.Before(g.first) {
		g.first = p.Received
	}
	if !g.complete && len(g.parts) == int(p.Total) {
		g.complete = true
		return slices.Clone(g.parts), true, nil
	}
	return slices.Clone(g.parts), false, nil
}

// Remove implements Store.
func (s *MemStore) Remove(_ context.Context, groupKey string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupKey]
	if g == nil {
		return nil
	}
	var last time.Time
	for _, p := range g.parts {
		if p.Received.After(last) {
			last = p.Received
		}
	}
	for _, p := range g.parts {
		s.done[p.Key] = memDone{text: p.Text, at: last}
	}
	delete(s.groups, groupKey)
	return nil
}

// Expired implements Store. It also forgets removed parts received before
// `before`.
func (s *MemStore) Expired(_ context.Context, before time.Time, limit int) ([][]MOPart, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, d := range s.done {
		if d.at.Before(before) {
			delete(s.done, k)
		}
	}
	var old []*memGroup
	for _, g := range s.groups {
		if g.first.Before(before) {
			old = append(old, g)
		}
	}
	slices.SortFunc(old, func(a, b *memGroup) int { return a.first.Compare(b.first) })
	if limit >= 0 && len(old) > limit {
		old = old[:limit]
	}
	out := make([][]MOPart, len(old))
	for i, g := range old {
		out[i] = slices.Clone(g.parts)
	}
	return out, nil
}

// Len reports the number of groups held, for tests.
func (s *MemStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.groups)
}
