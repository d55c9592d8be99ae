package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads a Go duration ("30s", "10m", "1h30m") extended with a
// day unit ("14d" = 336h, also "1d12h"). Negative durations are accepted here
// and rejected by Validate where they make no sense.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty duration")
	}
	orig := s
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		s = s[1:]
	}
	var days time.Duration
	sawDay := false
	// A day count may only lead: "14d", "1d12h".
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		sawDay = true
		n, err := strconv.ParseUint(s[:i], 10, 32)
		if err != nil || i == 0 {
			return 0, fmt.Errorf("duration %q: bad day count", orig)
		}
		if n > 100*365 {
			return 0, fmt.Errorf("duration %q: too long", orig)
		}
		days = time.Duration(n) * 24 * time.Hour
		s = s[i+1:]
	}
	var rest time.Duration
	if s != "" {
		if s[0] == '-' || s[0] == '+' {
			return 0, fmt.Errorf("duration %q: misplaced sign", orig)
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("duration %q: want e.g. 30s, 10m, 72h, 14d", orig)
		}
		rest = d
	} else if !sawDay {
		return 0, fmt.Errorf("duration %q: want e.g. 30s, 10m, 72h, 14d", orig)
	}
	d := days + rest
	if d < days { // overflow
		return 0, fmt.Errorf("duration %q: too long", orig)
	}
	if neg {
		d = -d
	}
	return d, nil
}

// CommandStatus is an SMPP command_status value, written in the config as
// hex (0x58, 0x00000058) or decimal (88).
type CommandStatus uint32

// UnmarshalText reads 0x-prefixed hex or decimal.
func (s *CommandStatus) UnmarshalText(b []byte) error {
	t := strings.TrimSpace(string(b))
	var v uint64
	var err error
	if h, ok := strings.CutPrefix(strings.ToLower(t), "0x"); ok {
		v, err = strconv.ParseUint(h, 16, 32)
	} else {
		v, err = strconv.ParseUint(t, 10, 32)
	}
	if err != nil || t == "" {
		return fmt.Errorf("command_status %q: want hex (0x58) or decimal (88)", t)
	}
	*s = CommandStatus(v)
	return nil
}

// MarshalText writes 0x%08X, the form SMPP logs use.
func (s CommandStatus) MarshalText() ([]byte, error) {
	return []byte(s.String()), nil
}

// String writes 0x%08X.
func (s CommandStatus) String() string { return fmt.Sprintf("0x%08X", uint32(s)) }

// FrequencyCap is marketing.frequency_cap: at most Count messages per
// account and destination within Per. The zero value is off.
type FrequencyCap struct {
	// Count is the most messages allowed within Per; 0 = off.
	Count int
	// Per is the sliding window the count applies to.
	Per time.Duration
}

// Enabled reports whether the cap is on.
func (f FrequencyCap) Enabled() bool { return f.Count > 0 }

// UnmarshalText reads "N/<duration>" with an h or d unit ("1/14d", "3/24h");
// "" is off.
func (f *FrequencyCap) UnmarshalText(b []byte) error {
	t := strings.TrimSpace(string(b))
	if t == "" {
		*f = FrequencyCap{}
		return nil
	}
	n, per, ok := strings.Cut(t, "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 1 {
		return fmt.Errorf("frequency cap %q: want N/<duration> such as 1/14d, N ≥ 1", t)
	}
	if per == "" || (!strings.HasSuffix(per, "h") && !strings.HasSuffix(per, "d")) {
		return fmt.Errorf("frequency cap %q: the duration's unit must be h or d", t)
	}
	d, err := ParseDuration(per)
	if err != nil || d <= 0 {
		return fmt.Errorf("frequency cap %q: want a positive duration in h or d", t)
	}
	*f = FrequencyCap{Count: count, Per: d}
	return nil
}

// MarshalText writes N/<duration>, in days when whole, or "" when off.
func (f FrequencyCap) MarshalText() ([]byte, error) {
	if !f.Enabled() {
		return []byte{}, nil
	}
	if f.Per%(24*time.Hour) == 0 {
		return fmt.Appendf(nil, "%d/%dd", f.Count, f.Per/(24*time.Hour)), nil
	}
	return fmt.Appendf(nil, "%d/%gh", f.Count, f.Per.Hours()), nil
}

// QuietHours is marketing.quiet_hours: no marketing sent from Start until End
// (minutes after midnight, local to the destination; Start > End wraps past
// midnight). Set is false when off.
type QuietHours struct {
	// Set is true when quiet hours are configured.
	Set bool
	// Start and End are minutes after local midnight, 0–1439.
	Start, End int
}

// UnmarshalText reads "HH:MM-HH:MM" (start and end must differ); "" is off.
func (q *QuietHours) UnmarshalText(b []byte) error {
	t := strings.TrimSpace(string(b))
	if t == "" {
		*q = QuietHours{}
		return nil
	}
	a, z, ok := strings.Cut(t, "-")
	start, err1 := clock(a)
	end, err2 := clock(z)
	if !ok || err1 != nil || err2 != nil {
		return fmt.Errorf("quiet hours %q: want HH:MM-HH:MM such as 21:00-09:00", t)
	}
	if start == end {
		return fmt.Errorf("quiet hours %q: start and end are equal", t)
	}
	*q = QuietHours{Set: true, Start: start, End: end}
	return nil
}

// MarshalText writes HH:MM-HH:MM, or "" when off.
func (q QuietHours) MarshalText() ([]byte, error) {
	if !q.Set {
		return []byte{}, nil
	}
	return fmt.Appendf(nil, "%02d:%02d-%02d:%02d", q.Start/60, q.Start%60, q.End/60, q.End%60), nil
}

// Contains reports whether the local time of day t falls in the quiet hours.
func (q QuietHours) Contains(t time.Time) bool {
	if !q.Set {
		return false
	}
	m := t.Hour()*60 + t.Minute()
	if q.Start < q.End {
		return m >= q.Start && m < q.End
	}
	return m >= q.Start || m < q.End
}

func clock(s string) (int, error) {
	s = strings.TrimSpace(s)
	if len(s) != 5 || s[2] != ':' {
		return 0, errors.New("want HH:MM")
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 || s[0] == '+' || s[3] == '+' || s[0] == '-' || s[3] == '-' {
		return 0, errors.New("want HH:MM")
	}
	return h*60 + m, nil
}
