package numbering

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// LookupConfig configures the external network lookup (numbering.portability).
type LookupConfig struct {
	// URL is lookup_url; "{number}" is replaced by the E.164 digits.
	URL string
	// Timeout is lookup_timeout: the longest Resolve waits for an answer.
	Timeout time.Duration
	// CacheTTL is cache_ttl: how long an answer (also "no network") is kept.
	CacheTTL time.Duration
	// RequestTimeout bounds a whole HTTP request, which goes on after
	// Resolve stopped waiting so a late answer can be cached. Default 2 s.
	RequestTimeout time.Duration
	// Workers is the number of requests in flight at most. Default 8.
	Workers int
	// Queue is how many numbers may wait for a worker; beyond it a lookup
	// is dropped (counted) and the range table decides. Default 256.
	Queue int
	// CacheSize is the answers per cache generation (two are kept).
	// Default 1<<20: 2^21 slots × 12 bytes = 25 MB per generation.
	CacheSize int
	// Client makes the requests. Default: its own transport with
	// Workers connections.
	Client *http.Client
}

// LookupStats are the lookup counters since start; each is a running total
// (Prometheus counters).
type LookupStats struct {
	Hits      uint64 // answered from the answer cache (found or not)
	Misses    uint64 // not in the cache: a lookup was started or joined
	Requests  uint64 // HTTP requests made
	Answered  uint64 // answers that named a network
	Empty     uint64 // answers that named none (also HTTP 404)
	Timeouts  uint64 // Resolve calls that stopped waiting at Timeout
	Late      uint64 // answers that came after a waiter gave up; cached
	Errors    uint64 // transport errors, bad statuses, bad answers
	Dropped   uint64 // lookups not made: queue full, stopped, or stale in the queue
	Rotations uint64 // answer cache generations dropped (capacity, not TTL)
}

// Lookup asks an external service for a number's network, asynchronously:
// a bounded queue feeds a fixed set of workers (owned by Run); a caller
// waits at most Timeout; the answer is cached whenever it comes.
type Lookup struct {
	cfg    LookupConfig
	reg    *Registry
	cache  *lookupCache
	queue  chan *call
	client *http.Client
	ttl    uint32 // seconds

	mu       sync.Mutex
	inflight map[uint64]*call // queued or being asked; joined by later callers
	stopped  bool
	started  bool

	lastErr atomic.Pointer[error]

	hits, misses, requests, answered, empty, timeouts, late, errs, dropped atomic.Uint64
}

// call is one outstanding lookup. id is written before done is closed.
type call struct {
	key    uint64
	number string
	queued time.Time
	done   chan struct{}
	id     NetID // netNegative: no network; 0: failed
	gaveUp atomic.Bool
}

// NewLookup checks cfg and returns a Lookup; Run must be running for
// lookups to be made.
func NewLookup(cfg LookupConfig, reg *Registry) (*Lookup, error) {
	u, err := url.Parse(strings.ReplaceAll(cfg.URL, "{number}", "0"))
	switch {
	case err != nil:
		return nil, fmt.Errorf("lookup_url %q: %w", cfg.URL, err)
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return nil, fmt.Errorf("lookup_url %q: want an http or https URL", cfg.URL)
	case !strings.Contains(cfg.URL, "{number}"):
		return nil, fmt.Errorf("lookup_url %q: no {number} placeholder", cfg.URL)
	case cfg.Timeout <= 0:
		return nil, fmt.Errorf("lookup_timeout %v: want > 0", cfg.Timeout)
	case cfg.CacheTTL < time.Second:
		return nil, fmt.Errorf("cache_ttl %v: want at least 1s", cfg.CacheTTL)
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 2 * time.Second
	}
	if cfg.RequestTimeout < cfg.Timeout {
		cfg.RequestTimeout = cfg.Timeout
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 256
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 1 << 20
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: cfg.RequestTimeout, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: cfg.Workers,
			MaxConnsPerHost:     cfg.Workers,
			IdleConnTimeout:     90 * time.Second,
		}}
	}
	return &Lookup{
		cfg:      cfg,
		reg:      reg,
		cache:    newLookupCache(cfg.CacheSize),
		queue:    make(chan *call, cfg.Queue),
		client:   client,
		ttl:      uint32((cfg.CacheTTL + time.Second - 1) / time.Second),
		inflight: make(map[uint64]*call),
	}, nil
}

// Timeout returns lookup_timeout.
func (l *Lookup) Timeout() time.Duration { return l.cfg.Timeout }

