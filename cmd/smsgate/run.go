package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/gateway"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/internal/web"
)

func init() {
	register("run", "run the gateway", runGateway)
	register("migrate", "apply database migrations", runMigrate)
}

func runGateway(ctx context.Context, args []string) error {
	fs := newFlagSet("run")
	path := fs.String("config", "smsgate.yml", "config file")
	level := fs.String("log-level", "", "log level (overrides log.level)")
	instance := fs.String("instance-id", os.Getenv("SMSGATE_INSTANCE_ID"), "this instance's name in Postgres (claims, bind slots); stable names (e.g. a StatefulSet pod) let a restart reclaim its own bind slots at once; default host-random")
	pprofAddr := fs.String("pprof", "", "serve Go's /debug/pprof on this loopback address (e.g. 127.0.0.1:6060) for profiling; off by default")
	waitDeps := fs.Duration("wait-deps", 2*time.Minute, "at start, wait this long for Postgres and a Kafka broker to answer (jittered back-off; /healthz alive, /readyz not ready meanwhile) before giving up; 0 = try once")
	stopTimeout := fs.Duration("stop-timeout", 30*time.Second, "after SIGTERM/SIGINT, exit (status 1) if the graceful stop has not finished by then; a second signal exits at once. What was not written then is repaired at the next start, as after a crash")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *waitDeps < 0 {
		return fmt.Errorf("-wait-deps %v: must not be negative", *waitDeps)
	}
	if *stopTimeout <= 0 {
		return fmt.Errorf("-stop-timeout %v: must be positive", *stopTimeout)
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	if *level != "" {
		cfg.Log.Level = *level
	}
	log, err := newLogger(cfg.Log.Level)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // nothing to do about a failed sync at exit
	applyRuntime(cfg.Runtime, log)
	done := make(chan struct{})
	defer close(done)
	go stopWatchdog(ctx, done, *stopTimeout, log)
	if *pprofAddr != "" {
		stopPprof, err := servePprof(*pprofAddr, log)
		if err != nil {
			return err
		}
		defer stopPprof()
	}
	return serve(ctx, cfg, *path, log, nil, *instance, *waitDeps)
}

// stopWatchdog bounds a graceful stop: a stop that hangs (Postgres or
// Kafka gone, an SMSC that never answers unbind) must not keep the
// process — and its bind slots' leases — alive past what an orchestrator
// waits. Exiting early is safe: the journal is built to survive kill -9.
func stopWatchdog(ctx context.Context, done <-chan struct{}, timeout time.Duration, log *zap.Logger) {
	select {
	case <-ctx.Done():
	case <-done:
		return
	}
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(again)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
		log.Error("graceful stop did not finish in time; exiting (what was not written is repaired at the next start)", zap.Duration("stop_timeout", timeout))
	case <-again:
		log.Warn("second signal; exiting without finishing the graceful stop")
	}
	_ = log.Sync()
	os.Exit(1)
}

// serve runs the gateway and its HTTP server until ctx ends. reg may be nil
// (a fresh registry with Go and process collectors is made).
func serve(ctx context.Context, cfg *config.Config, path string, log *zap.Logger, reg *prometheus.Registry, instanceID string, waitDeps time.Duration) error {
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	st, err := waitForDeps(ctx, cfg, log, reg, waitDeps)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	gw, err := gateway.New(cfg, st, gateway.Options{Logger: log, Registerer: reg, InstanceID: instanceID})
	if err != nil {
		return err
	}
	srv := web.New(web.Options{Listen: cfg.HTTP.Listen, Tokens: cfg.HTTP.Tokens, TLSCert: cfg.HTTP.TLSCert, TLSKey: cfg.HTTP.TLSKey, Gatherer: reg, Store: st,
		Ready: gw.Ready, Live: gw.Live, Logger: log, ShowMessageText: cfg.HTTP.ShowMessageText, Control: gw, Trace: gw.Trace,
		Accounts: gw.Accounts, KickUnpark: gw.KickUnpark})

	var g run.Group
	gctx, cancelGW := context.WithCancel(context.WithoutCancel(ctx))
	g.Add(func() error { return gw.Run(gctx) }, func(error) { cancelGW() })
	wctx, cancelWeb := context.WithCancel(context.WithoutCancel(ctx))
	g.Add(func() error { return srv.Run(wctx) }, func(error) { cancelWeb() })
	// Signals: the context (SIGINT/SIGTERM) stops; SIGHUP reloads routes and rates.
	sctx, cancelSig := context.WithCancel(ctx)
	g.Add(func() error {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		for {
			select {
			case <-sctx.Done():
				return nil
			case <-hup:
				if err := reload(gw, path, log); err != nil {
					log.Error("reload refused; the running tables stay", zap.Error(err))
				}
				if err := srv.ReloadTLS(); err != nil {
					log.Error("TLS certificate reload failed; the previous certificate stays in use", zap.Error(err))
				}
			}
		}
	}, func(error) { cancelSig() })
	log.Info("smsgate running", zap.String("http", cfg.HTTP.Listen), zap.Int("operators", len(cfg.Operators)))
	err = g.Run()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

func reload(gw *gateway.Gateway, path string, log *zap.Logger) error {
	if path == "" {
		return errors.New("no config file to reload")
	}
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	if err := gw.Reload(cfg); err != nil {
		return err
	}
	log.Info("routes and rates reloaded", zap.String("config", path))
	return nil
}

func runMigrate(ctx context.Context, args []string) error {
	fs := newFlagSet("migrate")
	path := fs.String("config", "smsgate.yml", "config file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.Postgres.DSN, 2)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "migrations applied in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// newLogger builds a production zap logger at level, sampled so hot-path
// warnings cannot flood the output.
func newLogger(level string) (*zap.Logger, error) {
	cfg := zap.NewProductionConfig()
	if level == "" {
		level = "info"
	}
	lvl, err := zap.ParseAtomicLevel(level)
	if err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	cfg.Level = lvl
	cfg.Sampling = &zap.SamplingConfig{Initial: 100, Thereafter: 100}
	return cfg.Build()
}
