package protect

import (
	"errors"
	"fmt"
	"regexp"
)

// contentSet is the compiled content rules, in order.
type contentSet struct {
	rules []contentRule
}

type contentRule struct {
	account string // "" = every account
	re      *regexp.Regexp
	action  Action
	pattern string
}

func compileContent(rs []ContentRule) (contentSet, error) {
	var cs contentSet
	var errs []error
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
		cs.rules = append(cs.rules, contentRule{account: r.Account, re: re, action: r.Action, pattern: r.Pattern})
	}
	return cs, errors.Join(errs...)
}

// match returns the first rule of account (or global) that matches text.
func (cs *contentSet) match(account, text string) *contentRule {
	for i := range cs.rules {
		r := &cs.rules[i]
		if r.account != "" && r.account != account {
			continue
		}
		if r.re.MatchString(text) {
			return r
		}
	}
	return nil
}
