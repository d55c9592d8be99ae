package timewin

import (
	"strings"
	"testing"
	"time"
)

func mustWeekly(t *testing.T, s string) Weekly {
	t.Helper()
	w, err := ParseWeekly(s)
	if err != nil {
		t.Fatalf("ParseWeekly(%q): %v", s, err)
	}
	return w
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestWeeklyContains(t *testing.T) {
	// 2026-12-07 is a Monday.
	cases := []struct {
		spec string
		at   string
		want bool
	}{
		{"Mon-Fri 08:00-20:00", "2026-12-07T08:00:00Z", true},
		{"Mon-Fri 08:00-20:00", "2026-12-07T07:59:59Z", false},
		{"Mon-Fri 08:00-20:00", "2026-12-07T19:59:59Z", true},
		{"Mon-Fri 08:00-20:00", "2026-12-07T20:00:00Z", false},
		{"Mon-Fri 08:00-20:00", "2026-12-11T12:00:00Z", true},  // Friday
		{"Mon-Fri 08:00-20:00", "2026-12-12T12:00:00Z", false}, // Saturday
		{"mon-fri 08:00-20:00, sat 10:00-14:00", "2026-12-12T10:30:00Z", true},
		{"Mon-Fri 08:00-20:00, Sat 10:00-14:00", "2026-12-13T10:30:00Z", false}, // Sunday
		// Past midnight: Friday 22:00 to Saturday 06:00.
		{"Fri 22:00-06:00", "2026-12-11T23:00:00Z", true},
		{"Fri 22:00-06:00", "2026-12-12T05:59:00Z", true},
		{"Fri 22:00-06:00", "2026-12-12T06:00:00Z", false},
		{"Fri 22:00-06:00", "2026-12-11T05:00:00Z", false}, // Friday morning: Thursday has no range
		// Past the end of the week: Sunday night into Monday.
		{"Sun 22:00-02:00", "2026-12-07T01:00:00Z", true},
		{"Sun 22:00-02:00", "2026-12-13T22:30:00Z", true},
		{"Sun 22:00-02:00", "2026-12-08T01:00:00Z", false},
		// Wrapping day span.
		{"Fri-Mon 09:00-10:00", "2026-12-13T09:30:00Z", true},  // Sunday
		{"Fri-Mon 09:00-10:00", "2026-12-08T09:30:00Z", false}, // Tuesday
		// Whole days, every day, 24:00.
		{"Sat-Sun", "2026-12-12T00:00:00Z", true},
		{"Sat-Sun", "2026-12-13T23:59:59Z", true},
		{"Sat-Sun", "2026-12-14T00:00:00Z", false},
		{"22:00-24:00", "2026-12-09T23:59:00Z", true},
		{"22:00-24:00", "2026-12-10T00:00:00Z", false},
		{"00:00-24:00", "2026-12-10T13:00:00Z", true},
		// Time zone: 08:00-20:00 in Tbilisi (UTC+4, no DST) is 04:00-16:00 UTC.
		{"Mon-Fri 08:00-20:00 Asia/Tbilisi", "2026-12-07T04:00:00Z", true},
		{"Mon-Fri 08:00-20:00 Asia/Tbilisi", "2026-12-07T03:59:00Z", false},
		{"Mon-Fri 08:00-20:00 Asia/Tbilisi", "2026-12-07T16:00:00Z", false},
		// Monday 02:00 in Tbilisi is Sunday 22:00 UTC.
		{"Mon 00:00-03:00 Asia/Tbilisi", "2026-12-06T22:00:00Z", true},
	}
	for _, c := range cases {
		w := mustWeekly(t, c.spec)
		if got := w.Contains(utc(c.at)); got != c.want {
			t.Errorf("%q contains %s = %v, want %v", c.spec, c.at, got, c.want)
		}
	}
	var zero Weekly
	if !zero.Contains(time.Now()) || !zero.IsZero() {
		t.Error("the zero Weekly must contain every time")
	}
}

// DST: a schedule follows the local wall clock on the days the clock
// changes (Europe/Berlin: 2026-03-29 02:00 → 03:00, 2026-10-25 03:00 → 02:00).
func TestWeeklyDST(t *testing.T) {
	w := mustWeekly(t, "Sun 08:00-20:00 Europe/Berlin")
	// Spring forward: CEST (UTC+2) from 01:00 UTC; 08:00 local = 06:00 UTC.
	if !w.Contains(utc("2026-03-29T06:00:00Z")) || w.Contains(utc("2026-03-29T05:59:00Z")) {
		t.Error("spring-forward Sunday: want open from 06:00 UTC (08:00 CEST)")
	}
	if !w.Contains(utc("2026-03-29T17:59:00Z")) || w.Contains(utc("2026-03-29T18:00:00Z")) {
		t.Error("spring-forward Sunday: want closed from 18:00 UTC (20:00 CEST)")
	}
	// Fall back: CET (UTC+1) from 01:00 UTC; 08:00 local = 07:00 UTC.
	if !w.Contains(utc("2026-10-25T07:00:00Z")) || w.Contains(utc("2026-10-25T06:59:00Z")) {
		t.Error("fall-back Sunday: want open from 07:00 UTC (08:00 CET)")
	}
	// A range inside the skipped hour: 02:00-03:00 local does not exist on
	// 2026-03-29, so the range is empty that day; Next moves to the next week.
	gap := mustWeekly(t, "Sun 02:00-03:00 Europe/Berlin")
	for m := 0; m < 180; m++ {
		at := utc("2026-03-29T00:00:00Z").Add(time.Duration(m) * time.Minute)
		if gap.Contains(at) {
			t.Fatalf("skipped hour: open at %s (%s local)", at, at.In(gap.Location()))
		}
	}
	next := gap.Next(utc("2026-03-29T00:00:00Z"))
	if want := utc("2026-04-05T00:00:00Z"); !next.Equal(want) { // 02:00 CEST
		t.Errorf("Next over the skipped hour = %s, want %s", next, want)
	}
	// A range that starts in the skipped hour opens at the first minute
	// that exists: 02:30-04:00 → 03:00 CEST = 01:00 UTC.
	late := mustWeekly(t, "Sun 02:30-04:00 Europe/Berlin")
	if next := late.Next(utc("2026-03-29T00:10:00Z")); !next.Equal(utc("2026-03-29T01:00:00Z")) {
		t.Errorf("Next into a range starting in the skipped hour = %s, want 01:00 UTC", next)
	}
	// The repeated hour on fall-back: 02:00-03:00 local happens twice, both open.
	rep := mustWeekly(t, "Sun 02:00-03:00 Europe/Berlin")
	if !rep.Contains(utc("2026-10-25T00:30:00Z")) || !rep.Contains(utc("2026-10-25T01:30:00Z")) || rep.Contains(utc("2026-10-25T02:00:00Z")) {
		t.Error("repeated hour: want open in both 02:00-03:00 local hours only")
	}
}

func TestWeeklyNext(t *testing.T) {
	w := mustWeekly(t, "Mon-Fri 08:00-20:00")
	cases := []struct{ at, want string }{
		{"2026-12-07T09:00:00Z", "2026-12-07T09:00:00Z"}, // open: itself
		{"2026-12-07T07:00:30Z", "2026-12-07T08:00:00Z"},
		{"2026-12-07T20:00:00Z", "2026-12-08T08:00:00Z"},
		{"2026-12-11T21:00:00Z", "2026-12-14T08:00:00Z"}, // Friday night → Monday
		{"2026-12-13T23:59:59Z", "2026-12-14T08:00:00Z"},
	}
	for _, c := range cases {
		if got := w.Next(utc(c.at)); !got.Equal(utc(c.want)) {
			t.Errorf("Next(%s) = %s, want %s", c.at, got, c.want)
		}
	}
	tz := mustWeekly(t, "Sat 10:00-11:00 America/New_York")
	at := utc("2026-11-01T12:00:00Z") // Sunday, the day New York falls back
	got := tz.Next(at)
	if want := utc("2026-11-07T15:00:00Z"); !got.Equal(want) { // EST = UTC-5
		t.Errorf("Next across the fall-back = %s, want %s", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	cases := map[string]string{
		"":                              "empty",
		"Mon-Fry 08:00-20:00":           `unknown day`,
		"Mon-Fri 8:00-20:00":            "HH:MM-HH:MM",
		"Mon-Fri 08:00-25:00":           "HH:MM-HH:MM",
		"Mon-Fri 08:60-20:00":           "HH:MM-HH:MM",
		"Mon-Fri 24:00-02:00":           "HH:MM-HH:MM",
		"Mon-Fri 08:00-08:00":           "start and end are equal",
		"Mon-Fri 08:00-20:00,":          "range 2: empty",
		"Mon-Fri 08:00-20:00 Mars/Base": `unknown time zone "Mars/Base"`,
		"Mon-Fri 08:00-20:00 Local":     `"Local" is not allowed`,
		"Mon Tue 08:00-20:00":           "want [days] HH:MM-HH:MM",
		"Europe/Berlin":                 "empty",
		"Mon 08:00":                     "HH:MM-HH:MM",
		strings.Repeat("Mon,", 70):      "more than 64 ranges",
	}
	for in, want := range cases {
		_, err := ParseWeekly(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseWeekly(%q) = %v, want an error containing %q", in, err, want)
		}
	}
	for in, want := range map[string]string{
		"2026-12-25T02:00:00Z/2026-12-24T22:00:00Z": "not before the end",
		"2026-12-24T22:00:00/2026-12-25T02:00:00Z":  "RFC 3339",
		"2026-12-24T22:00:00Z/tomorrow":             "RFC 3339",
	} {
		_, err := ParseWindow(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseWindow(%q) = %v, want an error containing %q", in, err, want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for in, canon := range map[string]string{
		"mon-fri 08:00-20:00":                       "Mon-Fri 08:00-20:00",
		" Mon-Fri  08:00-12:00 ,sat  Europe/Berlin": "Mon-Fri 08:00-12:00, Sat Europe/Berlin",
		"22:00-06:00 UTC":                           "22:00-06:00",
		"00:00-24:00":                               "00:00-24:00",
		"Fri-Mon":                                   "Fri-Mon",
		"Sun 23:00-24:00 Asia/Tbilisi":              "Sun 23:00-24:00 Asia/Tbilisi",
	} {
		w := mustWeekly(t, in)
		if w.String() != canon {
			t.Errorf("%q prints %q, want %q", in, w.String(), canon)
		}
		back := mustWeekly(t, w.String())
		if back.String() != canon {
			t.Errorf("%q reprints %q", canon, back.String())
		}
	}
	w, err := ParseWindow("2026-12-24T22:00:00Z/2026-12-25T02:00:00+01:00")
	if err != nil {
		t.Fatal(err)
	}
	if w.String() != "2026-12-24T22:00:00Z/2026-12-25T02:00:00+01:00" {
		t.Errorf("interval prints %q", w.String())
	}
}

func TestWindow(t *testing.T) {
	abs, err := ParseWindow("2026-12-24T22:00:00Z/2026-12-25T02:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	if !abs.Contains(utc("2026-12-24T22:00:00Z")) || !abs.Contains(utc("2026-12-25T01:59:59Z")) ||
		abs.Contains(utc("2026-12-25T02:00:00Z")) || abs.Contains(utc("2026-12-24T21:59:59Z")) {
		t.Error("interval bounds: want [from, to)")
	}
	if end, ok := abs.End(utc("2026-12-24T23:00:00Z")); !ok || !end.Equal(utc("2026-12-25T02:00:00Z")) {
		t.Errorf("End = %s %v", end, ok)
	}
	if _, ok := abs.End(utc("2026-12-25T03:00:00Z")); ok {
		t.Error("End outside the window: want ok=false")
	}
	wk, err := ParseWindow("Sun 02:00-04:00")
	if err != nil {
		t.Fatal(err)
	}
	if !wk.Contains(utc("2026-12-13T03:00:00Z")) || wk.Contains(utc("2026-12-13T04:00:00Z")) {
		t.Error("weekly window")
	}
	if end, ok := wk.End(utc("2026-12-13T03:00:00Z")); !ok || !end.Equal(utc("2026-12-13T04:00:00Z")) {
		t.Errorf("weekly End = %s %v", end, ok)
	}
	var zero Window
	if zero.Contains(time.Now()) {
		t.Error("the zero Window must contain nothing")
	}
}

func TestContainsDoesNotAllocate(t *testing.T) {
	w := mustWeekly(t, "Mon-Fri 08:00-12:00, Mon-Fri 13:00-18:00 Europe/Berlin")
	win, _ := ParseWindow("Sun 02:00-04:00 Asia/Tbilisi")
	at := time.Now()
	if n := testing.AllocsPerRun(1000, func() { _ = w.Contains(at); _ = win.Contains(at) }); n != 0 {
		t.Errorf("Contains allocates %.1f times", n)
	}
}

func BenchmarkWeeklyContains(b *testing.B) {
	w, _ := ParseWeekly("Mon-Fri 08:00-12:00, Mon-Fri 13:00-18:00, Sat 10:00-14:00 Europe/Berlin")
	at := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		_ = w.Contains(at)
	}
}
