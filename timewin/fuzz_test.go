package timewin

import (
	"testing"
	"time"
)

// FuzzParseWindow: no input panics; an accepted window prints to a form
// that parses back to the same form and the same membership; Next returns
// a time at or after its argument that the schedule contains.
func FuzzParseWindow(f *testing.F) {
	for _, s := range []string{
		"Mon-Fri 08:00-20:00", "Mon-Fri 08:00-12:00, Sat 10:00-14:00 Europe/Berlin", "Fri 22:00-06:00",
		"Sun 22:00-02:00 America/New_York", "Sat-Sun", "00:00-24:00", "2026-12-24T22:00:00Z/2026-12-25T02:00:00Z",
		"Sun 02:30-04:00 Europe/Berlin", "mon-fri 08:00-20:00,", "Mon 24:00-01:00", "Local", "Fri-Mon UTC",
	} {
		f.Add(s, int64(1796000000))
	}
	f.Fuzz(func(t *testing.T, s string, unix int64) {
		w, err := ParseWindow(s)
		if err != nil {
			return
		}
		at := time.Unix(unix%(1<<34), 0).UTC() // years 1970 to ~2514
		back, err := ParseWindow(w.String())
		if err != nil {
			t.Fatalf("%q prints %q, which does not parse: %v", s, w.String(), err)
		}
		if back.String() != w.String() {
			t.Fatalf("%q prints %q, then %q", s, w.String(), back.String())
		}
		for _, d := range []time.Duration{0, 17 * time.Minute, 5 * time.Hour, 61 * time.Hour} {
			if w.Contains(at.Add(d)) != back.Contains(at.Add(d)) {
				t.Fatalf("%q and its printed form %q differ at %s", s, w.String(), at.Add(d))
			}
		}
		if _, _, abs := w.Absolute(); abs {
			return
		}
		n := w.weekly.Next(at)
		if n.Before(at) || !w.weekly.Contains(n) {
			t.Fatalf("%q: Next(%s) = %s: before it or not in the schedule", s, at, n)
		}
		if n.Sub(at) > 8*24*time.Hour {
			t.Fatalf("%q: Next(%s) = %s: more than a week ahead", s, at, n)
		}
	})
}
