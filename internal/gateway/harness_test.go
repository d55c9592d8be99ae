package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/message"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/pkg/kafkabroker"
	"github.com/smsgate/smsgate/pkg/smppsim"
)

// testDSN returns a DSN for a fresh database, dropped when the test ends.
func testDSN(t testing.TB) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	base := os.Getenv("SMSGATE_TEST_POSTGRES")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432"
	}
	dsn := base + "/smsgate_test_" + hex.EncodeToString(b[:]) + "?sslmode=disable"
	ctx := context.Background()
	if err := store.EnsureDatabase(ctx, dsn); err != nil {
		t.Fatalf("postgres is needed for this test (run scripts/ensure-deps.sh): %v", err)
	}
	t.Cleanup(func() { _ = store.DropDatabase(context.Background(), dsn) })
	return dsn
}

// env is one end-to-end setup: a real Kafka-protocol broker, real
// Postgres, simulated SMSCs, and a gateway that can be stopped and
// started again on the same state.
type env struct {
	t      testing.TB
	dsn    string
	broker *kafkabroker.Broker
	sims   map[string]*smppsim.Server
	yaml   string
	cfg    *config.Config
	st     *store.Store

	mu     sync.Mutex
	gw     *Gateway
	cancel context.CancelFunc
	done   chan error
	reg    *prometheus.Registry
	events *eventLog
}

type simSpec struct {
	name string
	opts smppsim.Options
}

// newEnv starts the broker and simulators and writes a config in which
// operator i is sims[i]. extra is appended YAML (routes, accounts...).
func newEnv(t testing.TB, sims []simSpec, body string) *env {
	t.Helper()
	e := &env{t: t, dsn: testDSN(t), sims: map[string]*smppsim.Server{}}
	b, err := kafkabroker.Start(kafkabroker.Options{Topics: map[string]int{
		"sms.submit": 3, "sms.status": 3, "sms.mo": 1, "sms.dlq": 1}})
	if err != nil {
		t.Fatalf("broker: %v", err)
	}
	e.broker = b
	t.Cleanup(b.Close)
	var ops strings.Builder
	for _, s := range sims {
		o := s.opts
		o.Addr = "127.0.0.1:0"
		o.RecordSubmits = true
		srv, err := smppsim.Start(o)
		if err != nil {
			t.Fatalf("simulator %s: %v", s.name, err)
		}
		t.Cleanup(func() { srv.Close() })
		e.sims[s.name] = srv
		host, port := splitHostPort(t, srv.Addr())
		fmt.Fprintf(&ops, "  - {name: %s, host: %s, port: %s, system_id: %s, password: pw, window: 50, tps: 5000, binds: 1, enquire_link: 5s, resp_timeout: 3s}\n",
			s.name, host, port, sysID(o))
	}
	e.yaml = fmt.Sprintf(`kafka:
  brokers: [%q]
  group: smsgate-test
  session_timeout: 6s
postgres:
  dsn: %q
http:
  listen: 127.0.0.1:0
operators:
%s%s`, b.Addrs()[0], e.dsn, ops.String(), body)
	e.cfg = e.parse(e.yaml)
	st, err := store.Open(context.Background(), e.dsn, 16)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.st = st
	e.events = newEventLog(t, b.Addrs()[0])
	return e
}

func sysID(o smppsim.Options) string {
	if o.SystemID != "" {
		return o.SystemID
	}
	return "acme"
}

func (e *env) parse(y string) *config.Config {
	e.t.Helper()
	cfg, err := config.Parse([]byte(y), ".")
	if err != nil {
		e.t.Fatalf("config: %v\n%s", err, y)
	}
	return cfg
}

// start runs a gateway; stop ends it gracefully.
func (e *env) start() {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reg = prometheus.NewRegistry()
	gw, err := New(e.cfg, e.st, Options{Logger: testLogger(e.t), Registerer: e.reg, HousekeepingEvery: 100 * time.Millisecond,
		OrphanAfter: time.Second})
	if err != nil {
		e.t.Fatalf("gateway: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.gw, e.cancel, e.done = gw, cancel, make(chan error, 1)
	go func() { e.done <- gw.Run(ctx) }()
	e.t.Cleanup(e.stop)
}

// waitBound waits until each named operator has a usable bind.
func (e *env) waitBound(ops ...string) {
	e.t.Helper()
	waitFor(e.t, 15*time.Second, fmt.Sprintf("%v bound", ops), func() bool {
		for _, op := range ops {
			if !e.gw.pools[op].Usable() {
				return false
			}
		}
		return true
	})
}

func (e *env) stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cancel == nil {
		return
	}
	e.cancel()
	select {
	case err := <-e.done:
		if err != nil {
			e.t.Errorf("gateway run: %v", err)
		}
	case <-time.After(30 * time.Second):
		e.t.Errorf("gateway did not stop within 30s")
	}
	e.cancel = nil
}

// testLogger logs to the test when SMSGATE_TEST_LOG is set: "1" (or any
// value that is not a level) at debug, else at the level it names.
func testLogger(t testing.TB) *zap.Logger {
	v := os.Getenv("SMSGATE_TEST_LOG")
	if v == "" {
		return zap.NewNop()
	}
	lvl, err := zapcore.ParseLevel(v)
	if err != nil {
		lvl = zapcore.DebugLevel
	}
	return zaptest.NewLogger(t, zaptest.Level(lvl))
}

// produce writes raw records to sms.submit.
func (e *env) produce(recs ...kafka.Message) {
	e.t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(e.broker.Addrs()...), Topic: "sms.submit", Balancer: &kafka.Hash{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: 2 * time.Millisecond}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, recs...); err != nil {
		e.t.Fatalf("produce: %v", err)
	}
}

