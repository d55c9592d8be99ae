package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"
)

// statusEvent is the part of an sms.status event the comparison reads.
type statusEvent struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

func parseStatusEvent(b []byte) (statusEvent, error) {
	var e statusEvent
	if err := json.Unmarshal(b, &e); err != nil {
		return statusEvent{}, fmt.Errorf("status event: %w", err)
	}
	if e.ID == "" || e.Status == "" {
		return statusEvent{}, errors.New("status event without id or status")
	}
	return e, nil
}

// statusConsumer reads sms.status from the start and counts the distinct
// ids that reached "delivered" (a receipt correlated to its message).
type statusConsumer struct {
	r      *kafka.Reader
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	seen      map[string]time.Time // id → when its delivered event was read
	last      time.Time
	bad       int
	keepTimes bool
}

func startStatusConsumer(ctx context.Context, brokers []string, keepTimes bool) *statusConsumer {
	ctx, cancel := context.WithCancel(ctx)
	var rb [4]byte
	_, _ = rand.Read(rb[:])
	c := &statusConsumer{
		r: kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: "sms.status", GroupID: fmt.Sprintf("compare-%x", rb),
			StartOffset: kafka.FirstOffset, MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 20 * time.Millisecond}),
		cancel: cancel, done: make(chan struct{}), seen: map[string]time.Time{}, keepTimes: keepTimes,
	}
	go func() {
		defer close(c.done)
		for {
			m, err := c.r.FetchMessage(ctx)
			if err != nil {
				return // ctx ended (stop) or the reader was closed
			}
			now := time.Now()
			e, err := parseStatusEvent(m.Value)
			c.mu.Lock()
			switch {
			case err != nil:
				c.bad++
			case e.Status == "delivered":
				if _, dup := c.seen[e.ID]; !dup {
					c.seen[e.ID] = now
					c.last = now
				}
			}
			c.mu.Unlock()
		}
	}()
	return c
}

// delivered returns the distinct delivered ids so far and when the last
// new one was read.
func (c *statusConsumer) delivered() (int, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen), c.last
}

// times returns id → read time of its delivered event.
func (c *statusConsumer) times() map[string]time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]time.Time, len(c.seen))
	for k, v := range c.seen {
		out[k] = v
	}
	return out
}

func (c *statusConsumer) stop() {
	c.cancel()
	<-c.done
	_ = c.r.Close()
}

// pgSampler sums the CPU of the Postgres backends serving one database:
// smsgate's queue work happens there, not in the smsgate process. Shared
// Postgres processes (WAL writer, checkpointer) are not included.
type pgSampler struct {
	conn   *pgx.Conn
	cpu    map[int]float64
	base   map[int]float64 // at mark
	connMu sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
}

func startPGSampler(ctx context.Context, dsn string) (*pgSampler, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.Connect(cctx, dsn)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("postgres sampler: %w", err)
	}
	ctx, cancel = context.WithCancel(ctx)
	s := &pgSampler{conn: conn, cpu: map[int]float64{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			s.sample(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s, nil
}

func (s *pgSampler) sample(ctx context.Context) {
	qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s.connMu.Lock() // mark samples from another goroutine than the loop
	rows, err := s.conn.Query(qctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	var pids []int32
	if err == nil {
		pids, err = pgx.CollectRows(rows, pgx.RowTo[int32])
	}
	s.connMu.Unlock()
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, pid := range pids {
		if u, err := readUsage(int(pid)); err == nil && u.cpu > s.cpu[int(pid)] {
			s.cpu[int(pid)] = u.cpu
		}
	}
}

// mark makes finish count CPU from here on (the CPU before it, of
// backends alive now, is startup: migrations, partitions).
func (s *pgSampler) mark(ctx context.Context) {
	s.sample(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.base = map[int]float64{}
	for pid, c := range s.cpu {
		s.base[pid] = c
	}
}

// finish takes a last sample and returns the CPU seconds summed over every
// backend seen, since mark and before it. A backend that exited between
// samples loses its last (at most 0.5 s) increment.
func (s *pgSampler) finish() (sum, before float64) {
	s.cancel()
	<-s.done
	s.sample(context.Background()) // the loop has ended: the conn is ours
	_ = s.conn.Close(context.Background())
	s.mu.Lock()
	defer s.mu.Unlock()
	for pid, c := range s.cpu {
		sum += c - s.base[pid]
		before += s.base[pid]
	}
	return sum, before
}
