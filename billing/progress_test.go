package billing

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func newTestProgress(out *bytes.Buffer, term bool, total int64) (*Progress, *fakeClock) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	p := NewProgressBar(out, term, total)
	p.now = clk.now
	p.start = clk.t
	return p, clk
}

func TestProgressThrottlesRedraws(t *testing.T) {
	var out bytes.Buffer
	p, clk := newTestProgress(&out, true, -1)
	frames := func() int { return strings.Count(out.String(), "\r") }

	clk.t = clk.t.Add(time.Second)
	p.Update(1000) // first update always draws
	if frames() != 1 || !strings.Contains(out.String(), "\r1000 rows, 1000 rows/s") {
		t.Fatalf("first frame %q", out.String())
	}
	clk.t = clk.t.Add(50 * time.Millisecond)
	p.Update(2000)
	if frames() != 1 {
		t.Errorf("redrawn after 50ms: %q", out.String())
	}
	clk.t = clk.t.Add(50 * time.Millisecond)
	p.Update(3000)
	if frames() != 2 {
		t.Errorf("not redrawn after 100ms: %q", out.String())
	}
	p.Done()
	if frames() != 3 || !strings.HasSuffix(out.String(), "\n") || strings.Count(out.String(), "\n") != 1 {
		t.Errorf("Done: %q", out.String())
	}
}

func TestProgressKnownTotal(t *testing.T) {
	var out bytes.Buffer
	p, clk := newTestProgress(&out, true, 200)
	clk.t = clk.t.Add(time.Second)
	p.Update(50)
	if !strings.Contains(out.String(), "\r50/200 rows (25%)") {
		t.Errorf("frame %q", out.String())
	}
	p.Update(200) // reaching the total draws even within the interval
	if !strings.Contains(out.String(), "\r200/200 rows (100%)") {
		t.Errorf("final frame missing: %q", out.String())
	}
	out.Reset()
	p0, _ := newTestProgress(&out, true, 0)
	p0.Update(0)
	if !strings.Contains(out.String(), "0/0 rows (100%)") {
		t.Errorf("empty total: %q", out.String())
	}
}

func TestProgressSilentWhenNotTerminal(t *testing.T) {
	var out bytes.Buffer
	p, clk := newTestProgress(&out, false, 10)
	for i := int64(1); i <= 10; i++ {
		clk.t = clk.t.Add(time.Second)
		p.Update(i)
	}
	p.Done()
	NewProgress(&out, false, -1)(5)
	if out.Len() != 0 {
		t.Errorf("wrote %q", out.String())
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "x"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("regular file reported as terminal")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if IsTerminal(w) {
		t.Error("pipe reported as terminal")
	}
	_ = f.Close()
	if IsTerminal(f) {
		t.Error("closed file reported as terminal")
	}
}
