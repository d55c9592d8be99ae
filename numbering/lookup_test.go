package numbering

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hlr is a test lookup service: answers by number, optional delay.
type hlr struct {
	delay   time.Duration
	answers map[string]string // number → body; missing: 404
	status  int               // if set, every answer has this status
	calls   atomic.Int64
	release chan struct{} // if set, each request waits for it
}

func (h *hlr) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.calls.Add(1)
	if h.release != nil {
		select {
		case <-h.release:
		case <-r.Context().Done():
			return
		}
	}
	if h.delay > 0 {
		select {
		case <-time.After(h.delay):
		case <-r.Context().Done():
			return
		}
	}
	if h.status != 0 {
		w.WriteHeader(h.status)
		return
	}
	body, ok := h.answers[r.URL.Query().Get("number")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	fmt.Fprint(w, body)
}

// newLookupResolver starts a lookup against h (stopped at test end) and a
// resolver with the sample ranges.
func newLookupResolver(t *testing.T, h *hlr, cfg LookupConfig) (*Resolver, *Lookup) {
	t.Helper()
	srv := httptest.NewServer(h)
	reg := NewRegistry()
	rt, err := LoadRanges(strings.NewReader(sampleRanges), reg, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg.URL = srv.URL + "/lookup?number={number}"
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Second
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = time.Hour
	}
	lk, err := NewLookup(cfg, reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- lk.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		srv.Close()
	})
	return NewResolver(reg, rt, NewPortedCache(reg, time.Hour), lk), lk
}

func TestLookupAnswerCached(t *testing.T) {
	h := &hlr{answers: map[string]string{"995599123456": `{"mcc":"282","mnc":"04","imsi":"x"}`}}
	r, lk := newLookupResolver(t, h, LookupConfig{})
	for i := range 3 {
		n, src := r.Resolve("+995599123456")
		if n.MCCMNC != "28204" || src != SourceLookup {
			t.Fatalf("call %d: %v %v, want 28204 lookup", i, n, src)
		}
	}
	if c := h.calls.Load(); c != 1 {
		t.Errorf("%d requests, want 1 (answer cached)", c)
	}
	s := lk.Stats()
	if s.Hits != 2 || s.Misses != 1 || s.Answered != 1 || s.Requests != 1 {
		t.Errorf("stats %+v", s)
	}
}

// A slow service: Resolve gives up at lookup_timeout and the range table
// decides; the late answer is cached and used on the next call.
func TestLookupTimeoutThenLateAnswer(t *testing.T) {
	h := &hlr{delay: 500 * time.Millisecond, answers: map[string]string{"995599123456": `{"mcc":"282","mnc":"04"}`}}
	r, lk := newLookupResolver(t, h, LookupConfig{Timeout: 30 * time.Millisecond})
	n, src := r.Resolve("995599123456")
	if src != SourceRange || n.MCCMNC != "28202" {
		t.Fatalf("first call: %v %v, want the range table's 28202", n, src)
	}
	if s := lk.Stats(); s.Timeouts != 1 {
		t.Errorf("timeouts %d, want 1", s.Timeouts)
	}
	deadline := time.Now().Add(5 * time.Second)
	for lk.Stats().Late == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("late answer never arrived: %+v", lk.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	n, src = r.Resolve("995599123456")
	if src != SourceLookup || n.MCCMNC != "28204" {
		t.Fatalf("after the late answer: %v %v, want 28204 lookup", n, src)
	}
	if c := h.calls.Load(); c != 1 {
		t.Errorf("%d requests, want 1", c)
	}
}

func TestLookupFailuresFallBackToRange(t *testing.T) {
	for _, tc := range []struct {
		name    string
		h       *hlr
		counter func(LookupStats) uint64
		cached  bool // a second call makes no request
	}{
		{"500", &hlr{status: 500}, func(s LookupStats) uint64 { return s.Errors }, false},
		{"not json", &hlr{answers: map[string]string{"995599123456": `<html>`}}, func(s LookupStats) uint64 { return s.Errors }, false},
		{"bad mnc", &hlr{answers: map[string]string{"995599123456": `{"mcc":"282","mnc":"4"}`}}, func(s LookupStats) uint64 { return s.Errors }, false},
		{"huge", &hlr{answers: map[string]string{"995599123456": `{"mcc":"282","mnc":"04","x":"` + strings.Repeat("a", 5000) + `"}`}}, func(s LookupStats) uint64 { return s.Errors }, false},
		{"404", &hlr{}, func(s LookupStats) uint64 { return s.Empty }, true},
		{"empty answer", &hlr{answers: map[string]string{"995599123456": `{}`}}, func(s LookupStats) uint64 { return s.Empty }, true},
		{"empty fields", &hlr{answers: map[string]string{"995599123456": `{"mcc":"","mnc":""}`}}, func(s LookupStats) uint64 { return s.Empty }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, lk := newLookupResolver(t, tc.h, LookupConfig{})
			for i := range 2 {
				n, src := r.Resolve("995599123456")
				if src != SourceRange || n.MCCMNC != "28202" {
					t.Fatalf("call %d: %v %v, want range 28202", i, n, src)
				}
			}
			if got := tc.counter(lk.Stats()); got < 1 {
				t.Errorf("counter not moved: %+v", lk.Stats())
			}
			want := int64(2)
			if tc.cached {
				want = 1
			}
			if c := tc.h.calls.Load(); c != want {
				t.Errorf("%d requests, want %d", c, want)
			}
			if (lk.Stats().Errors > 0) != (lk.LastError() != nil) {
				t.Errorf("LastError %v with stats %+v", lk.LastError(), lk.Stats())
			}
		})
	}
}

