package faults

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/pkg/kafkabroker"
	"github.com/smsgate/smsgate/pkg/smppsim"
)

// profile holds the counts and durations of one form (short or long).
type profile struct {
	name        string
	rate        int           // messages produced per second
	warmup      time.Duration // load before the first fault
	tail        time.Duration // load after the last fault ends
	killEvery   time.Duration // kill -9 interval
	killFor     time.Duration // how long the kill loop runs
	faultFor    time.Duration // SMSC drops, latency, bandwidth
	halfOpenFor time.Duration // nftables drop held this long
	stormFor    time.Duration // 50% ESME_RTHROTTLED
	pgDownFor   time.Duration // Postgres down between stop and start
	kafkaDown   time.Duration // broker down between kill and start
	garbage     int           // hostile PDUs sent
	malformed   int           // malformed Kafka records mixed in
	settle      time.Duration // bound on waiting for every id's outcome
}

// topics as both broker forms create them (kafka-broker's -topics default).
var topics = map[string]int{"sms.submit": 4, "sms.status": 4, "sms.mo": 1, "sms.dlq": 1}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// smsgateBinary builds cmd/smsgate once per test run (without -race: the
// gateway under test runs as it does in production). $SMSGATE_BIN names a
// prebuilt binary instead (e.g. one built from a clean checkout while the
// working tree is being edited).
func smsgateBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if p := os.Getenv("SMSGATE_BIN"); p != "" {
			binPath = p
			return
		}
		dir, err := os.MkdirTemp("", "smsgate-faults-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "smsgate")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/smsgate")
		cmd.Dir = repoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// freshDB creates a database on the server at base (postgres://user@host:port)
// and drops it when the test ends.
func freshDB(t *testing.T, base string) string {
	t.Helper()
	dsn := base + "/smsgate_faults_" + randHex(5) + "?sslmode=disable"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := store.EnsureDatabase(ctx, dsn); err != nil {
		t.Fatalf("postgres is needed (run scripts/ensure-deps.sh): %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = store.DropDatabase(ctx, dsn)
	})
	return dsn
}

func sharedPostgres() string {
	if b := os.Getenv("SMSGATE_TEST_POSTGRES"); b != "" {
		return b
	}
	return "postgres://postgres@127.0.0.1:5432"
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// proc is a child process the test owns: stopped (SIGTERM, then SIGKILL)
// at cleanup at the latest.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func startProc(t *testing.T, name, logPath string, stdout io.Writer, bin string, args ...string) *proc {
	t.Helper()
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stderr = lf
	cmd.Stdout = lf
	if stdout != nil {
		cmd.Stdout = stdout
	}
	if err := cmd.Start(); err != nil {
		lf.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		lf.Close()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop(20 * time.Second) })
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop asks politely, then kills after grace.
func (p *proc) stop(grace time.Duration) {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.kill()
	}
}

// tail returns the last n lines of the process's log, for failure messages.
func (p *proc) tail(n int) string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// rigOpts selects how each part of a scenario runs.
type rigOpts struct {
	sim         smppsim.Options
	startSim    func(o smppsim.Options) (*smppsim.Server, error) // nil: smppsim.Start on loopback
	pgBase      string                                           // "": the machine's shared cluster
	brokerProc  bool                                             // the broker as its own restartable process
	operatorYML string                                           // extra flow-map keys for the operator
	loadFor     time.Duration                                    // bound on the load's duration; 0: the profile's fault durations + 2 min
	httpListen  string                                           // the gateway's HTTP address; "": 127.0.0.1:0
	operators   string                                           // more operator lines after magti (YAML list items)
}

// rig is one scenario's world: a Kafka-protocol broker, Postgres, one
// simulated SMSC recording what it accepted, the gateway binary, and a
// reader of every output topic.
type rig struct {
	t      *testing.T
	dir    string
	bin    string
	dsn    string
	sim    *smppsim.Server
	broker *kafkabroker.Broker
	// brokerProc is the broker when it runs as a process (rigOpts.brokerProc).
	brokerProc *proc
	brokerAddr string
	brokerDir  string
	events     *eventLog
	opts       rigOpts
	cfgPath    string

	mu  sync.Mutex
	gw  *proc
	gwN int
}