// submit produces JSON records built from maps.
func (e *env) submit(recs ...map[string]any) {
	e.t.Helper()
	msgs := make([]kafka.Message, len(recs))
	for i, r := range recs {
		v, _ := json.Marshal(r)
		msgs[i] = kafka.Message{Key: []byte(fmt.Sprint(r["id"])), Value: v}
	}
	e.produce(msgs...)
}

func msg(id, to, text string, kv ...any) map[string]any {
	m := map[string]any{"id": id, "account": "acme", "from": "ACME", "to": to, "text": text}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// eventLog consumes sms.status, sms.mo and sms.dlq from the beginning.
type eventLog struct {
	mu     sync.Mutex
	status map[string][]map[string]any
	mo     []map[string]any
	dlq    []map[string]any
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newEventLog(t testing.TB, broker string) *eventLog {
	l := &eventLog{status: map[string][]map[string]any{}}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	for _, topic := range []string{"sms.status", "sms.mo", "sms.dlq"} {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{broker}, Topic: topic, GroupID: "test-" + topic,
			StartOffset: kafka.FirstOffset, MaxWait: 50 * time.Millisecond, CommitInterval: time.Second})
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer r.Close()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					return
				}
				var v map[string]any
				if err := json.Unmarshal(m.Value, &v); err != nil {
					t.Errorf("%s: invalid JSON %q", topic, m.Value)
					continue
				}
				l.mu.Lock()
				switch topic {
				case "sms.status":
					id, _ := v["id"].(string)
					if string(m.Key) != id {
						t.Errorf("status event key %q != id %q", m.Key, id)
					}
					l.status[id] = append(l.status[id], v)
				case "sms.mo":
					l.mo = append(l.mo, v)
				default:
					l.dlq = append(l.dlq, v)
				}
				l.mu.Unlock()
			}
		}()
	}
	t.Cleanup(func() { cancel(); l.wg.Wait() })
	return l
}

// statuses returns the status words of id's events in order.
func (l *eventLog) statuses(id string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, v := range l.status[id] {
		s, _ := v["status"].(string)
		if d, _ := v["duplicate"].(bool); d {
			s += "(dup)"
		}
		out = append(out, s)
	}
	return out
}

func (l *eventLog) last(id string) map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	evs := l.status[id]
	if len(evs) == 0 {
		return nil
	}
	return evs[len(evs)-1]
}

func (l *eventLog) dlqCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.dlq)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
}

func splitHostPort(t testing.TB, addr string) (string, string) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		t.Fatalf("bad addr %q", addr)
	}
	return addr[:i], addr[i+1:]
}

const baseRouting = `routes:
  - {prefix: "99559", operator: magti, cost: 0.012, currency: EUR}
  - {prefix: "995", operator: silknet, cost: 0.015, currency: EUR}
  - {prefix: "995", operator: magti, cost: 0.018, currency: EUR}
accounts:
  - name: acme
    senders: ["4422", "ACME"]
    timezone: Asia/Tbilisi
    country: "995"
    rates:
      - {prefix: "995", price: 0.030, currency: EUR}
`

// dbState describes a message's rows for failure messages: its row
// state, due, operator, and its attempts and receipts.
func (e *env) dbState(id string) string {
	var st int16
	var op *string
	var due *time.Time
	var attempts, receipts string
	// Each attempt and receipt row with the batch that wrote it, its lane
	// and that lane's published watermark: enough to tell a row never
	// written from an event never published.
	err := e.st.Pool.QueryRow(context.Background(), `SELECT m.state, m.operator, m.due,
	(SELECT coalesce(string_agg(format('%s/%s st=%s batch=%s lane=%s pub=%s', a.part, a.attempt, a.state, a.batch, l.id, l.published), '; '), '-')
	   FROM attempts a LEFT JOIN journal_batches b ON b.id = a.batch LEFT JOIN lanes l ON l.id = b.lane WHERE a.message_id = m.id),
	(SELECT coalesce(string_agg(format('%s/%s st=%s batch=%s lane=%s pub=%s', r.part, r.attempt, r.state, r.batch, l.id, l.published), '; '), '-')
	   FROM receipts r LEFT JOIN journal_batches b ON b.id = r.batch LEFT JOIN lanes l ON l.id = b.lane WHERE r.message_id = m.id)
	FROM messages m WHERE id = $1`, id).Scan(&st, &op, &due, &attempts, &receipts)
	if err != nil {
		return err.Error()
	}
	o := "<nil>"
	if op != nil {
		o = *op
	}
	return fmt.Sprintf("row=%s operator=%s due=%v attempts=[%s] receipts=[%s] events=%v", message.State(st), o, due, attempts, receipts, e.events.statuses(id))
}

// metric reads one series' value from the gateway's registry (0 when
// absent): a counter, gauge or a histogram's count.
func (e *env) metric(name string, labels map[string]string) float64 {
	e.t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}
