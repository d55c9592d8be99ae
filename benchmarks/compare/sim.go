package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// simStats are the simulator counters the comparison uses. Both simulators
// name them the same in their stats JSON.
type simStats struct {
	Submits       uint64 `json:"submits"`
	ReceiptsSent  uint64 `json:"receipts_sent"`
	ReceiptsAcked uint64 `json:"receipts_acked"`
}

func parseSimStats(b []byte) (simStats, error) {
	var s simStats
	if err := json.Unmarshal(b, &s); err != nil {
		return simStats{}, fmt.Errorf("simulator stats: %w", err)
	}
	return s, nil
}

// smsc is one running SMSC simulator process.
type smsc struct {
	kind  string // "go" or "node"
	addr  string // SMPP host:port
	p     *proc
	stats func() (simStats, error)
}

// freePort asks the kernel for a free loopback port. Another process could
// take it before we listen on it; the start then fails loudly.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitListening dials addr until it accepts or d passes.
func waitListening(ctx context.Context, addr string, d time.Duration, p *proc) error {
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if p != nil && p.exited() {
			return fmt.Errorf("%s exited before listening on %s", p.name, addr)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s not listening after %s: %w", addr, d, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startSMSC starts the simulator of the given kind with receipts on (they
// are only sent when registered_delivery asks for one).
func startSMSC(ctx context.Context, kind, dir string, o opts) (*smsc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	return startSMSCOnPort(ctx, kind, dir, o, port)
}

// startSMSCOnPort is startSMSC on a port chosen before (Kannel's config
// names it before the simulator runs).
func startSMSCOnPort(ctx context.Context, kind, dir string, o opts, port int) (*smsc, error) {
	var err error
	addr := "127.0.0.1:" + strconv.Itoa(port)
	s := &smsc{kind: kind, addr: addr}
	logPath := filepath.Join(dir, "smsc-"+kind+".log")
	switch kind {
	case "go":
		sp, err := freePort()
		if err != nil {
			return nil, err
		}
		statsAddr := "127.0.0.1:" + strconv.Itoa(sp)
		s.p, err = startProc(ctx, logPath, o.bin, "smsc-sim", "-listen", addr, "-stats-listen", statsAddr, "-receipts=true")
		if err != nil {
			return nil, err
		}
		client := &http.Client{Timeout: 2 * time.Second}
		s.stats = func() (simStats, error) {
			resp, err := client.Get("http://" + statsAddr + "/stats")
			if err != nil {
				return simStats{}, fmt.Errorf("simulator stats: %w", err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			if err != nil {
				return simStats{}, fmt.Errorf("simulator stats: %w", err)
			}
			return parseSimStats(b)
		}
		if err := waitListening(ctx, statsAddr, 10*time.Second, s.p); err != nil {
			s.p.stop(time.Second)
			return nil, err
		}
	case "node":
		statsFile := filepath.Join(dir, "smsc-node-stats.json")
		s.p, err = startProc(ctx, logPath, "node", o.nodeSMSC, "--port", strconv.Itoa(port), "--receipts", "--stats-file", statsFile)
		if err != nil {
			return nil, err
		}
		// smsc.js rewrites the file (tmp + rename) once a second; the
		// sampler below turns that into rates over the interior samples.
		s.stats = func() (simStats, error) {
			b, err := os.ReadFile(statsFile)
			if os.IsNotExist(err) {
				return simStats{}, nil
			}
			if err != nil {
				return simStats{}, fmt.Errorf("simulator stats: %w", err)
			}
			return parseSimStats(b)
		}
	default:
		return nil, fmt.Errorf("unknown simulator %q (want go or node)", kind)
	}
	if err := waitListening(ctx, addr, 10*time.Second, s.p); err != nil {
		s.p.stop(time.Second)
		return nil, fmt.Errorf("%w\n%s", err, logTail(logPath, 2000))
	}
	return s, nil
}
