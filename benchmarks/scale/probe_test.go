package main

import (
	"math"
	"testing"
)

func TestProcParsers(t *testing.T) {
	if got := parseVmRSS("Name:\tsmsgate\nVmPeak:\t 9 kB\nVmRSS:\t  204800 kB\nThreads: 9\n"); got != 200<<20 {
		t.Fatalf("VmRSS %d", got)
	}
	// A command name with spaces and a parenthesis must not shift fields.
	stat := "4242 (sms gate) x) S 1 2 3 4 5 6 7 8 9 10 1234 566 0 0 20 0 9"
	if got := parseStatCPU(stat); math.Abs(got-18.00) > 1e-9 {
		t.Fatalf("cpu %v", got)
	}
	if v, ok := parseLoad1("15.82 17.07 13.12 3/400 1234\n"); !ok || v != 15.82 {
		t.Fatalf("load %v %v", v, ok)
	}
	busy, total := parseCPUTimes("cpu  100 5 50 800 40 1 2 0 0 0\ncpu0 1 2 3 4 5\n")
	if busy != 158 || total != 998 {
		t.Fatalf("busy %v total %v", busy, total)
	}
	for _, bad := range []string{"", "VmRSS:", "VmRSS: x kB", "VmRSS: -5 kB"} {
		if parseVmRSS(bad) != 0 {
			t.Fatalf("VmRSS from %q", bad)
		}
	}
}

// The /proc parsers read text another process writes; whatever they get,
// they must not panic and must not return negative or NaN readings.
func FuzzProcParsers(f *testing.F) {
	f.Add("VmRSS:\t  204800 kB\n")
	f.Add("4242 (sms gate) x) S 1 2 3 4 5 6 7 8 9 10 1234 566 0 0")
	f.Add("15.82 17.07 13.12 3/400 1234\n")
	f.Add("cpu  100 5 50 800 40 1 2 0 0 0\n")
	f.Add(")")
	f.Add("cpu 1e308 1e308 1e308 1e308 1e308\n")
	f.Add("1 (x) S 1 2 3 4 5 6 7 8 9 10 1e308 1e308 0")
	f.Fuzz(func(t *testing.T, s string) {
		if v := parseVmRSS(s); v < 0 {
			t.Fatalf("rss %d", v)
		}
		if v := parseStatCPU(s); !(v >= 0) || math.IsInf(v, 0) {
			t.Fatalf("cpu %v", v)
		}
		if v, ok := parseLoad1(s); ok && !finite(v) {
			t.Fatalf("load %v", v)
		}
		if b, tot := parseCPUTimes(s); !finite(b) || !(tot >= b) {
			t.Fatalf("busy %v total %v", b, tot)
		}
	})
}
