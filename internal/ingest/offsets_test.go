package ingest

import "testing"

// A partition's committable offset never passes a record that is not
// settled, whatever order records settle in (invariant 1).
func TestTrackerCommitsOnlyThePrefixThatIsSettled(t *testing.T) {
	tr := newTracker()
	var es []*entry
	for off := int64(10); off < 15; off++ {
		es = append(es, tr.add(0, off))
	}
	other := tr.add(1, 100)
	if got := tr.committable(); len(got) != 0 {
		t.Fatalf("nothing settled, committable %v", got)
	}
	es[1].settle()
	es[3].settle()
	if got := tr.committable(); len(got) != 0 {
		t.Fatalf("head unsettled, committable %v", got)
	}
	es[0].settle()
	got := tr.committable()
	if got[0] != 12 || len(got) != 1 {
		t.Fatalf("committable %v, want partition 0 at 12 (10, 11 settled; 12 not)", got)
	}
	tr.committed(got)
	if got := tr.committable(); len(got) != 0 {
		t.Fatalf("committed offsets offered again: %v", got)
	}
	es[2].settle()
	es[2].settle() // twice: counted once
	es[4].settle()
	other.settle()
	got = tr.committable()
	if got[0] != 15 || got[1] != 101 {
		t.Fatalf("committable %v, want 0:15 1:101", got)
	}
	if n := tr.unsettled(); n != 0 {
		t.Fatalf("unsettled %d, want 0", n)
	}
}

// Records of a revoked partition stop counting and commit nothing; their
// late settles are harmless.
func TestTrackerDropsRevokedPartitions(t *testing.T) {
	tr := newTracker()
	a := tr.add(3, 7)
	b := tr.add(3, 8)
	if tr.unsettled() != 2 {
		t.Fatalf("unsettled %d", tr.unsettled())
	}
	tr.drop([]int32{3})
	if tr.unsettled() != 0 {
		t.Fatalf("unsettled %d after drop", tr.unsettled())
	}
	a.settle()
	b.settle()
	if tr.unsettled() != 0 || len(tr.committable()) != 0 {
		t.Fatalf("a dropped partition came back: %d %v", tr.unsettled(), tr.committable())
	}
	c := tr.add(3, 9) // assigned again later: tracked afresh
	c.settle()
	if got := tr.committable(); got[3] != 10 {
		t.Fatalf("committable %v", got)
	}
}
