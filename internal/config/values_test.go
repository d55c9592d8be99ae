package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"30s", 30 * time.Second, false},
		{"10m", 10 * time.Minute, false},
		{"72h", 72 * time.Hour, false},
		{"14d", 14 * 24 * time.Hour, false},
		{"1d12h", 36 * time.Hour, false},
		{"30ms", 30 * time.Millisecond, false},
		{"1h30m", 90 * time.Minute, false},
		{"0", 0, false},
		{"-1s", -time.Second, false},
		{"-2d", -48 * time.Hour, false},
		{" 5s ", 5 * time.Second, false},
		{"", 0, true},
		{"-", 0, true},
		{"d", 0, true},
		{"1.5d", 0, true},
		{"1d-1h", 0, true},
		{"1h1d", 0, true},
		{"30", 0, true},
		{"30 parsecs", 0, true},
		{"99999999d", 0, true},
		{"36500d", 36500 * 24 * time.Hour, false},
	} {
		got, err := ParseDuration(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, err %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestCommandStatus(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want CommandStatus
		err  bool
	}{
		{"0x58", 0x58, false},
		{"88", 88, false},
		{"0X00000014", 0x14, false},
		{"0x0000000b", 0x0B, false},
		{"0", 0, false},
		{"0xFFFFFFFF", 0xFFFFFFFF, false},
		{"0x100000000", 0, true},
		{"-1", 0, true},
		{"0x", 0, true},
		{"", 0, true},
		{"throttled", 0, true},
	} {
		var got CommandStatus
		err := got.UnmarshalText([]byte(tc.in))
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("CommandStatus(%q) = %v, %v; want %v, err %v", tc.in, got, err, tc.want, tc.err)
		}
	}
	if s := CommandStatus(0x58).String(); s != "0x00000058" {
		t.Errorf("String = %s", s)
	}
}

func TestFrequencyCap(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want FrequencyCap
		out  string
		err  bool
	}{
		{"1/14d", FrequencyCap{1, 14 * 24 * time.Hour}, "1/14d", false},
		{"3/24h", FrequencyCap{3, 24 * time.Hour}, "3/1d", false},
		{"2/36h", FrequencyCap{2, 36 * time.Hour}, "2/36h", false},
		{"5/1d12h", FrequencyCap{5, 36 * time.Hour}, "5/36h", false},
		{"", FrequencyCap{}, "", false},
		{"1/30m", FrequencyCap{}, "", true},
		{"1/14", FrequencyCap{}, "", true},
		{"0/1d", FrequencyCap{}, "", true},
		{"-1/1d", FrequencyCap{}, "", true},
		{"1/0d", FrequencyCap{}, "", true},
		{"1/-1d", FrequencyCap{}, "", true},
		{"x/1d", FrequencyCap{}, "", true},
		{"1", FrequencyCap{}, "", true},
		{"1/", FrequencyCap{}, "", true},
	} {
		var got FrequencyCap
		err := got.UnmarshalText([]byte(tc.in))
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("FrequencyCap(%q) = %+v, %v; want %+v, err %v", tc.in, got, err, tc.want, tc.err)
			continue
		}
		if out, _ := got.MarshalText(); !tc.err && string(out) != tc.out {
			t.Errorf("FrequencyCap(%q).MarshalText = %q, want %q", tc.in, out, tc.out)
		}
	}
}

func TestQuietHours(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want QuietHours
		err  bool
	}{
		{"21:00-09:00", QuietHours{true, 21 * 60, 9 * 60}, false},
		{"12:30-13:45", QuietHours{true, 12*60 + 30, 13*60 + 45}, false},
		{"00:00-23:59", QuietHours{true, 0, 23*60 + 59}, false},
		{"", QuietHours{}, false},
		{"21-09", QuietHours{}, true},
		{"24:00-09:00", QuietHours{}, true},
		{"21:60-09:00", QuietHours{}, true},
		{"9:00-10:00", QuietHours{}, true},
		{"09:00-09:00", QuietHours{}, true},
		{"+1:00-09:00", QuietHours{}, true},
		{"21:00", QuietHours{}, true},
	} {
		var got QuietHours
		err := got.UnmarshalText([]byte(tc.in))
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("QuietHours(%q) = %+v, %v; want %+v, err %v", tc.in, got, err, tc.want, tc.err)
			continue
		}
		if out, _ := got.MarshalText(); !tc.err && string(out) != tc.in {
			t.Errorf("QuietHours(%q).MarshalText = %q", tc.in, out)
		}
	}
	night := QuietHours{true, 21 * 60, 9 * 60}
	lunch := QuietHours{true, 12 * 60, 13 * 60}
	for _, tc := range []struct {
		q    QuietHours
		hhmm string
		want bool
	}{
		{night, "20:59", false}, {night, "21:00", true}, {night, "23:59", true}, {night, "00:00", true},
		{night, "08:59", true}, {night, "09:00", false}, {night, "12:00", false},
		{lunch, "11:59", false}, {lunch, "12:00", true}, {lunch, "12:59", true}, {lunch, "13:00", false},
		{QuietHours{}, "03:00", false},
	} {
		tm, _ := time.Parse("15:04", tc.hhmm)
		if got := tc.q.Contains(tm); got != tc.want {
			t.Errorf("%+v.Contains(%s) = %v", tc.q, tc.hhmm, got)
		}
	}
}

func TestExpand(t *testing.T) {
	env := func(k string) (string, bool) {
		v, ok := map[string]string{"A": "alpha", "B_2": "beta", "EMPTY": ""}[k]
		return v, ok
	}
	for _, tc := range []struct {
		in, want, err string
	}{
		{"plain", "plain", ""},
		{"${A}", "alpha", ""},
		{"x${A}y${B_2}z", "xalphaybetaz", ""},
		{"${EMPTY}", "", ""},
		{"$A and $", "$A and $", ""},
		{"$${A}", "${A}", ""},
		{"$$${A}", "$${A}", ""},
		{"${MISSING}", "", "environment variable MISSING is not set"},
		{"${A", "", "unterminated ${"},
		{"${}", "", "bad environment variable name"},
		{"${9A}", "", "bad environment variable name"},
		{"${A-B}", "", "bad environment variable name"},
	} {
		got, err := expand(tc.in, env)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("expand(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("expand(%q) error = %v, want %q", tc.in, err, tc.err)
		}
	}
}

func TestParseInt(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "010": 10, "1_000": 1000, "0x1F": 31, "-5": -5, "+5": 5} {
		got, err := parseInt(in, 64)
		if err != nil || got != want {
			t.Errorf("parseInt(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "--5", "1.5", "0x", "abc", "9223372036854775808"} {
		if got, err := parseInt(in, 64); err == nil {
			t.Errorf("parseInt(%q) = %d, want error", in, got)
		}
	}
	if _, err := parseInt(fmt.Sprint(1<<31), 32); err == nil {
		t.Error("parseInt overflowed 32 bits silently")
	}
}
