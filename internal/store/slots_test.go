package store

import (
	"context"
	"slices"
	"testing"
	"time"
)

// Leases: acquire lowest first, renew with and without binds up (an
// instance whose binds are all down must still renew: CI found renewals
// failing with no bind up, so fenced binds never came back), release, and
// takeover of an expired lease by another instance.
func TestBindSlotLeases(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	pg := st.Pool
	key := SlotKey{Operator: "magti", Kind: "tx"}
	if err := EnsureSlots(ctx, pg, key, 2); err != nil {
		t.Fatal(err)
	}
	got, err := AcquireSlots(ctx, pg, "a", key, 2, 1, time.Minute)
	if err != nil || !slices.Equal(got, []int{0}) {
		t.Fatalf("acquire: %v %v, want [0]", got, err)
	}
	for _, up := range [][]string{{"magti"}, nil, {}} {
		held, err := RenewSlots(ctx, pg, "a", time.Minute, up)
		if err != nil {
			t.Fatalf("renew with ops up %v: %v", up, err)
		}
		if !slices.Equal(held[key], []int{0}) {
			t.Fatalf("renew with ops up %v: held %v, want [0]", up, held)
		}
		ops, err := OperatorsUp(ctx, pg)
		if err != nil {
			t.Fatal(err)
		}
		if want := len(up) > 0; ops["magti"] != want {
			t.Fatalf("ops up %v: cluster says magti up=%v", up, ops["magti"])
		}
	}
	// b gets the other slot only; a's is leased.
	got, err = AcquireSlots(ctx, pg, "b", key, 2, 2, time.Minute)
	if err != nil || !slices.Equal(got, []int{1}) {
		t.Fatalf("b acquire: %v %v, want [1]", got, err)
	}
	// a's lease lapses (ttl 0): b takes it over.
	if _, err := RenewSlots(ctx, pg, "a", 0, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	got, err = AcquireSlots(ctx, pg, "b", key, 2, 1, time.Minute)
	if err != nil || !slices.Equal(got, []int{0}) {
		t.Fatalf("takeover: %v %v, want [0]", got, err)
	}
	held, err := RenewSlots(ctx, pg, "a", time.Minute, nil)
	if err != nil || len(held[key]) != 0 {
		t.Fatalf("a still holds %v (%v) after the takeover", held, err)
	}
	if err := ReleaseSlots(ctx, pg, "b", key, []int{1}); err != nil {
		t.Fatal(err)
	}
	if err := ReleaseAllSlots(ctx, pg, "b"); err != nil {
		t.Fatal(err)
	}
	got, err = AcquireSlots(ctx, pg, "c", key, 2, 5, time.Minute)
	if err != nil || !slices.Equal(got, []int{0, 1}) {
		t.Fatalf("after release: %v %v, want [0 1]", got, err)
	}
}
