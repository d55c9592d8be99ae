//go:build scaleinprocess

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/gateway"
	"github.com/smsgate/smsgate/internal/store"
)

// startInProcess runs the gateway inside this process (for -trace and
// -cpuprofile: the binary exposes no pprof). Its /metrics is served on
// httpAddr like the binary's, so observe works unchanged; RSS and CPU then
// include the harness. stop cancels it and waits; exited receives Run's
// result.
func startInProcess(ctx context.Context, cfgPath, httpAddr string, exited chan<- error) (stop func(), err error) {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.Postgres.DSN, 16) // as cmd/smsgate run
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	gw, err := gateway.New(cfg, st, gateway.Options{Registerer: reg})
	if err != nil {
		st.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", httpAddr)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("metrics listener: %w", err)
	}
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }() // ends at Shutdown below
	gctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := gw.Run(gctx)
		if err == nil {
			err = errors.New("gateway stopped")
		}
		exited <- err
	}()
	return func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			fmt.Fprintln(os.Stderr, "scale: in-process gateway did not stop within 30 s")
		}
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
		st.Close()
	}, nil
}
