package router

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
	"time"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/timewin"
)

// Table is an immutable, validated route table. It is safe for concurrent
// use; a config reload builds a new one and swaps it in through a Holder.
// A nil *Table is an empty table.
type Table struct {
	// rows ascend by (prefix rows before network rows, key, operator,
	// Effective), so the rows of one key are contiguous, and within them
	// the rows of one operator.
	rows []Route
	// hot mirrors rows with what a lookup reads, 32 bytes a row instead of
	// over 100, so choosing touches few cache lines; rows is read only for
	// the result.
	hot     []hotRow
	opNames []string // hotRow.op → operator name
	// nodes is the prefix trie, root first. Children of a node are
	// contiguous, so a node needs only a digit bitmap and the index of its
	// first child: the trie is one slice of 16-byte nodes, which keeps
	// lookups allocation-free and compact at 100k prefixes.
	nodes    []node
	networks map[string]span // network → its rows
	quality  *qualityPolicy  // nil: cost alone ranks (see WithQuality)
	// winRow[i] is 0 for row i without a window, k+1 for wins[k]; both nil
	// when no row has one (see window.go).
	winRow []int32
	wins   []timewin.Weekly
}

type span struct{ start, end int32 }

type node struct {
	first int32 // index of the child for the lowest digit in mask
	rows  span  // rows of the prefix ending here; empty if none
	mask  uint16
}

type hotRow struct {
	sec    int64 // Effective in Unix seconds; math.MinInt64 for always
	cost   billing.Amount
	nsec   int32 // Effective's nanoseconds within sec
	weight int32
	op     int32
}

// instant is a time reduced to what effective-date comparisons need; it is
// exact for every time.Time, unlike UnixNano.
type instant struct {
	sec  int64
	nsec int32
}

func instantOf(t time.Time) instant { return instant{t.Unix(), int32(t.Nanosecond())} }

// startedBy reports whether row r is in effect at now.
func (r *hotRow) startedBy(now instant) bool {
	return r.sec < now.sec || (r.sec == now.sec && r.nsec <= now.nsec)
}

// stackCandidates is how many candidates Candidates and Choose collect
// without allocating; a key with more operators still works, it allocates.
const stackCandidates = 32

