// Package timewin reads and evaluates time windows: weekly schedules on the
// wall clock of a time zone ("Mon-Fri 08:00-20:00, Sat 10:00-14:00
// Europe/Berlin") and absolute intervals
// ("2026-12-24T22:00:00Z/2026-12-25T02:00:00Z").
//
// Evaluation (Contains) does not allocate, so it can sit on the route
// decision's hot path. Weekly schedules follow the local wall clock, which
// makes them DST-safe in the sense people mean: "08:00-20:00" is 08:00 to
// 20:00 local time on every day, also on the days the clock changes; a
// range that starts in the hour a spring-forward skips opens when the
// clock reaches the next minute that belongs to it.
package timewin

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

const (
	minutesPerDay  = 24 * 60
	minutesPerWeek = 7 * minutesPerDay
	// MaxLen bounds a window's text; MaxRanges the comma-separated ranges
	// of a weekly schedule.
	MaxLen    = 1024
	MaxRanges = 64
)

var dayNames = [7]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

// span is [start, end) in minutes since Monday 00:00 local time.
type span struct{ start, end int32 }

// rng is one comma-separated range as written: days fromDay..toDay
// (wrapping past Sunday), minutes [from, to) of each day, to > 1440 when
// the range runs past midnight into the next day.
type rng struct {
	fromDay, toDay int8
	allDays        bool
	from, to       int16 // minutes; to may be ≤ from: past midnight
	allDay         bool
}

// Weekly is a weekly schedule. The zero value is "always": no schedule.
// It is immutable and safe for concurrent use.
type Weekly struct {
	spans  []span // sorted, merged, within [0, minutesPerWeek)
	ranges []rng  // as parsed, for String
	loc    *time.Location
}

// IsZero reports whether w is the zero value (no schedule: always open).
func (w Weekly) IsZero() bool { return w.spans == nil }

// Location is the schedule's time zone (UTC when none was given).
func (w Weekly) Location() *time.Location {
	if w.loc == nil {
		return time.UTC
	}
	return w.loc
}

// ParseWeekly reads a weekly schedule: one or more ranges separated by
// commas, optionally followed by an IANA time zone name (default UTC):
//
//	Mon-Fri 08:00-20:00
//	Mon-Fri 08:00-12:00, Mon-Fri 13:00-18:00, Sat 10:00-14:00 Europe/Berlin
//	22:00-06:00              (every day, past midnight)
//	Sat-Sun                  (whole days)
//
// A range is [days] [HH:MM-HH:MM]: days are Mon..Sun (any case) or a span
// of them, Fri-Mon wrapping past Sunday; no days means every day; no time
// means the whole day. The end may be 24:00; an end before the start runs
// past midnight into the next day (Fri 22:00-06:00 ends Saturday 06:00).
// Start and end must differ. The empty string is an error: use the zero
// Weekly for "always".
func ParseWeekly(s string) (Weekly, error) {
	orig := s
	if len(s) > MaxLen {
		return Weekly{}, fmt.Errorf("window: longer than %d characters", MaxLen)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return Weekly{}, errors.New("window: empty (want e.g. \"Mon-Fri 08:00-20:00\")")
	}
	parts := strings.Split(s, ",")
	if len(parts) > MaxRanges {
		return Weekly{}, fmt.Errorf("window %q: more than %d ranges", orig, MaxRanges)
	}
	w := Weekly{loc: time.UTC}
	for i, p := range parts {
		fields := strings.Fields(p)
		if i == len(parts)-1 && len(fields) > 0 {
			last := fields[len(fields)-1]
			if isZoneName(last) {
				loc, err := loadZone(last)
				if err != nil {
					return Weekly{}, fmt.Errorf("window %q: %w", orig, err)
				}
				w.loc = loc
				fields = fields[:len(fields)-1]
			}
		}
		r, err := parseRange(fields)
		if err != nil {
			return Weekly{}, fmt.Errorf("window %q: range %d: %w", orig, i+1, err)
		}
		w.ranges = append(w.ranges, r)
	}
	w.spans = spansOf(w.ranges)
	return w, nil
}

