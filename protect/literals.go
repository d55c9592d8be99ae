package protect

import (
	"regexp/syntax"
	"unicode"
	"unicode/utf8"
)

// maxFactorSet bounds the alternatives kept for one rule; a rule needing
// more is run on every text.
const maxFactorSet = 16

// requiredFactors returns strings one of which every match of re must
// contain, normalised for the prefilter (ASCII lower-cased), or ok=false
// when no such set is known (the rule must always run). It is a necessary
// condition only: finding a factor does not mean the rule matches.
func requiredFactors(re *syntax.Regexp) (set []string, ok bool) {
	switch re.Op {
	case syntax.OpLiteral:
		s := longestSafeRun(re.Rune, re.Flags&syntax.FoldCase != 0)
		if s == "" {
			return nil, false
		}
		return []string{s}, true
	case syntax.OpCapture:
		return requiredFactors(re.Sub[0])
	case syntax.OpPlus:
		return requiredFactors(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredFactors(re.Sub[0])
		}
		return nil, false
	case syntax.OpConcat:
		// Any child's requirement is the whole's; keep the most selective.
		best, bestScore := []string(nil), 0
		for _, sub := range re.Sub {
			if s, ok := requiredFactors(sub); ok {
				if sc := score(s); sc > bestScore {
					best, bestScore = s, sc
				}
			}
		}
		return best, best != nil
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			s, ok := requiredFactors(sub)
			if !ok {
				return nil, false
			}
			all = append(all, s...)
			if len(all) > maxFactorSet {
				return nil, false
			}
		}
		return all, true
	}
	// Classes, any-char, empty matches, anchors, star, quest: no literal
	// is required.
	return nil, false
}

// score ranks a factor set: its shortest string (longer is rarer).
func score(set []string) int {
	m := 1 << 30
	for _, s := range set {
		m = min(m, len(s))
	}
	return m
}

// longestSafeRun is the longest run of runes of lit that the prefilter's
// normalisation keeps exact, lower-cased when fold: ASCII, plus non-ASCII
// runes without case variants when folding (their bytes are compared as
// they are). Unsafe: U+FFFD (stands for invalid bytes in the text), the
// two non-ASCII runes the scanner maps to ASCII (ſ, K), and, when folding,
// non-ASCII runes with case variants.
func longestSafeRun(lit []rune, fold bool) string {
	var best, cur []byte
	flush := func() {
		if len(cur) > len(best) {
			best = append(best[:0], cur...)
		}
		cur = cur[:0]
	}
	for _, r := range lit {
		switch {
		case r < utf8.RuneSelf:
			cur = append(cur, asciiLower(byte(r)))
		case r == utf8.RuneError || r == 0x17F || r == 0x212A:
			flush()
		case fold && unicode.SimpleFold(r) != r:
			flush()
		default:
			cur = utf8.AppendRune(cur, r)
		}
	}
	flush()
	return string(best)
}

func asciiLower(b byte) byte {
	if b >= 'A' && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}
