package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// readRSS returns the resident set of pid in bytes (0 if it is gone).
func readRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) < 2 {
				return 0
			}
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// readCPU returns user+system CPU seconds of pid (clock ticks of 1/100 s,
// the Linux default USER_HZ).
func readCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 > len(s) {
		return 0
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}

// freeLoopbackAddr reserves a loopback port by listening and closing; the
// gateway binds it moments later (a race only with other processes).
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// metrics is one scrape of the gateway's /metrics.
type metrics map[string]*dto.MetricFamily

var metricsClient = &http.Client{Timeout: 5 * time.Second}

// scrape reads url (Prometheus text format) within a deadline.
func scrape(ctx context.Context, url string) (metrics, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := metricsClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("scrape: %w", err)
	}
	return mfs, nil
}

// sum adds the values of name's series whose labels include match; ok is
// false when the family is absent.
func (m metrics) sum(name string, match map[string]string) (v float64, ok bool) {
	mf := m[name]
	if mf == nil {
		return 0, false
	}
	for _, s := range mf.GetMetric() {
		if !hasLabels(s, match) {
			continue
		}
		switch {
		case s.Gauge != nil:
			v += s.Gauge.GetValue()
		case s.Counter != nil:
			v += s.Counter.GetValue()
		case s.Untyped != nil:
			v += s.Untyped.GetValue()
		}
	}
	return v, true
}

// byLabel returns name's values keyed by label (series with other labels
// matching match).
func (m metrics) byLabel(name, label string, match map[string]string) map[string]float64 {
	out := map[string]float64{}
	mf := m[name]
	if mf == nil {
		return out
	}
	for _, s := range mf.GetMetric() {
		if !hasLabels(s, match) {
			continue
		}
		for _, lp := range s.GetLabel() {
			if lp.GetName() == label {
				out[lp.GetValue()] += s.GetGauge().GetValue() + s.GetCounter().GetValue()
			}
		}
	}
	return out
}

func hasLabels(s *dto.Metric, match map[string]string) bool {
	for k, want := range match {
		found := false
		for _, lp := range s.GetLabel() {
			if lp.GetName() == k && lp.GetValue() == want {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
