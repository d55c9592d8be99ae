package dlr

import (
	"strings"
	"unicode"
)

// Keyword returns the first word of text, upper-cased, when it is in known
// (a set built by KeywordSet), else "". A word is a run of letters, digits
// and combining marks, so leading spaces and punctuation are skipped and
// trailing ones ("Stop!", "STOP,please") end the word. Upper-casing is
// Unicode's (Cyrillic, Greek, Georgian Mkhedruli → Mtavruli), applied the
// same way by KeywordSet.
func Keyword(text string, known map[string]struct{}) string {
	if len(known) == 0 {
		return ""
	}
	start := strings.IndexFunc(text, isWordRune)
	if start < 0 {
		return ""
	}
	word := text[start:]
	if end := strings.IndexFunc(word, func(r rune) bool { return !isWordRune(r) }); end >= 0 {
		word = word[:end]
	}
	word = strings.ToUpper(word)
	if _, ok := known[word]; ok {
		return word
	}
	return ""
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// KeywordSet builds the set Keyword looks words up in, upper-casing each
// word the way Keyword does (mo.keywords, marketing.stop_keywords and
// marketing.start_keywords together). Empty words are skipped.
func KeywordSet(words ...[]string) map[string]struct{} {
	set := map[string]struct{}{}
	for _, list := range words {
		for _, w := range list {
			w = strings.ToUpper(strings.TrimSpace(w))
			if w != "" {
				set[w] = struct{}{}
			}
		}
	}
	return set
}
