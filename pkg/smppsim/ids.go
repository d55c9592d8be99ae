package smppsim

import "strconv"

const hexUpper = "0123456789ABCDEF"
const hexLower = "0123456789abcdef"

// appendID renders message id number n in format f (IDSame is not valid
// here) without allocating.
func appendID(dst []byte, n uint64, f IDFormat, width int) []byte {
	switch f {
	case IDHexUpper:
		return appendHex(dst, n, hexUpper, 1)
	case IDHexLower:
		return appendHex(dst, n, hexLower, width)
	default:
		return strconv.AppendUint(dst, n, 10)
	}
}

func appendHex(dst []byte, n uint64, digits string, width int) []byte {
	var tmp [16]byte
	i := len(tmp)
	for n > 0 {
		i--
		tmp[i] = digits[n&15]
		n >>= 4
	}
	for pad := width - (len(tmp) - i); pad > 0; pad-- {
		dst = append(dst, '0')
	}
	return append(dst, tmp[i:]...)
}

// Kinds of random decision; each has its own counter so that, for a given
// Seed, the k-th decision of a kind does not depend on how many decisions
// of other kinds were made.
const (
	drawThrottle = iota
	drawError
	drawStat
	drawRespJitter
	drawReceiptJitter
	numDraws
)

// splitmix64 is a fast, well-mixed 64-bit hash (Steele et al., SplitMix).
func splitmix64(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}

// draw returns a deterministic uniform number in [0,1) for decision k of a
// kind. Lock-free: callers take k from an atomic counter.
func draw(seed int64, kind int, k uint64) float64 {
	x := splitmix64(uint64(seed) ^ splitmix64(uint64(kind)<<56^k))
	return float64(x>>11) / (1 << 53)
}
