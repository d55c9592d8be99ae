package protect

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// FuzzNumberKey: the key is defined exactly for 1–15 digits after an
// optional '+', and membership follows Add and Remove.
func FuzzNumberKey(f *testing.F) {
	for _, s := range []string{"995599123456", "+1", "", "+", "0", "123456789012345", "1234567890123456", "12a", "++1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := strings.TrimPrefix(s, "+")
		want := len(d) >= 1 && len(d) <= 15 && strings.Trim(d, "0123456789") == ""
		_, ok := numberKey(s)
		if ok != want {
			t.Fatalf("numberKey(%q) ok = %v, want %v", s, ok, want)
		}
		b := NewBlocklist()
		added, err := b.Add(s)
		if (err == nil) != want || added != want || b.Contains(s) != want {
			t.Fatalf("Add(%q) = %v, %v; Contains %v", s, added, err, b.Contains(s))
		}
		if want {
			if !b.Contains("+"+d) || !b.Contains(d) {
				t.Fatalf("%q: other spelling not found", s)
			}
			if b.Contains(d + "0") {
				t.Fatalf("%q: longer number found", s)
			}
			if removed, _ := b.Remove(s); !removed || b.Contains(s) || b.Len() != 0 {
				t.Fatalf("Remove(%q) = %v, Contains %v", s, removed, b.Contains(s))
			}
		}
	})
}

// FuzzContentPrefilter: for any pattern and text, the prefiltered match
// is the plain one (the factor extraction reads the pattern's syntax tree
// and must never drop a rule that matches).
func FuzzContentPrefilter(f *testing.F) {
	seeds := [][2]string{
		{`bit\.ly/`, "see bit.ly/x"},
		{`(?i)\bbank\b`, "my \u212Aank"},
		{`(?i)stop`, "\u017Ftop"},
		{`(?i)(win|won)\s+prize\s+\d+`, "WON  PRIZE 5"},
		{`(?:ab){2,}c?`, "xxababc"},
		{`(?i)деньги`, "ДЕНЬГИ"},
		{`\x{FFFD}`, "\xff"},
		{`[a-c]+x|y{3}`, "bbx"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, text string) {
		if len(pattern) > 200 || len(text) > 1000 {
			return
		}
		if _, err := regexp.Compile(pattern); err != nil {
			return
		}
		cs, err := compileContent([]ContentRule{{Pattern: pattern, Action: Reject}, {Pattern: `zz` + pattern, Action: Hold}})
		if err != nil {
			t.Fatal(err)
		}
		if fast, slow := cs.match("", text), cs.matchSlow("", text); fast != slow {
			t.Fatalf("pattern %q text %q: prefilter %v, plain %v", pattern, text, patternOf(fast), patternOf(slow))
		}
	})
}

// FuzzCheck: any message gets a consistent verdict and nothing panics.
func FuzzCheck(f *testing.F) {
	f.Add("acme", "ACME", "995599123456", "hello bit.ly/x", "magti", int64(0))
	f.Add("", "+4422", "+", "", "", int64(-1))
	f.Add("a", "4422", "1", "\xff", "mts", int64(1<<40))
	g, err := New(Rules{
		Blocklist: true,
		Pumping:   &PumpingRules{PrefixDigits: 4, MaxPerMinute: 3, MinDeliveryRate: 0.5, MinSamples: 2, HoldFor: time.Minute, Modes: map[string]Mode{"44": ModeMonitor}},
		Content:   []ContentRule{{Pattern: `bit\.ly/`, Action: Reject}, {Pattern: `(?i)casino`, Action: Hold}},
		Senders:   []SenderRule{{Country: "995", Alphanumeric: true, Numeric: false, ReplaceWith: "INFO"}, {Operator: "magti", Alphanumeric: false, Numeric: true}},
		Loop:      &LoopRules{Max: 2, Per: time.Minute},
	}, Options{MaxLoopPairs: 64 * 8, MaxRanges: 64 * 8})
	if err != nil {
		f.Fatal(err)
	}
	g.Blocklist().Add("995599000000")
	f.Fuzz(func(t *testing.T, account, sender, dest, text, operator string, offset int64) {
		now := t0.Add(time.Duration(offset))
		m := &Message{Account: account, Sender: sender, Dest: dest, Text: text, Operator: operator}
		v := g.Check(m, now)
		switch v.Action {
		case Allow:
			if v.Reason != ReasonNone {
				t.Fatalf("allow with reason %+v", v)
			}
		case Monitor:
			if v.Reason != ReasonFraudHold || v.Range == "" {
				t.Fatalf("monitor %+v", v)
			}
		case Hold:
			if v.Reason != ReasonFraudHold && v.Reason != ReasonContent {
				t.Fatalf("hold %+v", v)
			}
		case Reject:
			if v.Reason == ReasonNone || v.Reason == ReasonFraudHold {
				t.Fatalf("reject %+v", v)
			}
		default:
			t.Fatalf("action %v", v.Action)
		}
		if v.ReplacedSender != "" && v.ReplacedSender != "INFO" {
			t.Fatalf("replacement %q", v.ReplacedSender)
		}
		g.ObserveReceipt(account, dest, len(text)%2 == 0, now)
		g.Recheck(m)
	})
}
