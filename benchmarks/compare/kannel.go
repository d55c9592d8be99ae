package main

import (
	"bufio"
	"context"
	_ "embed"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"
)

//go:embed kannel.conf.tmpl
var kannelConfText string

var kannelConf = template.Must(template.New("kannel.conf").Parse(kannelConfText))

type kannelParams struct {
	Dir                                    string
	AdminPort, BoxPort, SendPort, SMSCPort int
	Binds, Window                          int
	Store                                  bool
}

func renderKannelConf(p kannelParams) (string, error) {
	var b strings.Builder
	if err := kannelConf.Execute(&b, p); err != nil {
		return "", fmt.Errorf("kannel.conf: %w", err)
	}
	return b.String(), nil
}

// kannelQueued reads the outgoing queue length from bearerbox's status.txt
// line "SMS: received R (Q queued), sent S (Q queued), store size Z".
var kannelQueuedRE = regexp.MustCompile(`SMS: received \d+ \(\d+ queued\), sent \d+ \((\d+) queued\)`)

func parseKannelQueued(status string) (int, error) {
	m := kannelQueuedRE.FindStringSubmatch(status)
	if m == nil {
		return 0, fmt.Errorf("bearerbox status: no SMS queue line")
	}
	return strconv.Atoi(m[1])
}

// destination i's number; the same numbers are used for both systems.
func destination(i int) string { return fmt.Sprintf("99559%07d", i) }

const messageText = "Your code is 123456. It expires in 5 minutes."

// runKannel pre-loads n messages into bearerbox with mtbatch while the SMSC
// is not yet listening (bearerbox keeps them queued, in its file store when
// durable), then starts the SMSC and measures how fast Kannel drains.
func runKannel(ctx context.Context, o opts, simKind, mode string, binds int) (res result, err error) {
	res = result{system: "kannel", mode: mode, sim: simKind, binds: binds, n: o.n, correlated: -1}
	ctx, cancel := context.WithTimeout(ctx, o.runTimeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "compare-kannel-")
	if err != nil {
		return res, err
	}
	defer func() {
		if err == nil {
			os.RemoveAll(dir)
		} else {
			err = fmt.Errorf("%w (logs kept in %s)", err, dir)
		}
	}()
	var ports [4]int
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			return res, err
		}
	}
	receipts := mode == modeReceipts
	conf, err := renderKannelConf(kannelParams{Dir: dir, AdminPort: ports[0], BoxPort: ports[1], SendPort: ports[2],
		SMSCPort: ports[3], Binds: binds, Window: o.window, Store: mode != modeRaw})
	if err != nil {
		return res, err
	}
	confPath := filepath.Join(dir, "kannel.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return res, err
	}

	var counter *dlrCounter
	if receipts {
		if counter, err = startDLRCounter(); err != nil {
			return res, err
		}
		defer counter.close()
	}
	bb, err := startProc(ctx, filepath.Join(dir, "bearerbox.log"), "bearerbox", "-v", "4", confPath)
	if err != nil {
		return res, err
	}
	defer bb.stop(10 * time.Second)
	boxAddr := "127.0.0.1:" + strconv.Itoa(ports[1])
	if err := waitListening(ctx, boxAddr, 15*time.Second, bb); err != nil {
		return res, fmt.Errorf("bearerbox: %w\n%s", err, logTail(filepath.Join(dir, "bearerbox.log"), 2000))
	}
	pids := []int{bb.pid()}
	if receipts {
		sb, err := startProc(ctx, filepath.Join(dir, "smsbox.log"), "smsbox", "-v", "4", confPath)
		if err != nil {
			return res, err
		}
		defer sb.stop(10 * time.Second)
		if err := waitListening(ctx, "127.0.0.1:"+strconv.Itoa(ports[2]), 15*time.Second, sb); err != nil {
			return res, fmt.Errorf("smsbox: %w\n%s", err, logTail(filepath.Join(dir, "smsbox.log"), 2000))
		}
		pids = append(pids, sb.pid())
	}
	// CPU and RSS of bearerbox (+ smsbox) from here: accepting the batch
	// is part of Kannel's work, as ingesting from Kafka is part of smsgate's.
	smp := newSampler(200*time.Millisecond, pids...)
	defer func() {
		if smp != nil {
			smp.finish()
		}
	}()

	// Pre-load with mtbatch: one message per receiver line.
	content := filepath.Join(dir, "content.txt")
	rcpts := filepath.Join(dir, "receivers.txt")
	if err := os.WriteFile(content, []byte(messageText+"\n"), 0o644); err != nil {
		return res, err
	}
	if err := writeReceivers(rcpts, o.n); err != nil {
		return res, err
	}
	args := []string{"-v", "4", "-b", "127.0.0.1", "-p", strconv.Itoa(ports[1]), "-x", "-f", "ACME"}
	if receipts {
		args = append(args, "-D", "31", "-u", counter.url())
	}
	args = append(args, content, rcpts)
	t0 := time.Now()
	mt, err := startProc(ctx, filepath.Join(dir, "mtbatch.log"), "mtbatch", args...)
	if err != nil {
		return res, err
	}
	if err := mt.wait(o.runTimeout / 2); err != nil {
		return res, fmt.Errorf("mtbatch: %w\n%s", err, logTail(filepath.Join(dir, "mtbatch.log"), 2000))
	}
	admin := fmt.Sprintf("http://127.0.0.1:%d/status.txt?password=bench", ports[0])
	if err := waitKannelQueued(ctx, admin, o.n); err != nil {
		return res, err
	}
	res.preload = time.Since(t0)

	sim, err := startSMSCOnPort(ctx, simKind, dir, o, ports[3])
	if err != nil {
		return res, err
	}
	defer sim.p.stop(5 * time.Second)
	var correlated func() (int, time.Time)
	if receipts {
		correlated = func() (int, time.Time) {
			d, _, _, last := counter.counts()
			return d, last
		}
	}
	if err := measure(ctx, sim, o, &res, correlated); err != nil {
		return res, err
	}
	res.cpu, res.rss = smp.finish()
	smp = nil
	if receipts {
		_, byType, bad, _ := counter.counts()
		res.note = fmt.Sprintf("dlr callbacks by type %v, unparsable %d", byType, bad)
	}
	return res, nil
}

func writeReceivers(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for i := 0; i < n; i++ {
		w.WriteString(destination(i))
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// waitKannelQueued polls bearerbox's status page until n messages wait in
// its outgoing queue (mtbatch has exited by then, but bearerbox may still
// be moving them from the incoming list).
func waitKannelQueued(ctx context.Context, url string, n int) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	last := -1
	for {
		resp, err := client.Get(url)
		if err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if q, err := parseKannelQueued(string(b)); err == nil {
				last = q
				if q >= n {
					return nil
				}
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("bearerbox queued %d of %d after mtbatch", last, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
