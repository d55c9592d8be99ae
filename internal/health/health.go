// Package health tracks whether each pipeline stage makes progress. A
// stage that has work waiting and has not advanced for a while is
// stalled: /readyz says not ready with the stage's name, a gauge says so,
// and an alert fires. Stages report through a Stage; nothing here blocks.
package health

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Stage is one stage's progress: when it last advanced and whether work
// is waiting for it. Safe for concurrent use.
type Stage struct {
	Name    string
	last    atomic.Int64 // unix nanos of the last advance
	pending atomic.Bool
	reason  atomic.Pointer[string]
}

// Advanced records progress; Waiting(false) is implied only when the
// stage says so.
func (s *Stage) Advanced() {
	s.last.Store(time.Now().UnixNano())
}

// Waiting records whether work is waiting for the stage (a stage with
// nothing to do is idle, never stalled).
func (s *Stage) Waiting(w bool) {
	s.pending.Store(w)
	if !w {
		s.last.Store(time.Now().UnixNano())
	}
}

// Blocked records why the stage cannot advance ("" clears it); shown with
// the stall.
func (s *Stage) Blocked(reason string) {
	if reason == "" {
		s.reason.Store(nil)
		return
	}
	s.reason.Store(&reason)
}

// Stalled reports whether work has waited longer than after without
// progress, and since when the stage has not advanced.
func (s *Stage) Stalled(after time.Duration, now time.Time) (bool, time.Time) {
	last := time.Unix(0, s.last.Load())
	return s.pending.Load() && now.Sub(last) > after, last
}

// Registry holds every stage.
type Registry struct {
	mu     sync.Mutex
	stages map[string]*Stage
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{stages: map[string]*Stage{}} }

// Stage returns (creating it once) the stage named name.
func (r *Registry) Stage(name string) *Stage {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stages[name]
	if s == nil {
		s = &Stage{Name: name}
		s.last.Store(time.Now().UnixNano())
		r.stages[name] = s
	}
	return s
}

// StallInfo is one stalled stage.
type StallInfo struct {
	Stage  string
	Since  time.Time
	Reason string
}

// Stalled lists the stages stalled for longer than after, by name.
func (r *Registry) Stalled(after time.Duration) []StallInfo {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []StallInfo
	for _, s := range r.stages {
		if st, since := s.Stalled(after, now); st {
			in := StallInfo{Stage: s.Name, Since: since}
			if p := s.reason.Load(); p != nil {
				in.Reason = *p
			}
			out = append(out, in)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Stage < out[j].Stage })
	return out
}

// All returns every stage, by name.
func (r *Registry) All() []*Stage {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Stage, 0, len(r.stages))
	for _, s := range r.stages {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