// Past Workers in flight and Queue waiting, lookups are dropped (counted)
// and the range table answers at once; callers for a number already being
// looked up join that lookup.
func TestLookupBoundedQueue(t *testing.T) {
	h := &hlr{release: make(chan struct{}), answers: map[string]string{}}
	r, lk := newLookupResolver(t, h, LookupConfig{Workers: 1, Queue: 1, Timeout: 200 * time.Millisecond})
	var wg sync.WaitGroup
	// Number A occupies the worker, B waits in the queue, C finds it full.
	for i, num := range []string{"995599000001", "995599000002"} {
		wg.Go(func() { r.Resolve(num) })
		deadline := time.Now().Add(2 * time.Second)
		// A: the worker has sent its request; B: it sits in the queue.
		for h.calls.Load() == 0 || (i == 1 && len(lk.queue) == 0) {
			if time.Now().After(deadline) {
				t.Fatal("lookup never started")
			}
			time.Sleep(time.Millisecond)
		}
	}
	if _, src := r.Resolve("995599000003"); src != SourceRange {
		t.Errorf("C: source %v, want range", src)
	}
	if s := lk.Stats(); s.Dropped != 1 {
		t.Errorf("dropped %d, want 1: %+v", s.Dropped, s)
	}
	r.Resolve("995599000001") // joins A's lookup: no new request, no drop
	if s := lk.Stats(); s.Dropped != 1 {
		t.Errorf("joining dropped: %+v", s)
	}
	close(h.release)
	wg.Wait()
}