// NewTable validates routes and indexes them. It rejects a row with both or
// neither of prefix and mccmnc, a prefix that is not 1–15 digits, an mccmnc
// that is not 5–6 digits, no operator, no currency, a negative cost, a
// weight outside 0..MaxWeight; and, across rows, two rows for the same
// (prefix or network, operator) with the same Effective time, or rows of
// one prefix or network in different currencies (they could not be ranked
// by cost). Every error wraps ErrInvalidRoute. routes is not retained.
func NewTable(routes []Route) (*Table, error) {
	if len(routes) >= math.MaxInt32 {
		return nil, fmt.Errorf("%d routes: too many: %w", len(routes), ErrInvalidRoute)
	}
	for i := range routes {
		if err := validateRoute(routes[i]); err != nil {
			r := &routes[i]
			return nil, fmt.Errorf("route %d (prefix %q, mccmnc %q, operator %q): %w", i, r.Prefix, r.MCCMNC, r.Operator, err)
		}
	}
	// Sort compact (packed key, index) pairs rather than the rows: a Route
	// is over 100 bytes and its strings live elsewhere, so comparing rows
	// directly is mostly cache misses. Rows of one key are rare enough that
	// the fallback to operator and Effective barely touches them.
	order := make([]sortItem, len(routes))
	for i := range routes {
		order[i] = sortItem{packKey(&routes[i]), int32(i)}
	}
	slices.SortFunc(order, func(a, b sortItem) int {
		if c := cmp.Compare(a.key, b.key); c != 0 {
			return c
		}
		return compareRows(&routes[a.idx], &routes[b.idx])
	})
	perm := make([]int32, len(order))
	for i, o := range order {
		perm[i] = o.idx
	}

	t := &Table{
		rows:     make([]Route, len(routes)),
		hot:      make([]hotRow, len(routes)),
		networks: make(map[string]span),
	}
	opIDs := make(map[string]int32)
	var prefixKeys []string
	var prefixRows []span
	groupStart := 0
	for i, pi := range perm {
		r := routes[pi]
		if r.Weight == 0 {
			r.Weight = 1
		}
		t.rows[i] = r
		id, ok := opIDs[r.Operator]
		if !ok {
			id = int32(len(t.opNames))
			opIDs[r.Operator] = id
			t.opNames = append(t.opNames, r.Operator)
		}
		h := hotRow{cost: r.Cost, weight: int32(r.Weight), op: id}
		if r.Effective.IsZero() {
			h.sec = math.MinInt64
		} else {
			in := instantOf(r.Effective)
			h.sec, h.nsec = in.sec, in.nsec
		}
		t.hot[i] = h

		if i == 0 || kind(&r) != kind(&t.rows[i-1]) || key(&r) != key(&t.rows[i-1]) {
			if i > 0 {
				t.addKey(&t.rows[groupStart], span{int32(groupStart), int32(i)}, &prefixKeys, &prefixRows)
			}
			groupStart = i
			continue
		}
		prev := &t.rows[i-1]
		if r.Currency != prev.Currency {
			return nil, fmt.Errorf("%s: currencies %s and %s in one route set: %w", describeKey(&r), prev.Currency, r.Currency, ErrInvalidRoute)
		}
		if r.Operator == prev.Operator && r.Effective.Equal(prev.Effective) {
			return nil, fmt.Errorf("%s, operator %q: two routes effective at %s: %w",
				describeKey(&r), r.Operator, r.Effective.Format(time.RFC3339Nano), ErrInvalidRoute)
		}
	}
	if len(perm) > 0 {
		t.addKey(&t.rows[groupStart], span{int32(groupStart), int32(len(perm))}, &prefixKeys, &prefixRows)
	}
	t.nodes = make([]node, 1, trieSize(prefixKeys))
	if len(prefixKeys) > 0 {
		t.buildTrie(0, 0, prefixKeys, prefixRows)
	}
	t.indexWindows()
	return t, nil
}

// addKey records the rows sp of one prefix or network, first its first row.
func (t *Table) addKey(first *Route, sp span, prefixKeys *[]string, prefixRows *[]span) {
	if first.MCCMNC != "" {
		t.networks[first.MCCMNC] = sp
		return
	}
	*prefixKeys = append(*prefixKeys, first.Prefix)
	*prefixRows = append(*prefixRows, sp)
}

// trieSize is the number of trie nodes for sorted, distinct keys: the root
// and one per distinct non-empty prefix of a key.
func trieSize(keys []string) int {
	n := 1
	prev := ""
	for _, k := range keys {
		common := 0
		for common < len(k) && common < len(prev) && k[common] == prev[common] {
			common++
		}
		n += len(k) - common
		prev = k
	}
	return n
}

type sortItem struct {
	key uint64
	idx int32
}

// packKey encodes kind and key of a validated row in one integer whose order
// is compareRows' order of (kind, key): 4 bits per digit (digit+1, so a
// shorter key sorts before its extensions), at most 15 digits in the low
// 60 bits, network rows above all prefix rows.
func packKey(r *Route) uint64 {
	k := key(r)
	var v uint64
	for i := range MaxPrefixDigits {
		v <<= 4
		if i < len(k) {
			v |= uint64(k[i]-'0') + 1
		}
	}
	if kind(r) == 1 {
		v |= 1 << 60
	}
	return v
}

// compareRows orders rows for NewTable (see Table.rows).
func compareRows(a, b *Route) int {
	return cmp.Or(
		cmp.Compare(kind(a), kind(b)),
		strings.Compare(key(a), key(b)),
		strings.Compare(a.Operator, b.Operator),
		a.Effective.Compare(b.Effective),
	)
}

// kind sorts prefix rows (0) before network rows (1).
func kind(r *Route) int {
	if r.MCCMNC != "" {
		return 1
	}
	return 0
}

// key is the prefix or the network of a row.
func key(r *Route) string {
	if r.MCCMNC != "" {
		return r.MCCMNC
	}
	return r.Prefix
}

