package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/pkg/kafkabroker"
)

const depsSecret = "Pg-S3cr3t-4242"

// freePort returns a loopback port nothing listens on (just closed).
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func httpGet(url string) (int, string) {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// With Postgres unreachable, start-up waits (alive, not ready, with the
// reason) and then gives up; in no DSN form does the password appear in
// the error, the logs or the HTTP answers.
func TestWaitForDepsRedactsEveryDSNForm(t *testing.T) {
	pg := freePort(t)
	host, port, _ := net.SplitHostPort(pg)
	forms := map[string]string{
		"url":       "postgres://smsgate:" + depsSecret + "@" + pg + "/smsgate?connect_timeout=1",
		"kv":        "host=" + host + " port=" + port + " user=smsgate password=" + depsSecret + " dbname=smsgate connect_timeout=1",
		"kv quoted": "host=" + host + " port=" + port + " user=smsgate password='" + depsSecret + " x' dbname=smsgate connect_timeout=1",
	}
	for name, dsn := range forms {
		t.Run(name, func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			listen := freePort(t)
			cfg := &config.Config{Postgres: config.Postgres{DSN: dsn, MaxConns: 4}, HTTP: config.HTTP{Listen: listen},
				Kafka: config.Kafka{Brokers: []string{freePort(t)}}}
			errc := make(chan error, 1)
			start := time.Now()
			go func() {
				_, err := waitForDeps(context.Background(), cfg, zap.New(core), prometheus.NewRegistry(), 2*time.Second)
				errc <- err
			}()
			var live, ready int
			var readyBody string
			for i := 0; i < 40 && (live != 200 || ready != 503); i++ {
				time.Sleep(50 * time.Millisecond)
				live, _ = httpGet("http://" + listen + "/healthz")
				ready, readyBody = httpGet("http://" + listen + "/readyz")
			}
			if live != 200 || ready != 503 || !strings.Contains(readyBody, "waiting for dependencies") {
				t.Errorf("while waiting: /healthz %d, /readyz %d %q", live, ready, readyBody)
			}
			err := <-errc
			if err == nil {
				t.Fatal("waitForDeps succeeded without Postgres")
			}
			if time.Since(start) < 2*time.Second {
				t.Errorf("gave up after %v, before -wait-deps", time.Since(start))
			}
			if !strings.Contains(err.Error(), "gave up after") {
				t.Errorf("error does not say it gave up: %v", err)
			}
			texts := []string{err.Error(), readyBody}
			for _, e := range logs.All() {
				texts = append(texts, e.Message)
				for _, v := range e.ContextMap() {
					if s, ok := v.(string); ok {
						texts = append(texts, s)
					}
				}
			}
			if logs.FilterMessage("waiting for dependencies").Len() == 0 {
				t.Error("no warning logged while waiting")
			}
			for _, s := range texts {
				if strings.Contains(s, "S3cr3t") {
					t.Errorf("the password leaked: %q", s)
				}
			}
			// The port is free again for the real server.
			if ln, err := net.Listen("tcp", listen); err != nil {
				t.Errorf("the waiting server kept the port: %v", err)
			} else {
				ln.Close()
			}
		})
	}
}

// A broker that comes up late: start-up waits for it, then proceeds.
func TestWaitForDepsKafkaLate(t *testing.T) {
	dsn := "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" // exists on every Postgres
	kafkaAddr := freePort(t)
	cfg := &config.Config{Postgres: config.Postgres{DSN: dsn, MaxConns: 4}, HTTP: config.HTTP{Listen: freePort(t)},
		Kafka: config.Kafka{Brokers: []string{kafkaAddr}}}
	go func() {
		time.Sleep(1500 * time.Millisecond)
		b, err := kafkabroker.Start(kafkabroker.Options{Addr: kafkaAddr})
		if err != nil {
			t.Errorf("broker: %v", err)
			return
		}
		t.Cleanup(b.Close)
	}()
	core, logs := observer.New(zapcore.InfoLevel)
	st, err := waitForDeps(context.Background(), cfg, zap.New(core), prometheus.NewRegistry(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if logs.FilterMessage("waiting for dependencies").Len() == 0 || logs.FilterMessage("dependencies answer; starting").Len() == 0 {
		t.Errorf("log: %v", logs.All())
	}
}
