package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/internal/web"
)

// Back-off between dependency checks at start: doubling from depsBackoffMin
// to depsBackoffMax, each wait drawn from [d/2, d] so that instances
// restarted together do not knock in step.
const (
	depsBackoffMin = 250 * time.Millisecond
	depsBackoffMax = 5 * time.Second
	depsAttempt    = 5 * time.Second // one check's deadline
)

// waitForDeps opens Postgres and reaches a Kafka broker, retrying until
// both answer or wait has passed. Meanwhile the HTTP port answers
// /healthz (alive) and /readyz (503 with the reason), so an orchestrator
// sees a live process that is not ready yet, not a crash loop. The store
// it returns is open; the caller closes it.
func waitForDeps(ctx context.Context, cfg *config.Config, log *zap.Logger, reg prometheus.Gatherer, wait time.Duration) (*store.Store, error) {
	var reason atomic.Value
	reason.Store("starting")
	early := web.New(web.Options{Listen: cfg.HTTP.Listen, TLSCert: cfg.HTTP.TLSCert, TLSKey: cfg.HTTP.TLSKey, Gatherer: reg, Logger: log,
		Ready: func(context.Context) error { return fmt.Errorf("waiting for dependencies: %s", reason.Load()) }})
	wctx, stopEarly := context.WithCancel(context.WithoutCancel(ctx))
	webDone := make(chan error, 1)
	go func() { webDone <- early.Run(wctx) }()
	// A port the waiting server could not bind is reported by the real one.
	stop := func() { stopEarly(); <-webDone }

	deadline := time.Now().Add(wait)
	backoff := depsBackoffMin
	for attempt := 1; ; attempt++ {
		st, err := checkDeps(ctx, cfg)
		if err == nil {
			if attempt > 1 {
				log.Info("dependencies answer; starting", zap.Int("attempts", attempt))
			}
			stop()
			return st, nil
		}
		reason.Store(err.Error())
		if ctx.Err() != nil {
			stop()
			return nil, err
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("gave up after %s (-wait-deps): %w", wait, err)
		}
		sleep := backoff/2 + rand.N(backoff/2+1)
		log.Warn("waiting for dependencies", zap.Error(err), zap.Int("attempt", attempt), zap.Duration("retry_in", sleep))
		select {
		case <-ctx.Done():
			stop()
			return nil, err
		case <-time.After(sleep):
		}
		backoff = min(backoff*2, depsBackoffMax)
	}
}

// checkDeps opens the store and asks a broker for metadata. Errors carry
// no secret: the store redacts the DSN.
func checkDeps(ctx context.Context, cfg *config.Config) (*store.Store, error) {
	actx, cancel := context.WithTimeout(ctx, depsAttempt)
	defer cancel()
	st, err := store.Open(actx, cfg.Postgres.DSN, int32(cfg.Postgres.MaxConns))
	if err != nil {
		return nil, err
	}
	if err := pingKafka(actx, cfg.Kafka.Brokers); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

func pingKafka(ctx context.Context, brokers []string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DialTimeout(depsAttempt))
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	defer cl.Close()
	if err := cl.Ping(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = errors.New("no broker answered")
		}
		return fmt.Errorf("kafka %v: %w", brokers, err)
	}
	return nil
}
