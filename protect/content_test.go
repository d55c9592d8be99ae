package protect

import (
	"regexp/syntax"
	"slices"
	"testing"
)

func TestRequiredFactors(t *testing.T) {
	tests := []struct {
		pattern string
		want    []string // nil: none (rule always runs)
	}{
		{`bit\.ly/`, []string{"bit.ly/"}},
		{`(?i)\bLoan\b`, []string{"loan"}},
		{`BIT\.LY`, []string{"bit.ly"}}, // prefilter compares lower-cased
		{`(?i)(win|won|claim)\s+(a|your)\s+prize`, []string{"prize"}},
		{`casino|poker`, []string{"casino", "poker"}},
		{`(casino|x*)`, nil},
		{`a*`, nil},
		{`\d{4}-\d{4}`, []string{"-"}},
		{`(?:free){2,}`, []string{"free"}},
		{`(?:free)?money`, []string{"money"}},
		{`(?i)деньги`, nil},                     // non-ASCII with case: not normalised
		{`деньги`, []string{"деньги"}},          // case-sensitive non-ASCII: bytes as they are
		{`(?i)ok деньги now`, []string{" now"}}, // longest safe run
		{`(?i)bank`, []string{"bank"}},          // k: the scanner reads K (U+212A) as k
		{"x\u212Ay", []string{"x"}},             // K itself is never a factor byte
		{`.*`, nil},
		{`^$`, nil},
	}
	for _, tt := range tests {
		re, err := syntax.Parse(tt.pattern, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := requiredFactors(re.Simplify())
		if ok != (tt.want != nil) || !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q %v, want %q", tt.pattern, got, ok, tt.want)
		}
	}
}

// TestPrefilterAgrees: with and without the prefilter, the same rule
// matches, for texts made to hit the edge cases of case folding.
func TestPrefilterAgrees(t *testing.T) {
	rules := []ContentRule{
		{Pattern: `(?i)\bbank\b`, Action: Reject},
		{Pattern: `(?i)STOP`, Action: Hold},
		{Account: "x", Pattern: `secret`, Action: Reject},
		{Pattern: `\d{6}`, Action: Hold},
		{Pattern: `(?i)ok деньги`, Action: Reject},
		{Pattern: `(?i)(?:prize|bonus)\s+\d+`, Action: Reject},
	}
	cs, err := compileContent(rules)
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{
		"", "BANK", "my \u212Aank", "Bank!", "s\u017Ftop", "ſTOP", "\u017Ftop", "StOp", "secret", "12345", "123456",
		"OK ДЕНЬГИ", "ok деньги", "Prize 5", "BONUS\t10", "bonus", "\xff\xfe bank", "\xe2\x84", "\xc5",
	}
	for _, acc := range []string{"", "x"} {
		for _, text := range texts {
			fast, slow := cs.match(acc, text), cs.matchSlow(acc, text)
			if fast != slow {
				t.Errorf("account %q text %q: prefilter %v, plain %v", acc, text, patternOf(fast), patternOf(slow))
			}
		}
	}
}

func patternOf(r *contentRule) string {
	if r == nil {
		return "<none>"
	}
	return r.pattern
}

func TestContentManyRules(t *testing.T) {
	// Past maxPrefiltered rules still match (they always run).
	var rs []ContentRule
	for i := 0; i < maxPrefiltered+10; i++ {
		rs = append(rs, ContentRule{Pattern: "word" + string(rune('a'+i%26)) + "x" + itoa(i) + "y", Action: Reject})
	}
	cs, err := compileContent(rs)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 63, 64, 500, maxPrefiltered - 1, maxPrefiltered, maxPrefiltered + 9} {
		text := "xx word" + string(rune('a'+i%26)) + "x" + itoa(i) + "y yy"
		if r := cs.match("a", text); r == nil || r.pattern != rs[i].Pattern {
			t.Errorf("rule %d: got %v", i, patternOf(r))
		}
	}
}

func itoa(i int) string {
	return string(rune('0'+i/1000%10)) + string(rune('0'+i/100%10)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10))
}