func describeKey(r *Route) string {
	if r.MCCMNC != "" {
		return fmt.Sprintf("mccmnc %q", r.MCCMNC)
	}
	return fmt.Sprintf("prefix %q", r.Prefix)
}

// buildTrie fills node n, at the given depth, from keys: sorted, distinct,
// all sharing their first depth digits. Its children are reserved as one
// block before any of them is filled, which keeps siblings contiguous.
func (t *Table) buildTrie(n int32, depth int, keys []string, rows []span) {
	if len(keys[0]) == depth { // sorted: the node's own key comes first
		t.nodes[n].rows = rows[0]
		keys, rows = keys[1:], rows[1:]
	}
	if len(keys) == 0 {
		return
	}
	var mask uint16
	for _, k := range keys {
		mask |= 1 << (k[depth] - '0')
	}
	first := int32(len(t.nodes))
	for range bits.OnesCount16(mask) {
		t.nodes = append(t.nodes, node{})
	}
	t.nodes[n].first, t.nodes[n].mask = first, mask
	child := first
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j][depth] == keys[i][depth] {
			j++
		}
		t.buildTrie(child, depth+1, keys[i:j], rows[i:j])
		child++
		i = j
	}
}

// Len returns the number of route rows in the table.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.rows)
}

// Candidates appends to dst the routes usable for dest (E.164 digits, a
// leading '+' ignored) on network (MCC+MNC, "" when unknown) at time now,
// best first, and returns the extended slice:
//
//   - routes naming network win over prefix routes, if at least one of them
//     is in effect at now;
//   - otherwise only the longest prefix of dest that has a route in effect
//     at now counts (a prefix whose rows all start later does not shadow a
//     shorter one); shorter prefixes are not a fallback when the operators
//     of the longest one are down;
//   - for each operator of that prefix or network, the latest row whose
//     Effective ≤ now applies;
//   - ordered by cost ascending, ties by operator name; equal costs share a
//     Rank.
//
// Operator health is not considered here; see Choose. It does not allocate
// when dst has room and the key has at most 32 operators.
func (t *Table) Candidates(dst []Candidate, dest, network string, now time.Time) []Candidate {
	var buf [stackCandidates]int32
	idx := t.collect(buf[:0], dest, network, now)
	rank := 0
	for i, ri := range idx {
		if i > 0 && t.hot[ri].cost != t.hot[idx[i-1]].cost {
			rank++
		}
		dst = append(dst, Candidate{Route: t.rows[ri], Rank: rank})
	}
	return dst
}

// collect appends the row indexes of the candidates (see Candidates) to
// buf, sorted best first.
func (t *Table) collect(buf []int32, dest, network string, at time.Time) []int32 {
	if t == nil {
		return buf
	}
	now := instantOf(at)
	n0 := len(buf)
	var spans [MaxPrefixDigits + 1]span
	for _, sp := range spans[:t.keySpans(&spans, dest, network)] {
		if buf = t.appendLatest(buf, sp, now); len(buf) > n0 {
			return t.sortByCost(buf, n0)
		}
	}
	return buf
}

// appendLatest appends, for each operator among the rows sp of one key, its
// latest row in effect at now; operators whose rows all start later are
// left out. Rows of an operator are contiguous and ascend by Effective.
func (t *Table) appendLatest(buf []int32, sp span, now instant) []int32 {
	rows := t.hot[sp.start:sp.end]
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && rows[j].op == rows[i].op {
			j++
		}
		for k := j - 1; k >= i; k-- {
			if rows[k].startedBy(now) {
				buf = append(buf, sp.start+int32(k))
				break
			}
		}
		i = j
	}
	return buf
}

// sortByCost sorts buf[from:] by cost, stably: rows come in operator order,
// so ties stay ordered by operator name. Insertion sort: a key has a handful
// of operators and sort.Slice would allocate.
func (t *Table) sortByCost(buf []int32, from int) []int32 {
	s := buf[from:]
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && t.hot[s[j]].cost < t.hot[s[j-1]].cost; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return buf
}
