package dlr

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func part(ref uint16, total, seq uint8, text string, at time.Duration) MOPart {
	return MOPart{Operator: "magti", From: "995599123456", To: "4422", Ref: ref, Total: total, Seq: seq, Text: text, Received: t0.Add(at)}
}

func TestReassemblerSinglePart(t *testing.T) {
	r := NewReassembler(NewMemStore(), 10*time.Minute, ReassemblerOptions{Keywords: KeywordSet([]string{"STOP"})})
	m, err := r.Add(context.Background(), part(0, 1, 1, "Stop!", 0))
	if err != nil || m == nil {
		t.Fatalf("Add = %v, %v", m, err)
	}
	want := MO{Operator: "magti", From: "995599123456", To: "4422", Text: "Stop!", Parts: 1, Keyword: "STOP", ReceivedAt: t0}
	if !moEqual(*m, want) {
		t.Errorf("got %+v\nwant %+v", *m, want)
	}
	// Total 0 (no concatenation info) is a single part too.
	m, err = r.Add(context.Background(), MOPart{Text: "hi", Received: t0})
	if err != nil || m == nil || m.Text != "hi" || m.Parts != 1 || m.Keyword != "" {
		t.Fatalf("Total 0: %+v, %v", m, err)
	}
	if err := r.Done(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

func TestReassemblerOutOfOrderUnicode(t *testing.T) {
	ctx := context.Background()
	store := NewMemStore()
	r := NewReassembler(store, 10*time.Minute, ReassemblerOptions{Keywords: KeywordSet([]string{"გამარჯობა"})})
	texts := map[uint8]string{1: "გამარჯობა, ", 2: "როგორ ხარ? 🇬🇪", 3: " 👋🏽 ნახვამდის"}
	for i, seq := range []uint8{3, 1, 1, 3} { // 1 and 3 arrive twice (another bind)
		m, err := r.Add(ctx, part(0xBEEF, 3, seq, texts[seq], time.Duration(i)*time.Second))
		if err != nil || m != nil {
			t.Fatalf("add %d: %+v, %v", seq, m, err)
		}
	}
	m, err := r.Add(ctx, part(0xBEEF, 3, 2, texts[2], 5*time.Second))
	if err != nil || m == nil {
		t.Fatalf("last part: %+v, %v", m, err)
	}
	want := MO{Operator: "magti", From: "995599123456", To: "4422", Text: texts[1] + texts[2] + texts[3], Parts: 3,
		Keyword: "ᲒᲐᲛᲐᲠᲯᲝᲑᲐ", ReceivedAt: t0.Add(5 * time.Second), GroupKey: "magti|995599123456|4422|48879|3"}
	if !moEqual(*m, want) {
		t.Fatalf("got %+v\nwant %+v", *m, want)
	}
	// A duplicate of a part after completion, before Done: no second message.
	if m2, err := r.Add(ctx, part(0xBEEF, 3, 2, texts[2], 6*time.Second)); err != nil || m2 != nil {
		t.Fatalf("duplicate after completion: %+v, %v", m2, err)
	}
	if err := r.Done(ctx, m); err != nil {
		t.Fatal(err)
	}
	if store.Len() != 0 {
		t.Fatalf("store holds %d groups after Done", store.Len())
	}
	// A late redelivery after Done is dropped, not a new group.
	if m2, err := r.Add(ctx, part(0xBEEF, 3, 1, texts[1], time.Minute)); err != nil || m2 != nil {
		t.Fatalf("late duplicate: %+v, %v", m2, err)
	}
	if store.Len() != 0 {
		t.Fatalf("late duplicate started a group")
	}
	// The same reference with new text is a new message.
	if m2, err := r.Add(ctx, part(0xBEEF, 3, 1, "new", time.Minute)); err != nil || m2 != nil {
		t.Fatalf("reused ref: %+v, %v", m2, err)
	}
	if store.Len() != 1 {
		t.Fatalf("reused ref: %d groups, want 1", store.Len())
	}
}

func TestReassemblerGroupsAreSeparate(t *testing.T) {
	ctx := context.Background()
	r := NewReassembler(NewMemStore(), time.Minute, ReassemblerOptions{})
	other := []MOPart{
		part(1, 2, 1, "a", 0), // the group under test
		{Operator: "silknet", From: "995599123456", To: "4422", Ref: 1, Total: 2, Seq: 2, Text: "x", Received: t0},
		{Operator: "magti", From: "995599000000", To: "4422", Ref: 1, Total: 2, Seq: 2, Text: "x", Received: t0},
		{Operator: "magti", From: "995599123456", To: "4423", Ref: 1, Total: 2, Seq: 2, Text: "x", Received: t0},
		part(2, 2, 2, "x", 0),
		part(1, 3, 2, "x", 0),
	}
	for _, p := range other {
		if m, err := r.Add(ctx, p); err != nil || m != nil {
			t.Fatalf("%+v completed %+v, %v", p, m, err)
		}
	}
	m, err := r.Add(ctx, part(1, 2, 2, "b", 0))
	if err != nil || m == nil || m.Text != "ab" {
		t.Fatalf("got %+v, %v", m, err)
	}
}

func TestReassemblerSweep(t *testing.T) {
	ctx := context.Background()
	store := NewMemStore()
	r := NewReassembler(store, 10*time.Minute, ReassemblerOptions{Keywords: KeywordSet([]string{"VOTE"}), SweepBatch: 2})
	adds := []MOPart{
		part(7, 4, 4, " four", 2*time.Minute),
		part(7, 4, 1, "vote one", 0),
		part(7, 4, 3, " three", time.Minute),
		part(8, 3, 2, "second of 8", 30*time.Second),
		part(9, 2, 1, "young", 5*time.Minute),
	}
	for _, p := range adds {
		if m, err := r.Add(ctx, p); err != nil || m != nil {
			t.Fatalf("add: %+v, %v", m, err)
		}
	}
	got, err := r.Sweep(ctx, t0.Add(10*time.Minute)) // nothing older than the timeout yet
	if err != nil || len(got) != 0 {
		t.Fatalf("early sweep: %+v, %v", got, err)
	}
	got, err = r.Sweep(ctx, t0.Add(10*time.Minute+31*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	want := []MO{
		{Operator: "magti", From: "995599123456", To: "4422", Text: "vote one three four", Parts: 4, Keyword: "VOTE",
			ReceivedAt: t0.Add(2 * time.Minute), Incomplete: true, PartsMissing: []int{2}, GroupKey: "magti|995599123456|4422|7|4"},
		{Operator: "magti", From: "995599123456", To: "4422", Text: "second of 8", Parts: 3,
			ReceivedAt: t0.Add(30 * time.Second), Incomplete: true, PartsMissing: []int{1, 3}, GroupKey: "magti|995599123456|4422|8|3"},
	}
	if len(got) != len(want) {
		t.Fatalf("swept %d, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !moEqual(got[i], want[i]) {
			t.Errorf("swept[%d] = %+v\nwant %+v", i, got[i], want[i])
		}
		if err := r.Done(ctx, &got[i]); err != nil {
			t.Fatal(err)
		}
	}
	if store.Len() != 1 {
		t.Fatalf("%d groups left, want the young one", store.Len())
	}
	// The batch limit holds.
	for ref := uint16(100); ref < 105; ref++ {
		if _, err := r.Add(ctx, part(ref, 2, 1, "x", 0)); err != nil {
			t.Fatal(err)
		}
	}
	got, err = r.Sweep(ctx, t0.Add(time.Hour))
	if err != nil || len(got) != 2 {
		t.Fatalf("batch: %d messages, %v", len(got), err)
	}
}

// TestReassemblerSweepRecoversCompleted: a group completed but never Done
// (crash before publishing) comes back from Sweep as a whole message.
func TestReassemblerSweepRecoversCompleted(t *testing.T) {
	ctx := context.Background()
	r := NewReassembler(NewMemStore(), time.Minute, ReassemblerOptions{})
	if _, err := r.Add(ctx, part(5, 2, 2, "lo", 0)); err != nil {
		t.Fatal(err)
	}
	if m, err := r.Add(ctx, part(5, 2, 1, "hel", 0)); err != nil || m == nil {
		t.Fatalf("%+v, %v", m, err)
	}
	got, err := r.Sweep(ctx, t0.Add(2*time.Minute))
	if err != nil || len(got) != 1 || got[0].Incomplete || got[0].Text != "hello" || got[0].PartsMissing != nil {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestReassemblerBadParts(t *testing.T) {
	r := NewReassembler(NewMemStore(), time.Minute, ReassemblerOptions{})
	for _, p := range []MOPart{part(1, 3, 0, "x", 0), part(1, 3, 4, "x", 0), {Total: 2, Seq: 1}} {
		if _, err := r.Add(context.Background(), p); !errors.Is(err, ErrBadPart) {
			t.Errorf("%+v: err = %v, want ErrBadPart", p, err)
		}
	}
}

type failStore struct{ Store }

var errStoreDown = errors.New("store down")

func (failStore) AddPart(context.Context, MOPart) ([]MOPart, bool, error) {
	return nil, false, errStoreDown
}
func (failStore) Remove(context.Context, string) error { return errStoreDown }
func (failStore) Expired(context.Context, time.Time, int) ([][]MOPart, error) {
	return nil, errStoreDown
}

func TestReassemblerStoreErrors(t *testing.T) {
	ctx := context.Background()
	r := NewReassembler(failStore{}, time.Minute, ReassemblerOptions{})
	if _, err := r.Add(ctx, part(1, 2, 1, "x", 0)); !errors.Is(err, errStoreDown) {
		t.Errorf("Add: %v", err)
	}
	if _, err := r.Sweep(ctx, t0); !errors.Is(err, errStoreDown) {
		t.Errorf("Sweep: %v", err)
	}
	if err := r.Done(ctx, &MO{GroupKey: "g"}); !errors.Is(err, errStoreDown) {
		t.Errorf("Done: %v", err)
	}
	if err := r.Done(ctx, &MO{}); err != nil {
		t.Errorf("Done of single part touched the store: %v", err)
	}
}

// TestReassemblerConcurrent: parts and duplicates added from many
// goroutines (binds) complete the message exactly once.
func TestReassemblerConcurrent(t *testing.T) {
	ctx := context.Background()
	r := NewReassembler(NewMemStore(), time.Minute, ReassemblerOptions{})
	const total = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done []*MO
	)
	for copyN := 0; copyN < 3; copyN++ {
		for seq := uint8(1); seq <= total; seq++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m, err := r.Add(ctx, part(77, total, seq, string(rune('a'+seq-1)), 0))
				if err != nil {
					t.Error(err)
				}
				if m != nil {
					mu.Lock()
					done = append(done, m)
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if len(done) != 1 || done[0].Text != "abcdefgh" {
		t.Fatalf("completed %d times: %+v", len(done), done)
	}
}

func FuzzReassembler(f *testing.F) {
	f.Add([]byte{3, 3, 1, 2})
	f.Add([]byte{2, 1, 1, 1, 2, 2})
	f.Add([]byte{255, 0, 7, 7, 7, 3})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		total := uint8(2)
		if len(b) > 0 {
			total = 2 + b[0]%9
			b = b[1:]
		}
		// Arrival order from the input (duplicates allowed), then any part
		// not seen yet, so the message is complete at the end.
		var order []uint8
		seen := map[uint8]bool{}
		for _, c := range b {
			s := 1 + c%total
			order = append(order, s)
			seen[s] = true
		}
		for s := uint8(1); s <= total; s++ {
			if !seen[s] {
				order = append(order, s)
			}
		}
		ctx := context.Background()
		store := NewMemStore()
		r := NewReassembler(store, time.Hour, ReassemblerOptions{})
		var got []*MO
		for i, s := range order {
			m, err := r.Add(ctx, part(1, total, s, "<"+string(rune('A'+s))+">", time.Duration(i)))
			if err != nil {
				t.Fatal(err)
			}
			if m != nil {
				got = append(got, m)
				if err := r.Done(ctx, m); err != nil {
					t.Fatal(err)
				}
			}
		}
		if len(got) != 1 {
			t.Fatalf("order %v: %d messages", order, len(got))
		}
		var want strings.Builder
		for s := uint8(1); s <= total; s++ {
			want.WriteString("<" + string(rune('A'+s)) + ">")
		}
		if got[0].Text != want.String() || got[0].Incomplete || got[0].Parts != int(total) {
			t.Fatalf("order %v: %+v", order, got[0])
		}
		if store.Len() != 0 {
			t.Fatalf("order %v: %d groups left", order, store.Len())
		}
	})
}

func moEqual(a, b MO) bool {
	return a.Operator == b.Operator && a.From == b.From && a.To == b.To && a.Text == b.Text &&
		a.Parts == b.Parts && a.Keyword == b.Keyword && a.ReceivedAt.Equal(b.ReceivedAt) &&
		a.Incomplete == b.Incomplete && slices.Equal(a.PartsMissing, b.PartsMissing) && a.GroupKey == b.GroupKey
}
