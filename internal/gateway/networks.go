package gateway

import (
	"context"
	"fmt"
	"iter"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/numbering"
)

// networks resolves destinations to their mobile network (§6): ported
// numbers (Postgres, a full copy in memory, followed by seq so imports
// reach running instances within seconds) → the optional lookup service
// (waited for at most lookup_timeout per batch, never per message in
// turn) → the range table. Nil when the config has no numbering section.
type networks struct {
	g      *Gateway
	res    *numbering.Resolver
	reg    *numbering.Registry
	ported *numbering.PortedCache // nil without numbering.portability
	lookup *numbering.Lookup      // nil without lookup_url

	mu        sync.Mutex // serialises loads and polls of ported numbers
	portedSeq int64
}

func newNetworks(g *Gateway, cfg *config.Config, reg prometheus.Registerer) (*networks, error) {
	nc := cfg.Numbering
	if nc == nil {
		return nil, nil
	}
	n := &networks{g: g, reg: numbering.NewRegistry()}
	var ranges *numbering.RangeTable
	if nc.Ranges != "" {
		f, err := os.Open(nc.Ranges)
		if err != nil {
			return nil, fmt.Errorf("numbering.ranges: %w", err)
		}
		ranges, err = numbering.LoadRanges(f, n.reg, 0)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("numbering.ranges %s: %w", nc.Ranges, err)
		}
	}
	if p := nc.Portability; p != nil {
		n.ported = numbering.NewPortedCache(n.reg, p.CacheTTL)
		if p.LookupURL != "" {
			lk, err := numbering.NewLookup(numbering.LookupConfig{URL: p.LookupURL, Timeout: p.LookupTimeout, CacheTTL: p.CacheTTL}, n.reg)
			if err != nil {
				return nil, fmt.Errorf("numbering.portability.lookup_url: %w", err)
			}
			n.lookup = lk
		}
	}
	n.res = numbering.NewResolver(n.reg, ranges, n.ported, n.lookup)
	if reg != nil {
		reg.MustRegister(networksCollector{n})
	}
	return n, nil
}

// load reads every ported number (at start, and every cache_ttl).
func (n *networks) load(ctx context.Context) error {
	if n == nil || n.ported == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	var last int64
	var loadErr error
	rows := func(yield func(numbering.PortedRow, error) bool) {
		var after int64
		for {
			page, err := store.PortedChanges(ctx, n.g.store.Pool, after, 100000)
			if err != nil {
				loadErr = err
				yield(numbering.PortedRow{}, err)
				return
			}
			for _, c := range page {
				after = c.Seq
				if !yield(numbering.PortedRow{Number: c.Number, MCC: c.MCC, MNC: c.MNC}, nil) {
					return
				}
			}
			if len(page) < 100000 {
				last = after
				return
			}
		}
	}
	var seq iter.Seq2[numbering.PortedRow, error] = rows
	if _, err := n.ported.Load(0, seq); err != nil {
		return fmt.Errorf("ported numbers: %w", err)
	}
	if loadErr != nil {
		return loadErr
	}
	n.portedSeq = last
	return nil
}

// poll applies ported numbers imported since the last load or poll.
func (n *networks) poll(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	for {
		page, err := store.PortedChanges(ctx, n.g.store.Pool, n.portedSeq, 100000)
		if err != nil {
			return err
		}
		for _, c := range page {
			if err := n.ported.Put(numbering.PortedRow{Number: c.Number, MCC: c.MCC, MNC: c.MNC}); err != nil {
				n.g.log.Warn("ported number not cached", zap.String("number", c.Number), zap.Error(err))
			}
			n.portedSeq = c.Seq
		}
		if len(page) < 100000 {
			return nil
		}
	}
}

// run serves lookups and follows the ported-number table until ctx ends.
func (n *networks) run(ctx context.Context) error {
	if n == nil {
		return nil
	}
	var wg sync.WaitGroup
	if n.lookup != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = n.lookup.Run(ctx)
		}()
	}
	defer wg.Wait()
	if n.ported == nil {
		<-ctx.Done()
		return nil
	}
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		var err error
		if n.ported.Expired(time.Now()) {
			err = n.load(ctx)
		} else {
			err = n.poll(ctx)
		}
		if err != nil && ctx.Err() == nil {
			n.g.log.Warn("ported numbers not refreshed; the cached copy keeps answering", zap.Error(err))
		}
	}
}

// Prefetch resolves the destinations of a batch that miss both caches
// concurrently, so the batch waits at most lookup_timeout once rather than
// once per number; afterwards network() finds them cached (or the range
// table decides).
func (n *networks) Prefetch(dests []string) {
	if n == nil || n.lookup == nil || len(dests) == 0 {
		return
	}
	var misses []string
	for _, d := range dests {
		if _, src := n.res.ResolveNoWait(d); src != numbering.SourcePorted && src != numbering.SourceLookup {
			misses = append(misses, d)
		}
	}
	if len(misses) == 0 {
		return
	}
	var wg sync.WaitGroup
	for _, d := range misses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n.res.ResolveID(d) // joins the lookup started above; ≤ lookup_timeout
		}()
	}
	wg.Wait()
}

// Network is dest's MCC+MNC, "" when unknown; it never waits.
func (n *networks) Network(dest string) string {
	if n == nil {
		return ""
	}
	id, _ := n.res.ResolveNoWait(dest)
	if id == 0 {
		return ""
	}
	return n.reg.Network(id).MCCMNC
}

// networksCollector exports resolution and lookup counters.
type networksCollector struct{ n *networks }

var (
	netResolved = prometheus.NewDesc("smsgate_network_resolutions_total",
		"Destination network decisions by the stage that answered (ported, lookup, range, none).", []string{"source"}, nil)
	netLookups = prometheus.NewDesc("smsgate_network_lookups_total",
		"External number lookups by outcome; a timeout, error or drop lets the range table decide.", []string{"outcome"}, nil)
	netPorted = prometheus.NewDesc("smsgate_network_ported_numbers", "Ported numbers cached in memory.", nil, nil)
)

func (c networksCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- netResolved
	ch <- netLookups
	ch <- netPorted
}

func (c networksCollector) Collect(ch chan<- prometheus.Metric) {
	counts := c.n.res.Counts()
	for i, name := range []string{"none", "ported", "lookup", "range"} {
		ch <- prometheus.MustNewConstMetric(netResolved, prometheus.CounterValue, float64(counts[i]), name)
	}
	if c.n.lookup != nil {
		s := c.n.lookup.Stats()
		for _, v := range []struct {
			name string
			n    uint64
		}{{"answered", s.Answered}, {"empty", s.Empty}, {"timeout", s.Timeouts}, {"late", s.Late}, {"error", s.Errors}, {"dropped", s.Dropped}} {
			ch <- prometheus.MustNewConstMetric(netLookups, prometheus.CounterValue, float64(v.n), v.name)
		}
	}
	if c.n.ported != nil {
		ch <- prometheus.MustNewConstMetric(netPorted, prometheus.GaugeValue, float64(c.n.ported.Len()))
	}
}

// networkFunc is Network as a function, nil without numbering.
func (n *networks) networkFunc() func(string) string {
	if n == nil {
		return nil
	}
	return n.Network
}
