package protect

// acScanner is an Aho-Corasick automaton over the content rules' required
// factors: one pass over a text finds every rule whose factor occurs. The
// text is normalised on the fly (ASCII lower-cased; ſ and K, the only
// non-ASCII runes that fold to ASCII letters, read as s and k), so that
// factors of case-insensitive rules are found in any case.
type acScanner struct {
	class  [256]uint8 // byte → input class; 0 = in no factor
	lower  [256]uint8 // byte → class of its ASCII lower case
	nclass int
	delta  []int32   // state*nclass + class → next state (a full DFA)
	out    [][]int32 // state → rule indices whose factor ends here (fail chain merged)
	hasOut []bool    // out[state] != nil, without loading a slice header
}

func newACScanner(factors [][]string) *acScanner {
	s := &acScanner{}
	n := 1
	for _, set := range factors {
		for _, f := range set {
			for i := 0; i < len(f); i++ {
				if s.class[f[i]] == 0 {
					s.class[f[i]] = uint8(n)
					n++
				}
			}
		}
	}
	if n > 255 { // more than 254 distinct bytes: classes would not fit; use identity
		for i := range s.class {
			s.class[i] = uint8(i)
		}
		n = 256
	}
	s.nclass = n
	// Trie over classes.
	type node struct {
		next []int32
		out  []int32
	}
	nodes := []node{{next: make([]int32, n)}}
	for i := range nodes[0].next {
		nodes[0].next[i] = -1
	}
	for rule, set := range factors {
		for _, f := range set {
			cur := int32(0)
			for i := 0; i < len(f); i++ {
				c := s.class[f[i]]
				if nodes[cur].next[c] < 0 {
					nd := node{next: make([]int32, n)}
					for j := range nd.next {
						nd.next[j] = -1
					}
					nodes = append(nodes, nd)
					nodes[cur].next[c] = int32(len(nodes) - 1)
				}
				cur = nodes[cur].next[c]
			}
			nodes[cur].out = appendUnique(nodes[cur].out, int32(rule))
		}
	}
	// Breadth-first: failure links become full transitions.
	fail := make([]int32, len(nodes))
	queue := make([]int32, 0, len(nodes))
	for c := 0; c < n; c++ {
		if nx := nodes[0].next[c]; nx >= 0 {
			fail[nx] = 0
			queue = append(queue, nx)
		} else {
			nodes[0].next[c] = 0
		}
	}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, r := range nodes[fail[u]].out {
			nodes[u].out = appendUnique(nodes[u].out, r)
		}
		for c := 0; c < n; c++ {
			if v := nodes[u].next[c]; v >= 0 {
				fail[v] = nodes[fail[u]].next[c]
				queue = append(queue, v)
			} else {
				nodes[u].next[c] = nodes[fail[u]].next[c]
			}
		}
	}
	s.delta = make([]int32, len(nodes)*n)
	s.out = make([][]int32, len(nodes))
	s.hasOut = make([]bool, len(nodes))
	for i, nd := range nodes {
		copy(s.delta[i*n:], nd.next)
		s.out[i] = nd.out
		s.hasOut[i] = nd.out != nil
	}
	for b := range s.lower {
		s.lower[b] = s.class[asciiLower(byte(b))]
	}
	return s
}

func appendUnique(s []int32, v int32) []int32 {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// scan marks in seen the rules whose factor occurs in text.
func (s *acScanner) scan(text string, seen *ruleBits) {
	state := int32(0)
	n := int32(s.nclass)
	for i := 0; i < len(text); i++ {
		b := text[i]
		c := s.lower[b]
		if b >= 0x80 {
			switch {
			case b == 0xC5 && i+1 < len(text) && text[i+1] == 0xBF: // ſ
				c = s.class['s']
				i++
			case b == 0xE2 && i+2 < len(text) && text[i+1] == 0x84 && text[i+2] == 0xAA: // K
				c = s.class['k']
				i += 2
			}
		}
		state = s.delta[state*n+int32(c)]
		if s.hasOut[state] {
			for _, r := range s.out[state] {
				seen.set(int(r))
			}
		}
	}
}

// maxPrefiltered rules get a bit in ruleBits; rules beyond always run.
const maxPrefiltered = 1024

// ruleBits is a fixed-size bit set, kept on the stack.
type ruleBits [maxPrefiltered / 64]uint64

func (b *ruleBits) set(i int) { b[i>>6] |= 1 << (i & 63) }
