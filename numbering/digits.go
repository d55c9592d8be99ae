package numbering

// maxDigits is the longest E.164 number and the longest range prefix.
const maxDigits = 15

// pow10[i] is 10^i, for cutting a number down to its first digits.
var pow10 = func() (p [maxDigits + 1]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// parseDigits reads 1 to 15 ASCII digits (one leading '+' allowed) as a
// number and its digit count. Numbers are keyed by value: E.164 numbers
// never start with 0, so the value alone identifies one.
func parseDigits(s string) (v uint64, n int, ok bool) {
	if len(s) > 0 && s[0] == '+' {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > maxDigits {
		return 0, 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, 0, false
		}
		v = v*10 + uint64(c)
	}
	return v, len(s), true
}