func newRig(t *testing.T, o rigOpts) *rig {
	t.Helper()
	r := &rig{t: t, dir: t.TempDir(), bin: smsgateBinary(t), opts: o}
	base := o.pgBase
	if base == "" {
		base = sharedPostgres()
	}
	r.dsn = freshDB(t, base)
	if o.brokerProc {
		r.brokerAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		r.brokerDir = filepath.Join(r.dir, "kafka-data")
		r.startBrokerProc()
	} else {
		b, err := kafkabroker.Start(kafkabroker.Options{Topics: topics})
		if err != nil {
			t.Fatalf("broker: %v", err)
		}
		t.Cleanup(b.Close)
		r.broker, r.brokerAddr = b, b.Addrs()[0]
	}
	so := o.sim
	so.RecordSubmits = true
	if so.MaxRedeliveries == 0 {
		// A receipt answered with an error (e.g. while Postgres is down) is
		// offered again every second for as long as a real SMSC would keep
		// it, not dropped after the simulator's default of 3 tries.
		so.MaxRedeliveries = 1000
	}
	if so.Addr == "" {
		so.Addr = "127.0.0.1:0"
	}
	start := o.startSim
	if start == nil {
		start = smppsim.Start
	}
	sim, err := start(so)
	if err != nil {
		t.Fatalf("simulator: %v", err)
	}
	t.Cleanup(func() { sim.Close() })
	r.sim = sim
	r.events = newEventLog(t, r.brokerAddr)
	return r
}

// startBrokerProc runs `smsgate kafka-broker` with persistence and fsync
// per batch (an acknowledged record survives kill -9) and waits until it
// listens.
func (r *rig) startBrokerProc() {
	r.t.Helper()
	pr, pw := io.Pipe()
	p := startProc(r.t, "kafka-broker", filepath.Join(r.dir, "kafka-broker.log"), pw, r.bin,
		"kafka-broker", "-listen", r.brokerAddr, "-data-dir", r.brokerDir, "-sync", "-log-level", "error")
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		ok := false
		for sc.Scan() {
			if !ok && strings.HasPrefix(sc.Text(), "LISTENING ") {
				ok = true
				ready <- true
			}
		}
		if !ok {
			ready <- false
		}
	}()
	go func() { <-p.done; pw.Close() }()
	select {
	case ok := <-ready:
		if !ok {
			r.t.Fatalf("kafka-broker exited: %v\n%s", p.err, p.tail(20))
		}
	case <-time.After(30 * time.Second):
		r.t.Fatalf("kafka-broker not listening after 30s\n%s", p.tail(20))
	}
	r.brokerProc = p
}

// writeConfig writes the gateway's config; the operator dials host:port.
func (r *rig) writeConfig(host string, port int) {
	r.t.Helper()
	extra := r.opts.operatorYML
	if extra != "" {
		extra = ", " + extra
	}
	listen := r.opts.httpListen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	y := fmt.Sprintf(`kafka:
  brokers: [%q]
  group: smsgate-faults
  session_timeout: 6s
postgres:
  dsn: %q
http:
  listen: %s
operators:
  - {name: magti, host: %s, port: %d, system_id: acme, password: pw, binds: 2, window: 50, tps: 2000, enquire_link: 2s, resp_timeout: 3s%s}
%sroutes:
  - {prefix: "995", operator: magti, cost: 0.012, currency: EUR}
accounts:
  - name: acme
    senders: ["ACME"]
    country: "995"
    rates:
      - {prefix: "995", price: 0.030, currency: EUR}
dlr: {timeout: 72h}
`, r.brokerAddr, r.dsn, listen, host, port, extra, r.opts.operators)
	r.cfgPath = filepath.Join(r.dir, "smsgate.yml")
	if err := os.WriteFile(r.cfgPath, []byte(y), 0o600); err != nil {
		r.t.Fatal(err)
	}
}

// simHostPort is the simulator's own address.
func (r *rig) simHostPort() (string, int) {
	a, err := net.ResolveTCPAddr("tcp", r.sim.Addr())
	if err != nil {
		r.t.Fatal(err)
	}
	return a.IP.String(), a.Port
}

// startGateway starts (or restarts) the gateway binary.
func (r *rig) startGateway() {
	r.t.Helper()
	if r.cfgPath == "" {
		h, p := r.simHostPort()
		r.writeConfig(h, p)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gwN++
	r.gw = startProc(r.t, "smsgate", filepath.Join(r.dir, "smsgate.log"), nil, r.bin,
		"run", "-config", r.cfgPath, "-log-level", "warn")
}

func (r *rig) gateway() *proc {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gw
}

// billedTwice counts ledger rows beyond the first for a (message, part).
func (r *rig) billedTwice() int {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, r.dsn)
	if err != nil {
		r.t.Fatalf("ledger check: %v", err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) - count(DISTINCT (message_id, part)) FROM ledger`).Scan(&n); err != nil {
		r.t.Fatalf("ledger check: %v", err)
	}
	return n
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func splitHostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	a, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return a.IP.String(), a.Port
}
