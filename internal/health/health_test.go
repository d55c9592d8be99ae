package health

import (
	"testing"
	"time"
)

func TestStalledOnlyWithWorkWaiting(t *testing.T) {
	r := NewRegistry()
	s := r.Stage("ingest")
	s.last.Store(time.Now().Add(-time.Minute).UnixNano())
	if got := r.Stalled(10 * time.Second); len(got) != 0 {
		t.Fatalf("an idle stage is not stalled: %v", got)
	}
	s.pending.Store(true)
	s.Blocked("postgres: connection refused")
	got := r.Stalled(10 * time.Second)
	if len(got) != 1 || got[0].Stage != "ingest" || got[0].Reason != "postgres: connection refused" {
		t.Fatalf("stalled = %v", got)
	}
	s.Advanced()
	if got := r.Stalled(10 * time.Second); len(got) != 0 {
		t.Fatalf("a stage that advanced is not stalled: %v", got)
	}
}
