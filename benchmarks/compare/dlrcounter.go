package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// dlrCounter is the dlr-url target for Kannel's smsbox: it counts, per
// destination number, the delivery reports Kannel correlated to a message
// it sent. Kannel fills %d (report type: 1 delivered, 2 failed, 8 SMSC
// accepted, 16 SMSC rejected) and %p (the message's receiver).
type dlrCounter struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}

	mu        sync.Mutex
	delivered map[string]struct{}
	byType    map[int]uint64
	bad       uint64
	last      time.Time // when the last first-seen delivered report came
}

// dlrReport is one parsed callback.
type dlrReport struct {
	typ int
	to  string
}

// parseDLRQuery reads the query Kannel sends to the dlr-url template
// "?type=%d&to=%p".
func parseDLRQuery(rawQuery string) (dlrReport, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return dlrReport{}, fmt.Errorf("dlr query: %w", err)
	}
	t, err := strconv.Atoi(q.Get("type"))
	if err != nil {
		return dlrReport{}, fmt.Errorf("dlr type %q: %w", q.Get("type"), err)
	}
	to := q.Get("to")
	if to == "" {
		return dlrReport{}, errors.New("dlr query without to")
	}
	return dlrReport{typ: t, to: to}, nil
}

func startDLRCounter() (*dlrCounter, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("dlr counter: %w", err)
	}
	c := &dlrCounter{ln: ln, done: make(chan struct{}), delivered: map[string]struct{}{}, byType: map[int]uint64{}}
	c.srv = &http.Server{Handler: c, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	go func() {
		defer close(c.done)
		_ = c.srv.Serve(ln) // ends with Close
	}()
	return c, nil
}

func (c *dlrCounter) url() string {
	// Kannel expands %d and %p itself; the rest must survive its escaping.
	return "http://" + c.ln.Addr().String() + "/dlr?type=%d&to=%p"
}

func (c *dlrCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rep, err := parseDLRQuery(r.URL.RawQuery)
	c.mu.Lock()
	if err != nil {
		c.bad++
	} else {
		c.byType[rep.typ]++
		if rep.typ == 1 {
			if _, dup := c.delivered[rep.to]; !dup {
				c.delivered[rep.to] = struct{}{}
				c.last = time.Now()
			}
		}
	}
	c.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// counts returns distinct delivered receivers, reports by type and
// unparsable callbacks.
func (c *dlrCounter) counts() (delivered int, byType map[int]uint64, bad uint64, last time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	byType = make(map[int]uint64, len(c.byType))
	for k, v := range c.byType {
		byType[k] = v
	}
	return len(c.delivered), byType, c.bad, c.last
}

func (c *dlrCounter) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = c.srv.Shutdown(ctx)
	_ = c.srv.Close()
	<-c.done
}
