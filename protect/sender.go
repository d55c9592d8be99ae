package protect

// isNumericSender: digits, optionally after one leading '+'. A short code
// (≤ 8 digits) is numeric too, as the interface says.
func isNumericSender(s string) bool {
	if len(s) > 0 && s[0] == '+' {
		s = s[1:]
	}
	return isDigits(s)
}

// senderRule returns the rule that decides for a destination country and
// operator: the first matching rule with an operator, else the first
// matching rule without one; nil when none matches. An empty operator
// (not routed yet) matches only rules without one.
func senderRule(rules []SenderRule, country, operator string) *SenderRule {
	var generic *SenderRule
	for i := range rules {
		r := &rules[i]
		if r.Country != "" && r.Country != country {
			continue
		}
		switch {
		case r.Operator == "":
			if generic == nil {
				generic = r
			}
		case r.Operator == operator:
			return r
		}
	}
	return generic
}

// checkSender applies the deciding rule: ok with replacement "" (sender
// allowed or no rule), ok with a replacement, or not ok.
func checkSender(rules []SenderRule, country, operator, sender string) (replacement string, ok bool) {
	r := senderRule(rules, country, operator)
	if r == nil {
		return "", true
	}
	if isNumericSender(sender) {
		if r.Numeric {
			return "", true
		}
	} else if r.Alphanumeric {
		return "", true
	}
	if r.ReplaceWith != "" {
		return r.ReplaceWith, true
	}
	return "", false
}