// Run makes lookups with cfg.Workers workers until ctx ends, then waits
// for them (an in-flight request is cancelled with ctx). Lookups asked for
// after that are dropped. Call it once.
func (l *Lookup) Run(ctx context.Context) error {
	l.mu.Lock()
	if l.started {
		l.mu.Unlock()
		return errors.New("lookup: Run called twice")
	}
	l.started = true
	l.mu.Unlock()
	var wg sync.WaitGroup
	for range l.cfg.Workers {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case c := <-l.queue:
					l.do(ctx, c)
				}
			}
		})
	}
	<-ctx.Done()
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
	wg.Wait()
	return nil
}

// cached returns a cached answer: found reports a cache entry, id is 0 when
// that entry says "no network".
func (l *Lookup) cached(key uint64) (id NetID, found bool) {
	id, ok := l.cache.get(key, unixNow())
	if !ok {
		return 0, false
	}
	l.hits.Add(1)
	if id == netNegative {
		return 0, true
	}
	return id, true
}

// start starts a lookup of number, or joins the one under way; nil when
// it is dropped (queue full or stopped).
func (l *Lookup) start(key uint64, number string) *call {
	l.misses.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if c, ok := l.inflight[key]; ok {
		return c
	}
	if l.stopped {
		l.dropped.Add(1)
		return nil
	}
	c := &call{key: key, number: number, queued: time.Now(), done: make(chan struct{})}
	select {
	case l.queue <- c:
		l.inflight[key] = c
		return c
	default:
		l.dropped.Add(1)
		return nil
	}
}

// await starts (or joins) a lookup of number and waits for it at most
// Timeout. It returns 0 on no answer in time, an error, "no network" or a
// full queue.
func (l *Lookup) await(key uint64, number string) NetID {
	c := l.start(key, number)
	if c == nil {
		return 0
	}
	t := time.NewTimer(l.cfg.Timeout)
	defer t.Stop()
	select {
	case <-c.done:
		if c.id == netNegative {
			return 0
		}
		return c.id
	case <-t.C:
		c.gaveUp.Store(true)
		l.timeouts.Add(1)
		return 0
	}
}

// do makes one lookup, caches its answer and releases the waiters.
func (l *Lookup) do(ctx context.Context, c *call) {
	defer func() {
		l.mu.Lock()
		delete(l.inflight, c.key)
		l.mu.Unlock()
		close(c.done)
	}()
	if time.Since(c.queued) > l.cfg.RequestTimeout {
		l.dropped.Add(1) // waited too long for a worker: nobody is waiting now
		return
	}
	id, err := l.ask(ctx, c.number)
	if err != nil {
		l.errs.Add(1)
		l.lastErr.Store(&err)
		return
	}
	if id == netNegative {
		l.empty.Add(1)
	} else {
		l.answered.Add(1)
	}
	l.cache.put(c.key, id, unixNow()+l.ttl)
	c.id = id
	if c.gaveUp.Load() {
		l.late.Add(1)
	}
}

// ask makes the HTTP request; netNegative means the service knows no
// network for the number.
func (l *Lookup) ask(ctx context.Context, number string) (NetID, error) {
	l.requests.Add(1)
	ctx, cancel := context.WithTimeout(ctx, l.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.ReplaceAll(l.cfg.URL, "{number}", number), nil)
	if err != nil {
		return 0, fmt.Errorf("lookup %s: %w", number, err)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("lookup %s: %w", number, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		return 0, fmt.Errorf("lookup %s: reading answer: %w", number, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return netNegative, nil
	case resp.StatusCode != http.StatusOK:
		return 0, fmt.Errorf("lookup %s: HTTP %d", number, resp.StatusCode)
	case len(body) > maxAnswerBytes:
		return 0, fmt.Errorf("lookup %s: answer over %d bytes", number, maxAnswerBytes)
	}
	mcc, mnc, found, err := decodeAnswer(body)
	if err != nil {
		return 0, fmt.Errorf("lookup %s: %w", number, err)
	}
	if !found {
		return netNegative, nil
	}
	id, err := l.reg.Intern(mcc, mnc, "")
	if err != nil {
		return 0, fmt.Errorf("lookup %s: %w", number, err)
	}
	return id, nil
}

// Stats returns the counters.
func (l *Lookup) Stats() LookupStats {
	return LookupStats{
		Hits: l.hits.Load(), Misses: l.misses.Load(), Requests: l.requests.Load(),
		Answered: l.answered.Load(), Empty: l.empty.Load(), Timeouts: l.timeouts.Load(),
		Late: l.late.Load(), Errors: l.errs.Load(), Dropped: l.dropped.Load(),
		Rotations: l.cache.rotations.Load(),
	}
}

// LastError returns the most recent lookup error (for logs), or nil.
func (l *Lookup) LastError() error {
	if p := l.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

// CacheBytes returns the memory of the answer cache.
func (l *Lookup) CacheBytes() int { return l.cache.bytes() }
