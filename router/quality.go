package router

import (
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// qualityBuckets is how many slices a Quality window is cut into. A
// receipt counts from the moment it is observed until its slice leaves the
// window: between (1 − 1/qualityBuckets)·window and window later, never
// longer, so a route whose delivery rate collapses is ranked on the new
// receipts alone within one window.
const qualityBuckets = 16

// MaxQualityKeys bounds the (operator, network) pairs a Quality tracks;
// receipts for further pairs are not counted (Quality.Dropped). Operators
// come from config and networks from the numbering registry, so real
// traffic stays far below it.
const MaxQualityKeys = 10000

// Quality keeps rolling receipt outcomes per (operator, network): delivered
// and failed (undeliverable or expired) final receipts and their latency
// over a sliding window. It is safe for concurrent use and outlives route
// tables: a config reload attaches the same Quality to the new Table
// (Table.WithQuality).
//
// Reads (Choose, Figures) take no lock and do not allocate: the key index
// is a copy-on-write map behind an atomic pointer and the counters are
// atomics. Observe locks only the pair it counts (and, for a pair seen for
// the first time, the index).
type Quality struct {
	window time.Duration
	width  int64 // nanoseconds per bucket
	// maxKeys is MaxQualityKeys (smaller in tests).
	maxKeys int

	mu      sync.Mutex // serialises inserts into keys
	keys    atomic.Pointer[map[qualityKey]*qualityStats]
	dropped atomic.Int64
}

type qualityKey struct{ op, network string }

type qualityStats struct {
	mu sync.Mutex // serialises writers; readers use the atomics only
	b  [qualityBuckets]qualityBucket
}

// qualityBucket counts the receipts of one slice of time. epoch is the
// slice number (Unix nanoseconds ÷ width), or -1 while a writer clears the
// bucket for a new slice; a reader that sees epoch change under it skips
// the bucket.
type qualityBucket struct {
	epoch     atomic.Int64
	delivered atomic.Int64
	failed    atomic.Int64
	latency   atomic.Int64 // sum of receipt latencies, nanoseconds
}

// NewQuality returns an empty Quality over window (at least one
// nanosecond per bucket).
func NewQuality(window time.Duration) *Quality {
	w := int64(window) / qualityBuckets
	if w < 1 {
		w = 1
	}
	q := &Quality{window: window, width: w, maxKeys: MaxQualityKeys}
	m := map[qualityKey]*qualityStats{}
	q.keys.Store(&m)
	return q
}

// Window is the span the figures cover.
func (q *Quality) Window() time.Duration { return q.window }

// Dropped is the number of receipts not counted because MaxQualityKeys
// pairs were already tracked.
func (q *Quality) Dropped() int64 { return q.dropped.Load() }

// Observe counts one final receipt of a message sent through op to network
// ("" when the network is unknown): delivered or not (undeliverable,
// expired), latency from submit to receipt, received at at.
func (q *Quality) Observe(op, network string, delivered bool, latency time.Duration, at time.Time) {
	s := q.stats(op, network)
	if s == nil {
		q.dropped.Add(1)
		return
	}
	e := at.UnixNano() / q.width
	b := &s.b[e%qualityBuckets]
	s.mu.Lock()
	defer s.mu.Unlock()
	switch cur := b.epoch.Load(); {
	case cur > e:
		return // older than what the bucket now holds: outside the window
	case cur < e:
		b.epoch.Store(-1)
		b.delivered.Store(0)
		b.failed.Store(0)
		b.latency.Store(0)
		b.epoch.Store(e)
	}
	if delivered {
		b.delivered.Add(1)
	} else {
		b.failed.Add(1)
	}
	b.latency.Add(int64(max(latency, 0)))
}

// stats returns the counters of (op, network), adding them if new; nil when
// MaxQualityKeys pairs are tracked already.
func (q *Quality) stats(op, network string) *qualityStats {
	k := qualityKey{op, network}
	if s := (*q.keys.Load())[k]; s != nil {
		return s
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	old := *q.keys.Load()
	if s := old[k]; s != nil {
		return s
	}
	if len(old) >= q.maxKeys {
		return nil
	}
	m := make(map[qualityKey]*qualityStats, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	s := &qualityStats{}
	m[k] = s
	q.keys.Store(&m)
	return s
}

// counts sums the buckets of s inside the window ending at now.
func (q *Quality) counts(s *qualityStats, now time.Time) (delivered, failed, latency int64) {
	cur := now.UnixNano() / q.width
	for i := range s.b {
		b := &s.b[i]
		e := b.epoch.Load()
		if e <= cur-qualityBuckets || e > cur {
			continue
		}
		d, f, l := b.delivered.Load(), b.failed.Load(), b.latency.Load()
		if b.epoch.Load() != e {
			continue // cleared for a newer slice meanwhile
		}
		delivered += d
		failed += f
		latency += l
	}
	return delivered, failed, latency
}

// QualityFigures are the receipts of one (operator, network) in the window.
type QualityFigures struct {
	Operator string
	Network  string // "" when unknown
	// Delivered and Failed (undeliverable + expired) final receipts.
	Delivered, Failed int64
	// Rate is Delivered ÷ (Delivered + Failed); 0 without receipts.
	Rate float64
	// Latency is the mean time from submit to the final receipt.
	Latency time.Duration
}

// Samples is the number of final receipts in the window.
func (f QualityFigures) Samples() int64 { return f.Delivered + f.Failed }

// Figures returns the figures of (op, network) in the window ending at now.
func (q *Quality) Figures(op, network string, now time.Time) QualityFigures {
	f := QualityFigures{Operator: op, Network: network}
	if s := (*q.keys.Load())[qualityKey{op, network}]; s != nil {
		f.fill(q, s, now)
	}
	return f
}

func (f *QualityFigures) fill(q *Quality, s *qualityStats, now time.Time) {
	var lat int64
	f.Delivered, f.Failed, lat = q.counts(s, now)
	if n := f.Samples(); n > 0 {
		f.Rate = float64(f.Delivered) / float64(n)
		f.Latency = time.Duration(lat / n)
	}
}

// Snapshot returns the figures of every tracked pair, by operator then
// network (pairs whose receipts have all left the window included, with
// zero counts).
func (q *Quality) Snapshot(now time.Time) []QualityFigures {
	m := *q.keys.Load()
	out := make([]QualityFigures, 0, len(m))
	for k, s := range m {
		f := QualityFigures{Operator: k.op, Network: k.network}
		f.fill(q, s, now)
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Operator != out[j].Operator {
			return out[i].Operator < out[j].Operator
		}
		return out[i].Network < out[j].Network
	})
	return out
}

// qualityPolicy is how a Table ranks with quality on.
type qualityPolicy struct {
	q          *Quality
	minSamples int64
	explore    float64
}

// WithQuality returns a copy of t that ranks routes by cost per delivered
// message, using q's receipts for the network of each decision: a route
// with at least minSamples final receipts in the window scores cost ÷
// delivery rate (+Inf when none was delivered), one with fewer scores its
// cost. Routes of equal score share traffic by weight. A share explore
// (0 ≤ explore < 1) of decisions goes to the other usable routes, evenly;
// when the best routes are the only usable ones they take everything.
// Choose without a forced operator uses it; forced routes and Candidates
// are unchanged. q nil returns t as it is. t itself is not modified.
func (t *Table) WithQuality(q *Quality, minSamples int, explore float64) *Table {
	if t == nil || q == nil {
		return t
	}
	if !(explore >= 0 && explore < 1) {
		explore = 0
	}
	c := *t
	c.quality = &qualityPolicy{q: q, minSamples: int64(max(minSamples, 1)), explore: explore}
	return &c
}

// Quality returns the statistics attached by WithQuality, nil if none.
func (t *Table) Quality() *Quality {
	if t == nil || t.quality == nil {
		return nil
	}
	return t.quality.q
}

// QualityMinSamples is the min_samples attached by WithQuality (0 if none).
func (t *Table) QualityMinSamples() int64 {
	if t == nil || t.quality == nil {
		return 0
	}
	return t.quality.minSamples
}

// score is the rank key of row ri for a decision on network at now.
func (p *qualityPolicy) score(t *Table, ri int32, network string, now time.Time) float64 {
	cost := float64(t.hot[ri].cost)
	s := (*p.q.keys.Load())[qualityKey{t.opNames[t.hot[ri].op], network}]
	if s == nil {
		return cost
	}
	d, f, _ := p.q.counts(s, now)
	switch {
	case d+f < p.minSamples:
		return cost
	case d == 0:
		return math.Inf(1)
	}
	return cost * float64(d+f) / float64(d)
}

// chooseByQuality is Choose (not forced) with quality on: idx are the
// candidates in cost order, ok says which are usable and untried.
func (t *Table) chooseByQuality(idx []int32, ok func(op string) bool, network string, now time.Time, r float64) (Candidate, error) {
	p := t.quality
	n := 0
	for _, ri := range idx {
		if ok(t.opNames[t.hot[ri].op]) {
			idx[n] = ri
			n++
		}
	}
	switch n {
	case 0:
		return Candidate{}, ErrNoUsableRoute
	case 1: // nothing to rank or explore
		return Candidate{Route: t.rows[idx[0]]}, nil
	}
	idx = idx[:n]
	var buf [stackCandidates]float64
	scores := buf[:0]
	if n > len(buf) {
		scores = make([]float64, 0, n)
	}
	for _, ri := range idx {
		scores = append(scores, p.score(t, ri, network, now))
	}
	// Insertion sort by score, stable: ties keep cost, then operator order.
	for i := 1; i < n; i++ {
		for j := i; j > 0 && scores[j] < scores[j-1]; j-- {
			scores[j], scores[j-1] = scores[j-1], scores[j]
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
	k := 1
	for k < n && scores[k] == scores[0] {
		k++
	}
	if others := n - k; others > 0 && p.explore > 0 {
		if r < p.explore { // false for NaN, which goes to the best
			i := k + min(max(int(r/p.explore*float64(others)), 0), others-1)
			return Candidate{Route: t.rows[idx[i]], Rank: scoreRank(scores, i)}, nil
		}
		// The rest of [0, 1) spread over the best by weight.
		r = (r - p.explore) / (1 - p.explore)
	}
	total := 0
	for _, ri := range idx[:k] {
		total += int(t.hot[ri].weight)
	}
	return Candidate{Route: t.rows[pickWeighted(t, idx[:k], total, r)], Rank: 0}, nil
}

// scoreRank is the rank of scores[i] in sorted scores: how many distinct
// smaller scores precede it.
func scoreRank(scores []float64, i int) int {
	rank := 0
	for j := 1; j <= i; j++ {
		if scores[j] != scores[j-1] {
			rank++
		}
	}
	return rank
}
