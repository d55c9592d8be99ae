package correlate

import (
	"testing"
	"time"
)

func msgWithParts(op string, keys ...string) *Msg {
	m := &Msg{ID: "m", Operator: op}
	for i, k := range keys {
		m.Parts = append(m.Parts, &Part{Msg: m, Part: int16(i + 1), Key: k})
	}
	return m
}

// Parts are found by operator and key; a final message's parts leave at
// once; age and count bound the rest; an old entry's eviction never drops
// a later part filed under the same (reused) key.
func TestIndex(t *testing.T) {
	now := time.Now()
	x := New(3, time.Minute)
	a := msgWithParts("op1", "k1", "k2")
	for _, p := range a.Parts {
		x.Add(p, now)
	}
	if p := x.Lookup("op1", []string{"zz", "k2"}); p != a.Parts[1] {
		t.Fatalf("lookup by the second key: %v", p)
	}
	if p := x.Lookup("op2", []string{"k1"}); p != nil {
		t.Fatalf("another operator's key matched: %v", p)
	}
	x.Remove(a)
	if x.Len() != 0 || x.Lookup("op1", []string{"k1"}) != nil {
		t.Fatalf("final message still held: %d", x.Len())
	}

	// Key k1 reused by a later message: evicting the first entry (by age)
	// keeps the later part.
	b := msgWithParts("op1", "k1")
	x.Add(b.Parts[0], now.Add(30*time.Second))
	c := msgWithParts("op1", "k3")
	x.Add(c.Parts[0], now.Add(61*time.Second)) // evicts entries older than a minute
	if p := x.Lookup("op1", []string{"k1"}); p != b.Parts[0] {
		t.Fatalf("the later part under a reused key was evicted: %v", p)
	}
	// Count bound: at most 3 parts.
	for i, k := range []string{"k4", "k5", "k6"} {
		x.Add(msgWithParts("op1", k).Parts[0], now.Add(time.Duration(62+i)*time.Second))
	}
	if n := x.Len(); n > 3 {
		t.Fatalf("holds %d parts, bound 3", n)
	}
	if x.Lookup("op1", []string{"k6"}) == nil {
		t.Fatal("the newest part was evicted")
	}
}

func TestStoredKey(t *testing.T) {
	for in, want := range map[string]string{"ab12": "ab12", "a\x00b": "~x610062", "~xff": "~x7e786666", "\xff": "~xff"} {
		if got := StoredKey(in); got != want {
			t.Errorf("StoredKey(%q) = %q, want %q", in, got, want)
		}
	}
}
