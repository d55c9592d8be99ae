package protect

import (
	"errors"
	"fmt"
	"math/bits"
	"regexp"
	"regexp/syntax"
)

// contentSet is the compiled content rules, in order, with a prefilter:
// most rules require some literal text (`bit\.ly/` needs "bit.ly/",
// `(?i)\bloan\b` needs "loan" in any case), and one Aho-Corasick pass over
// the text finds which of those occur, so only rules whose literal is
// present — and the rules without one — run their regular expression.
// Go's regexp costs tens of ns per byte per rule; the pass costs a few ns
// per byte for all rules together.
type contentSet struct {
	rules  []contentRule
	ac     *acScanner // nil when no rule has a factor
	always ruleBits   // rules that run whatever the prefilter saw
	words  int        // words of ruleBits in use
}

type contentRule struct {
	account  string // "" = every account
	re       *regexp.Regexp
	action   Action
	pattern  string
	filtered bool // runs only when the prefilter saw one of its factors
}

func compileContent(rs []ContentRule) (contentSet, error) {
	var cs contentSet
	var errs []error
	var factors [][]string
	for i, r := range rs {
		if r.Action != Reject && r.Action != Hold {
			errs = append(errs, fmt.Errorf("content rule %d: action %v, want reject or hold", i, r.Action))
			continue
		}
		re, err := regexp.Compile(r.Pattern)
		if err != nil {
			errs = append(errs, fmt.Errorf("content rule %d: %w", i, err))
			continue
		}
		cr := contentRule{account: r.Account, re: re, action: r.Action, pattern: r.Pattern}
		var f []string
		if len(cs.rules) < maxPrefiltered {
			if tree, err := syntax.Parse(r.Pattern, syntax.Perl); err == nil {
				f, cr.filtered = requiredFactors(tree.Simplify())
			}
		}
		factors = append(factors, f)
		cs.rules = append(cs.rules, cr)
	}
	if err := errors.Join(errs...); err != nil {
		return contentSet{}, err
	}
	for i, r := range cs.rules {
		if r.filtered && cs.ac == nil {
			cs.ac = newACScanner(factors)
		}
		if !r.filtered && i < maxPrefiltered {
			cs.always.set(i)
		}
	}
	cs.words = min((len(cs.rules)+63)/64, len(cs.always))
	return cs, nil
}

// match returns the first rule of account (or global) that matches text.
func (cs *contentSet) match(account, text string) *contentRule {
	if len(cs.rules) == 0 {
		return nil
	}
	seen := cs.always
	if cs.ac != nil {
		cs.ac.scan(text, &seen)
	}
	// Candidates in rule order: first match wins.
	for w := 0; w < cs.words; w++ {
		for m := seen[w]; m != 0; m &= m - 1 {
			if r := &cs.rules[w*64+bits.TrailingZeros64(m)]; (r.account == "" || r.account == account) && r.re.MatchString(text) {
				return r
			}
		}
	}
	// Rules past maxPrefiltered have no bit and always run.
	for i := maxPrefiltered; i < len(cs.rules); i++ {
		if r := &cs.rules[i]; (r.account == "" || r.account == account) && r.re.MatchString(text) {
			return r
		}
	}
	return nil
}

// matchSlow is match without the prefilter: the reference in tests.
func (cs *contentSet) matchSlow(account, text string) *contentRule {
	for i := range cs.rules {
		r := &cs.rules[i]
		if (r.account == "" || r.account == account) && r.re.MatchString(text) {
			return r
		}
	}
	return nil
}