// isZoneName tells a zone name from a day or time token: it is neither a
// day (span) nor a clock range, and is made of the characters zone names use.
func isZoneName(tok string) bool {
	if _, _, ok := parseDays(tok); ok {
		return false
	}
	if strings.ContainsRune(tok, ':') {
		return false
	}
	if tok == "" || !(tok[0] >= 'A' && tok[0] <= 'Z' || tok[0] >= 'a' && tok[0] <= 'z') {
		return false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '/' || c == '_' || c == '-' || c == '+') {
			return false
		}
	}
	return true
}

func loadZone(name string) (*time.Location, error) {
	if name == "Local" {
		// The host's zone would make the schedule depend on the machine.
		return nil, errors.New("time zone \"Local\" is not allowed: name the zone (e.g. Europe/Berlin)")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	return loc, nil
}

func parseRange(fields []string) (rng, error) {
	r := rng{allDays: true, allDay: true, to: minutesPerDay}
	switch len(fields) {
	case 0:
		return r, errors.New("empty (want [days] HH:MM-HH:MM, e.g. Mon-Fri 08:00-20:00)")
	case 1, 2:
	default:
		return r, fmt.Errorf("%q: want [days] HH:MM-HH:MM, e.g. Mon-Fri 08:00-20:00", strings.Join(fields, " "))
	}
	f := fields
	if a, b, ok := parseDays(f[0]); ok {
		r.fromDay, r.toDay, r.allDays = a, b, false
		f = f[1:]
	} else if len(f) == 2 {
		return r, fmt.Errorf("%q: unknown day (want Mon, Tue, Wed, Thu, Fri, Sat, Sun or a span such as Mon-Fri)", f[0])
	}
	if len(f) == 1 {
		from, to, err := parseClockRange(f[0])
		if err != nil {
			return r, err
		}
		r.from, r.to, r.allDay = from, to, false
	}
	return r, nil
}

// parseDays reads "Mon" or "Mon-Fri" (case-insensitive).
func parseDays(tok string) (from, to int8, ok bool) {
	a, b, span := strings.Cut(tok, "-")
	from, ok = dayIndex(a)
	if !ok {
		return 0, 0, false
	}
	if !span {
		return from, from, true
	}
	to, ok = dayIndex(b)
	return from, to, ok
}

func dayIndex(s string) (int8, bool) {
	if len(s) != 3 {
		return 0, false
	}
	for i, d := range dayNames {
		if strings.EqualFold(s, d) {
			return int8(i), true
		}
	}
	return 0, false
}

// parseClockRange reads HH:MM-HH:MM; the end may be 24:00.
func parseClockRange(tok string) (from, to int16, err error) {
	a, b, ok := strings.Cut(tok, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q: want HH:MM-HH:MM", tok)
	}
	f, okA := clock(a, false)
	t, okB := clock(b, true)
	if !okA || !okB {
		return 0, 0, fmt.Errorf("%q: want HH:MM-HH:MM with HH 00–23 (the end may be 24:00) and MM 00–59", tok)
	}
	if f == t {
		return 0, 0, fmt.Errorf("%q: start and end are equal (for a whole day leave the time out)", tok)
	}
	return f, t, nil
}

// clock reads HH:MM; with end, 24:00 is allowed.
func clock(s string, end bool) (int16, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	h := int16(s[0]-'0')*10 + int16(s[1]-'0')
	m := int16(s[3]-'0')*10 + int16(s[4]-'0')
	if m > 59 || h > 24 || h == 24 && (m != 0 || !end) {
		return 0, false
	}
	return h*60 + m, true
}

// spansOf turns ranges into sorted, merged week-minute spans.
func spansOf(rs []rng) []span {
	var out []span
	add := func(start, end int32) {
		// end may pass the end of the week: wrap to Monday.
		if end > minutesPerWeek {
			out = append(out, span{start, minutesPerWeek}, span{0, end - minutesPerWeek})
			return
		}
		out = append(out, span{start, end})
	}
	for _, r := range rs {
		from, to := int32(r.from), int32(r.to)
		if r.allDay {
			from, to = 0, minutesPerDay
		}
		if to <= from {
			to += minutesPerDay // past midnight
		}
		days := 7
		first := int32(0)
		if !r.allDays {
			first = int32(r.fromDay)
			days = (int(r.toDay)-int(r.fromDay)+7)%7 + 1
		}
		for d := range int32(days) {
			day := (first + d) % 7
			add(day*minutesPerDay+from, day*minutesPerDay+to)
		}
	}
	// Sort (insertion: few spans) and merge overlapping or touching ones.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].start < out[j-1].start; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	merged := out[:0]
	for _, s := range out {
		if n := len(merged); n > 0 && s.start <= merged[n-1].end {
			merged[n-1].end = max(merged[n-1].end, s.end)
			continue
		}
		merged = append(merged, s)
	}
	return merged
}

// weekMinute is t's minute of the week (Monday 00:00 = 0) in loc.
func weekMinute(t time.Time, loc *time.Location) int32 {
	lt := t.In(loc)
	h, m, _ := lt.Clock()
	wd := (int32(lt.Weekday()) + 6) % 7
	return wd*minutesPerDay + int32(h)*60 + int32(m)
}

func (w *Weekly) containsMinute(m int32) bool {
	for _, s := range w.spans {
		if m < s.start {
			return false
		}
		if m < s.end {
			return true
		}
	}
	return false
}

// Contains reports whether t falls in the schedule; the zero Weekly
// contains every time. It does not allocate.
func (w *Weekly) Contains(t time.Time) bool {
	if w.spans == nil {
		return true
	}
	return w.containsMinute(weekMinute(t, w.loc))
}

// Next returns the first time at or after t that the schedule contains: t
// itself when it is open, otherwise the minute the next range starts on
// the local wall clock. The zero Weekly returns t.
func (w *Weekly) Next(t time.Time) time.Time {
	if w.spans == nil || w.Contains(t) {
		return t
	}
	m := weekMinute(t, w.loc)
	// The next span start after m, cyclically.
	next := w.spans[0].start + minutesPerWeek
	for _, s := range w.spans {
		if s.start > m {
			next = s.start
			break
		}
	}
	delta := next - m
	lt := t.In(w.loc)
	y, mo, d := lt.Date()
	h, mi, _ := lt.Clock()
	c := time.Date(y, mo, d, h, mi+int(delta), 0, 0, w.loc)
	if c.After(t) && weekMinute(c, w.loc) == next%minutesPerWeek {
		return c
	}
	// The wall-clock minute does not exist or repeats (a DST change):
	// walk forward a minute at a time; a schedule opens at least weekly.
	c = t.Truncate(time.Minute)
	for range minutesPerWeek + 2*60 {
		c = c.Add(time.Minute)
		if w.Contains(c) {
			return c
		}
	}
	return c
}

// String is the canonical form, which ParseWeekly reads back; "" for the
// zero Weekly.
func (w Weekly) String() string {
	if w.spans == nil {
		return ""
	}
	var b strings.Builder
	for i, r := range w.ranges {
		if i > 0 {
			b.WriteString(", ")
		}
		if !r.allDays {
			b.WriteString(dayNames[r.fromDay])
			if r.toDay != r.fromDay {
				b.WriteByte('-')
				b.WriteString(dayNames[r.toDay])
			}
			if !r.allDay {
				b.WriteByte(' ')
			}
		}
		if !r.allDay {
			fmt.Fprintf(&b, "%02d:%02d-%02d:%02d", r.from/60, r.from%60, r.to/60, r.to%60)
		} else if r.allDays {
			b.WriteString("00:00-24:00")
		}
	}
	if w.loc != nil && w.loc != time.UTC && w.loc.String() != "UTC" {
		b.WriteByte(' ')
		b.WriteString(w.loc.String())
	}
	return b.String()
}

// UnmarshalText reads a schedule (see ParseWeekly); "" is the zero Weekly.
func (w *Weekly) UnmarshalText(b []byte) error {
	if strings.TrimSpace(string(b)) == "" {
		*w = Weekly{}
		return nil
	}
	p, err := ParseWeekly(string(b))
	if err != nil {
		return err
	}
	*w = p
	return nil
}

// MarshalText writes String.
func (w Weekly) MarshalText() ([]byte, error) { return []byte(w.String()), nil }

// Window is a weekly schedule or an absolute interval [From, To). The
// zero Window contains nothing.
type Window struct {
	from, to time.Time
	weekly   Weekly
}

// ParseWindow reads an absolute interval "FROM/TO" (RFC 3339 times, FROM
// before TO) or a weekly schedule (see ParseWeekly).
func ParseWindow(s string) (Window, error) {
	if len(s) > MaxLen {
		return Window{}, fmt.Errorf("window: longer than %d characters", MaxLen)
	}
	t := strings.TrimSpace(s)
	if a, b, ok := strings.Cut(t, "/"); ok && looksLikeDate(a) {
		from, err1 := time.Parse(time.RFC3339, strings.TrimSpace(a))
		to, err2 := time.Parse(time.RFC3339, strings.TrimSpace(b))
		if err1 != nil || err2 != nil {
			return Window{}, fmt.Errorf("window %q: want FROM/TO as RFC 3339 times, e.g. 2026-12-24T22:00:00Z/2026-12-25T02:00:00Z", s)
		}
		if !from.Before(to) {
			return Window{}, fmt.Errorf("window %q: the start is not before the end", s)
		}
		return Window{from: from, to: to}, nil
	}
	w, err := ParseWeekly(t)
	if err != nil {
		return Window{}, err
	}
	return Window{weekly: w}, nil
}

func looksLikeDate(s string) bool {
	s = strings.TrimSpace(s)
	return len(s) >= 4 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9' && s[3] >= '0' && s[3] <= '9'
}

// Absolute reports whether w is an interval, and its bounds.
func (w *Window) Absolute() (from, to time.Time, ok bool) {
	return w.from, w.to, !w.from.IsZero()
}

// Contains reports whether t is in the window. It does not allocate.
func (w *Window) Contains(t time.Time) bool {
	if !w.from.IsZero() {
		return !t.Before(w.from) && t.Before(w.to)
	}
	if w.weekly.spans == nil {
		return false
	}
	return w.weekly.Contains(t)
}

// End returns when the window that contains t closes: the first time after
// t it does not contain. ok is false when t is not in the window.
func (w *Window) End(t time.Time) (end time.Time, ok bool) {
	if !w.Contains(t) {
		return time.Time{}, false
	}
	if !w.from.IsZero() {
		return w.to, true
	}
	c := t.Truncate(time.Minute)
	for range minutesPerWeek + 2*60 {
		c = c.Add(time.Minute)
		if !w.weekly.Contains(c) {
			return c, true
		}
	}
	return c, true // open all week: never ends
}

// String is the canonical form, which ParseWindow reads back.
func (w Window) String() string {
	if !w.from.IsZero() {
		return w.from.Format(time.RFC3339Nano) + "/" + w.to.Format(time.RFC3339Nano)
	}
	return w.weekly.String()
}

// UnmarshalText reads a window (see ParseWindow).
func (w *Window) UnmarshalText(b []byte) error {
	p, err := ParseWindow(string(b))
	if err != nil {
		return err
	}
	*w = p
	return nil
}

// MarshalText writes String.
func (w Window) MarshalText() ([]byte, error) { return []byte(w.String()), nil }