func TestLookupStoppedDrops(t *testing.T) {
	reg := NewRegistry()
	lk, err := NewLookup(LookupConfig{URL: "http://127.0.0.1:1/x?n={number}", Timeout: time.Second, CacheTTL: time.Hour}, reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := lk.Run(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if id := lk.await(995599123456, "995599123456"); id != 0 {
		t.Errorf("id %d after stop", id)
	}
	if time.Since(start) > 500*time.Millisecond || lk.Stats().Dropped != 1 {
		t.Errorf("a stopped lookup waited or did not count: %+v", lk.Stats())
	}
	if err := lk.Run(context.Background()); err == nil {
		t.Error("second Run accepted")
	}
}

func TestNewLookupChecks(t *testing.T) {
	for _, cfg := range []LookupConfig{
		{URL: "http://hlr/lookup", Timeout: time.Second, CacheTTL: time.Hour},          // no placeholder
		{URL: "ftp://hlr/{number}", Timeout: time.Second, CacheTTL: time.Hour},         // scheme
		{URL: "http:///{number}", Timeout: time.Second, CacheTTL: time.Hour},           // host
		{URL: "http://hlr/{number}", CacheTTL: time.Hour},                              // timeout
		{URL: "http://hlr/{number}", Timeout: time.Second, CacheTTL: time.Millisecond}, // ttl
	} {
		if _, err := NewLookup(cfg, NewRegistry()); err == nil {
			t.Errorf("NewLookup(%+v) accepted", cfg)
		}
	}
}

// Answers expire after cache_ttl (whole seconds).
func TestLookupCacheExpiry(t *testing.T) {
	c := newLookupCache(16)
	c.put(1, 5, 100)
	if id, ok := c.get(1, 99); !ok || id != 5 {
		t.Errorf("fresh: %d %v", id, ok)
	}
	if _, ok := c.get(1, 100); ok {
		t.Error("expired answer returned")
	}
	c.put(1, 6, 200) // a new answer replaces it
	if id, ok := c.get(1, 150); !ok || id != 6 {
		t.Errorf("renewed: %d %v", id, ok)
	}
}

// Over capacity the cache rotates: the previous generation stays readable,
// the one before is dropped.
func TestLookupCacheRotation(t *testing.T) {
	c := newLookupCache(8) // 16 slots, 12 entries per generation
	for k := range uint64(30) {
		c.put(k+1, NetID(k%5+1), 1000)
	}
	if c.rotations.Load() != 2 {
		t.Fatalf("rotations %d, want 2", c.rotations.Load())
	}
	for k := range uint64(30) {
		id, ok := c.get(k+1, 1)
		if want := k >= 12; ok != want || (ok && id != NetID(k%5+1)) {
			t.Errorf("key %d: %d %v, want present=%v", k+1, id, ok, want)
		}
	}
}

func FuzzDecodeAnswer(f *testing.F) {
	for _, s := range []string{`{"mcc":"282","mnc":"01"}`, `{}`, `null`, `{"mcc":"282"}`, `{"mcc":282,"mnc":"01"}`, `[1]`, `{"mcc":"282","mnc":"001","x":{"y":[1,2]}}`, `{"mcc":"\u0032\u0038\u0032","mnc":"01"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		mcc, mnc, found, err := decodeAnswer(b)
		if err != nil {
			if found || mcc != "" || mnc != "" {
				t.Fatalf("error %v with an answer %q %q %v", err, mcc, mnc, found)
			}
			return
		}
		if found != (mcc != "") || (found && checkMCCMNC(mcc, mnc) != nil) {
			t.Fatalf("accepted %q %q found=%v", mcc, mnc, found)
		}
	})
}

// Many callers at once, for a few numbers: every answer is right, and the
// in-flight join keeps requests far below calls. Run with -race.
func TestLookupConcurrentCallers(t *testing.T) {
	h := &hlr{delay: 5 * time.Millisecond, answers: map[string]string{}}
	for i := range 20 {
		h.answers[fmt.Sprintf("9955991000%02d", i)] = fmt.Sprintf(`{"mcc":"282","mnc":"%02d"}`, 10+i)
	}
	r, lk := newLookupResolver(t, h, LookupConfig{Workers: 4, Queue: 64})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for k := range 200 {
				i := (g + k) % 20
				n, src := r.Resolve(fmt.Sprintf("9955991000%02d", i))
				if src != SourceLookup || n.MCCMNC != fmt.Sprintf("282%02d", 10+i) {
					t.Errorf("number %d: %v %v", i, n, src)
					return
				}
			}
		})
	}
	wg.Wait()
	if c := h.calls.Load(); c > 40 {
		t.Errorf("%d requests for 20 numbers and 1,600 calls", c)
	}
	if s := lk.Stats(); s.Hits+s.Misses != 1600 || s.Dropped != 0 || s.Errors != 0 {
		t.Errorf("stats %+v", s)
	}
}
