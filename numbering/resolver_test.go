package numbering

import (
	"strings"
	"testing"
	"time"
)

// The order: ported, then lookup (cache, then the service), then range,
// then none.
func TestResolveOrder(t *testing.T) {
	h := &hlr{answers: map[string]string{
		"995599000002": `{"mcc":"282","mnc":"07"}`,
		"995599000001": `{"mcc":"282","mnc":"08"}`, // also ported: never asked
	}}
	r, lk := newLookupResolver(t, h, LookupConfig{})
	if err := r.ported.Put(PortedRow{"995599000001", "282", "05"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		number, want string
		src          Source
	}{
		{"995599000001", "28205", SourcePorted},
		{"995599000002", "28207", SourceLookup},
		{"995599100003", "28202", SourceRange}, // lookup 404
		{"4915112345678", "", SourceNone},      // lookup 404, no range
		{"99559900000x", "", SourceNone},       // not digits: nothing asked
		{"+", "", SourceNone},
	} {
		n, src := r.Resolve(tc.number)
		if n.MCCMNC != tc.want || src != tc.src {
			t.Errorf("Resolve(%q) = %q %v, want %q %v", tc.number, n.MCCMNC, src, tc.want, tc.src)
		}
	}
	if c := h.calls.Load(); c != 3 {
		t.Errorf("%d lookups, want 3 (not for ported or malformed numbers)", c)
	}
	if got := r.Counts(); got != [4]uint64{3, 1, 1, 1} {
		t.Errorf("Counts = %v", got)
	}
	if s := lk.Stats(); s.Misses != 3 {
		t.Errorf("lookup stats %+v", s)
	}
	for _, s := range []Source{SourceNone, SourcePorted, SourceLookup, SourceRange} {
		if s.String() == "" || (s != SourceNone && s.String() == "none") {
			t.Errorf("Source(%d).String() = %q", s, s)
		}
	}
}

func TestResolveWithoutStages(t *testing.T) {
	reg := NewRegistry()
	r := NewResolver(reg, nil, nil, nil)
	if n, src := r.Resolve("995599123456"); src != SourceNone || n != (Network{}) {
		t.Errorf("empty resolver: %v %v", n, src)
	}
	rt, err := LoadRanges(strings.NewReader(sampleRanges), reg, 0)
	if err != nil {
		t.Fatal(err)
	}
	r.SetRanges(rt) // a reload takes effect on the next call
	if n, src := r.Resolve("995599123456"); src != SourceRange || n.MCCMNC != "28202" {
		t.Errorf("after SetRanges: %v %v", n, src)
	}
}

// Cached numbers (ported, lookup cache, range) do not allocate.
func TestResolveNoAlloc(t *testing.T) {
	h := &hlr{answers: map[string]string{"995599000002": `{"mcc":"282","mnc":"07"}`}}
	r, _ := newLookupResolver(t, h, LookupConfig{})
	if err := r.ported.Put(PortedRow{"995599000001", "282", "05"}); err != nil {
		t.Fatal(err)
	}
	r.Resolve("995599000002") // now in the answer cache
	r.Resolve("995599000003") // 404: "no network" cached, range decides
	for _, num := range []string{"995599000001", "995599000002", "995599000003"} {
		if a := testing.AllocsPerRun(1000, func() { r.Resolve(num) }); a != 0 {
			t.Errorf("Resolve(%s) allocates %v", num, a)
		}
	}
	if c := h.calls.Load(); c != 2 {
		t.Errorf("%d lookups, want 2", c)
	}
}

// ResolveNoWait never waits for the service: the range table decides, and
// the answer, once in, serves the next call.
func TestResolveNoWait(t *testing.T) {
	h := &hlr{release: make(chan struct{}), answers: map[string]string{"995599123456": `{"mcc":"282","mnc":"04"}`}}
	r, lk := newLookupResolver(t, h, LookupConfig{Timeout: time.Hour})
	id, src := r.ResolveNoWait("995599123456") // the service is held: a wait would hang the test
	if src != SourceRange || r.Registry().Network(id).MCCMNC != "28202" {
		t.Fatalf("first call: %v %v, want range 28202", r.Registry().Network(id), src)
	}
	close(h.release)
	deadline := time.Now().Add(5 * time.Second)
	for lk.Stats().Answered == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no answer: %+v", lk.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if id, src := r.ResolveNoWait("995599123456"); src != SourceLookup || r.Registry().Network(id).MCCMNC != "28204" {
		t.Fatalf("second call: %v %v", r.Registry().Network(id), src)
	}
	if s := lk.Stats(); s.Timeouts != 0 || s.Late != 0 {
		t.Errorf("a no-wait call counted as waiting: %+v", s)
	}
}
