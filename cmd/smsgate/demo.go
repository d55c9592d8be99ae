package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/redact"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/pkg/kafkabroker"
	"github.com/smsgate/smsgate/pkg/smppsim"
)

func init() {
	register("demo", "everything embedded: Kafka broker, 3 simulated SMSCs, sample traffic, dashboard, billing export", runDemo)
}

const demoDefaultDSN = "postgres://postgres@127.0.0.1:5432/smsgate_demo?sslmode=disable"

// demoOperator is one simulated operator of the demo.
type demoOperator struct {
	name  string
	quirk string
	sim   smppsim.Options
	ops   string // YAML of the operator entry (host/port added)
}

func runDemo(ctx context.Context, args []string) error {
	fs := newFlagSet("demo")
	duration := fs.Duration("duration", 60*time.Second, "how long to send sample traffic (0 = until Ctrl-C)")
	listen := fs.String("listen", "127.0.0.1:8080", "status page and API address")
	rate := fs.Int("rate", 150, "sample messages per second")
	outDir := fs.String("out", "demo-out", "where the billing export is written")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dsn := os.Getenv("SMSGATE_POSTGRES_DSN")
	if dsn == "" {
		dsn = demoDefaultDSN
	}
	if err := resetDemoDatabase(ctx, dsn); err != nil {
		return err
	}
	if ln, err := net.Listen("tcp", *listen); err != nil {
		return fmt.Errorf("status page address %s is not free (use -listen 127.0.0.1:PORT): %w", *listen, err)
	} else {
		ln.Close()
	}
	log, err := newLogger("warn")
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck

	broker, err := kafkabroker.Start(kafkabroker.Options{Addr: "127.0.0.1:0", Topics: map[string]int{
		"sms.submit": 4, "sms.status": 4, "sms.mo": 1, "sms.dlq": 1}, Logger: log})
	if err != nil {
		return fmt.Errorf("embedded Kafka broker: %w", err)
	}
	defer broker.Close()

	operators := []demoOperator{
		{name: "magti", quirk: "receipt ids in hex, submit ids in decimal",
			sim: smppsim.Options{SystemID: "acme", IDFormat: smppsim.IDDec, ReceiptIDFormat: smppsim.IDHexUpper,
				DeliveredRatio: 0.93, UndelivRatio: 0.05, ExpiredRatio: 0.02, ReceiptDelay: 400 * time.Millisecond, ReceiptJitter: 1200 * time.Millisecond},
			ops: "bind: transceiver, binds: 2, window: 50, tps: 400"},
		{name: "silknet", quirk: "throttles above 80 submit_sm/s (ESME_RTHROTTLED)",
			sim: smppsim.Options{SystemID: "acme", IDFormat: smppsim.IDHexLower, TPS: 80,
				DeliveredRatio: 0.9, UndelivRatio: 0.08, ExpiredRatio: 0.02, ReceiptDelay: 800 * time.Millisecond, ReceiptJitter: 2 * time.Second},
			ops: "bind: transmitter+receiver, binds: 1, receivers: 1, window: 20, tps: 150, charge_on: delivered"},
		{name: "geocell", quirk: "sends MO replies (votes, orders, STOP)",
			sim: smppsim.Options{SystemID: "acme", IDFormat: smppsim.IDHexUpper,
				DeliveredRatio: 0.97, UndelivRatio: 0.03, ReceiptDelay: 300 * time.Millisecond, ReceiptJitter: 700 * time.Millisecond},
			ops: "bind: transceiver, binds: 1, window: 30, tps: 200, concat: udh16"},
	}
	sims := map[string]*smppsim.Server{}
	var opsYAML strings.Builder
	for _, o := range operators {
		so := o.sim
		so.Addr = "127.0.0.1:0"
		so.MaxRecorded = 1
		srv, err := smppsim.Start(so)
		if err != nil {
			return fmt.Errorf("simulated SMSC %s: %w", o.name, err)
		}
		defer srv.Close()
		sims[o.name] = srv
		host, port, _ := net.SplitHostPort(srv.Addr())
		fmt.Fprintf(&opsYAML, "  - {name: %s, host: %s, port: %s, system_id: acme, password: demo, %s}\n", o.name, host, port, o.ops)
	}
	cfgYAML := fmt.Sprintf(demoConfig, broker.Addrs()[0], dsn, *listen, opsYAML.String())
	cfg, err := config.Parse([]byte(cfgYAML), ".")
	if err != nil {
		return fmt.Errorf("demo config: %s", config.OneLine(err))
	}

	fmt.Printf("smsgate demo\n  Kafka broker   %s (topics sms.submit, sms.status, sms.mo, sms.dlq)\n", broker.Addrs()[0])
	for _, o := range operators {
		fmt.Printf("  SMSC %-9s %s  (%s)\n", o.name, sims[o.name].Addr(), o.quirk)
	}
	fmt.Printf("  Postgres       %s\n  Status page    http://%s/\n  API token      demo-token (type it into the page to see money, MO and message traces)\n\n", redact.DSN(dsn), *listen)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	gwCtx, stopGW := context.WithCancel(context.WithoutCancel(ctx))
	defer stopGW()
	gwDone := make(chan error, 1)
	go func() { gwDone <- serve(gwCtx, cfg, "", log, reg, "demo", 30*time.Second) }()

	st, err := store.Open(ctx, dsn, 2)
	if err != nil {
		stopGW()
		return err
	}
	defer st.Close()

	trafficCtx, stopTraffic := context.WithCancel(ctx)
	if *duration > 0 {
		trafficCtx, stopTraffic = context.WithTimeout(ctx, *duration)
	}
	defer stopTraffic()
	var wg sync.WaitGroup
	wg.Add(2)
	var produced countingInt
	go func() { defer wg.Done(); produceSampleTraffic(trafficCtx, broker.Addrs(), *rate, &produced, log) }()
	go func() { defer wg.Done(); injectSampleMO(trafficCtx, sims["geocell"], log) }()

	progress := time.NewTicker(2 * time.Second)
	defer progress.Stop()
	start := time.Now()
loop:
	for {
		select {
		case err := <-gwDone:
			stopTraffic()
			wg.Wait()
			if err == nil {
				err = errors.New("gateway stopped unexpectedly")
			}
			return err
		case <-trafficCtx.Done():
			break loop
		case <-progress.C:
			printProgress(ctx, st, time.Since(start), produced.get())
		}
	}
	wg.Wait()
	if ctx.Err() == nil {
		fmt.Println("\ntraffic stopped; letting receipts arrive for 5 s ...")
		drain := time.NewTimer(5 * time.Second)
		select {
		case <-ctx.Done():
		case <-drain.C:
		}
	}
	stopGW()
	if err := <-gwDone; err != nil {
		return err
	}
	printProgress(context.Background(), st, time.Since(start), produced.get())
	return writeDemoExports(context.Background(), st, *outDir, start)
}

// resetDemoDatabase drops and recreates the demo database, with a clear
// message when Postgres is not reachable.
func resetDemoDatabase(ctx context.Context, dsn string) error {
	if err := store.DropDatabase(ctx, dsn); err != nil {
		return fmt.Errorf("postgres is not reachable at %s (%v); start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start, or set SMSGATE_POSTGRES_DSN", redact.DSN(dsn), err)
	}
	return store.EnsureDatabase(ctx, dsn)
}

type countingInt struct {
	mu sync.Mutex
	n  int
}

func (c *countingInt) add(n int) { c.mu.Lock(); c.n += n; c.mu.Unlock() }
func (c *countingInt) get() int  { c.mu.Lock(); defer c.mu.Unlock(); return c.n }

// sample texts: personalised marketing in four scripts with emoji.
var demoTexts = []struct{ text, kind string }{
	{"გამარჯობა {name}! ნოემბრის ფასდაკლება 20% 🎉 ყველა პროდუქტზე. STOP 4422", "marketing"},
	{"سلام {name}، تخفیف ویژه نوامبر ۲۰٪ 🎁 برای لغو STOP", "marketing"},
	{"Привіт, {name}! Знижка 20% на все до неділі 🛍️ Відписатися: STOP", "marketing"},
	{"Hi {name}, your order #{order} has shipped 📦 Track it at acme.example/t/{order}", "transactional"},
	{"Your ACME code is {code}. It expires in 5 minutes. Never share it.", "otp"},
	{"Reminder: your appointment is tomorrow at 10:30. Reply YES to confirm or NO to cancel.", "transactional"},
	{"{name}, this month's newsletter: new arrivals, winter sale and a gift card draw for loyal customers — reply VOTE 1, 2 or 3 to tell us what you like best, and thanks for shopping with ACME ❤️", "marketing"},
}

var demoNames = []string{"ნინო", "Ali", "Олена", "Sarah", "გიორგი", "Maryam", "Taras", "James"}
var demoDest = []string{"99559", "99557", "99532", "99555", "44770", "98912", "38067"}

// produceSampleTraffic writes sample records at rate/s until ctx ends.
func produceSampleTraffic(ctx context.Context, brokers []string, rate int, produced *countingInt, log *zap.Logger) {
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: "sms.submit", Balancer: &kafka.Hash{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond, WriteTimeout: 10 * time.Second}
	defer w.Close()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	per := max(rate/10, 1)
	n := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		batch := make([]kafka.Message, 0, per+1)
		for i := 0; i < per; i++ {
			n++
			rec := sampleRecord(n)
			v, _ := json.Marshal(rec)
			batch = append(batch, kafka.Message{Key: []byte(rec["id"].(string)), Value: v})
		}
		if n%500 < per { // now and then, a record the DLQ must catch
			batch = append(batch, kafka.Message{Key: []byte(fmt.Sprintf("bad-%d", n)), Value: []byte(`{"id":"bad-` + fmt.Sprint(n) + `","account":"acme","to":"not-a-number","text":"x"}`)})
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := w.WriteMessages(wctx, batch...)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("demo producer", zap.Error(err))
			}
			continue
		}
		produced.add(len(batch))
	}
}

func sampleRecord(n int) map[string]any {
	t := demoTexts[n%len(demoTexts)]
	name := demoNames[n%len(demoNames)]
	to := demoDest[rand.IntN(len(demoDest))] + fmt.Sprintf("%07d", rand.IntN(10_000_000))
	rec := map[string]any{"id": fmt.Sprintf("demo-%06d", n), "account": "acme", "from": "ACME", "to": "+" + to,
		"text": t.text, "params": map[string]string{"name": name, "order": fmt.Sprint(100000 + n), "code": fmt.Sprintf("%06d", rand.IntN(1_000_000))},
		"meta": map[string]any{"campaign": "demo-nov"}}
	switch t.kind {
	case "marketing":
		rec["kind"] = "marketing"
		if n%3 == 0 {
			rec["account"], rec["from"] = "shopco", "SHOP"
		}
	case "otp":
		rec["priority"] = 9
		rec["expires_at"] = time.Now().Add(5 * time.Minute).UTC().Format(time.RFC3339)
	}
	if n%40 == 0 {
		rec["send_at"] = time.Now().Add(15 * time.Second).UTC().Format(time.RFC3339)
	}
	return rec
}

// injectSampleMO plays subscribers answering: votes, confirmations, STOP,
// and a multipart reply in Georgian.
func injectSampleMO(ctx context.Context, sim *smppsim.Server, log *zap.Logger) {
	replies := []smppsim.MO{
		{From: "995599100001", To: "4422", Text: "YES"},
		{From: "995599100002", To: "4422", Text: "VOTE 2"},
		{From: "995599100003", To: "4422", Text: "STOP"},
		{From: "995599100004", To: "4422", Text: "ORDER pizza margherita, 2 pcs"},
		{From: "995599100005", To: "4422", Text: "გმადლობთ! მინდა შევუკვეთო ორი პიცა და ერთი სალათი, მიწოდება თბილისში, ვაკეში, საღამოს რვა საათისთვის 🍕🥗 დიდი მადლობა"},
		{From: "995599100006", To: "4422", Text: "NO"},
	}
	tick := time.NewTicker(3 * time.Second)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		mo := replies[i%len(replies)]
		mo.SystemID = "acme"
		mctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := sim.InjectMO(mctx, mo)
		cancel()
		if err != nil && ctx.Err() == nil {
			log.Warn("demo MO", zap.Error(err))
		}
	}
}

func printProgress(ctx context.Context, st *store.Store, elapsed time.Duration, produced int) {
	per, err := store.CountByOperator(ctx, st.Pool)
	if err != nil {
		return
	}
	names := make([]string, 0, len(per))
	for n := range per {
		names = append(names, n)
	}
	sort.Strings(names)
	var mo int64
	_ = st.Pool.QueryRow(ctx, `SELECT count(*) FROM mo`).Scan(&mo)
	fmt.Printf("[%5.0fs] produced %d, MO received %d\n", elapsed.Seconds(), produced, mo)
	for _, n := range names {
		c := per[n]
		fmt.Printf("    %-9s waiting %6d  sent %6d  delivered %6d  failed %5d  rejected %5d  (%.0f sent/s)\n",
			n, c.Waiting, c.Sent, c.Delivered, c.Failed, c.Rejected, float64(c.Sent)/max(elapsed.Seconds(), 1))
	}
}

func writeDemoExports(ctx context.Context, st *store.Store, dir string, from time.Time) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	q := store.ExportQuery{From: from.Add(-time.Hour), To: time.Now().Add(time.Hour)}
	var total int64
	for _, format := range []string{"csv", "xlsx"} {
		path := filepath.Join(dir, "billing."+format)
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		cur, err := st.BillingRows(ctx, q)
		if err != nil {
			f.Close()
			return err
		}
		if format == "csv" {
			total, err = billing.WriteBillingCSV(f, cur, nil)
		} else {
			total, err = billing.WriteBillingXLSX(f, cur, nil)
		}
		cur.Close()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("billing export %s: %w", path, err)
		}
	}
	abs, _ := filepath.Abs(dir)
	fmt.Printf("\nbilling export: %d billed parts written to %s/billing.csv and %s/billing.xlsx\n", total, abs, abs)
	return nil
}

// demoConfig is the demo's configuration: three operators with different
// prefixes and prices, two accounts with rate cards and tiers, marketing
// rules and MO keywords.
const demoConfig = `kafka:
  brokers: [%q]
  group: smsgate-demo
postgres:
  dsn: %q
http:
  listen: %q
  tokens: ["demo-token"]
operators:
%sroutes:
  - {prefix: "99559", operator: magti,   cost: 0.012, currency: EUR}
  - {prefix: "99557", operator: geocell, cost: 0.011, currency: EUR}
  - {prefix: "995",   operator: silknet, cost: 0.015, currency: EUR}
  - {prefix: "995",   operator: magti,   cost: 0.018, currency: EUR}
  - {prefix: "44",    operator: geocell, cost: 0.021, currency: EUR}
  - {prefix: "98",    operator: silknet, cost: 0.026, currency: EUR}
  - {prefix: "380",   operator: magti,   cost: 0.019, currency: EUR}
accounts:
  - name: acme
    senders: ["4422", "ACME"]
    timezone: Asia/Tbilisi
    country: "995"
    rates:
      - {prefix: "995", price: 0.030, currency: EUR, tiers: [{from: 2000, price: 0.025}]}
      - {prefix: "44",  price: 0.045, currency: EUR}
      - {prefix: "98",  price: 0.050, currency: EUR}
      - {prefix: "380", price: 0.040, currency: EUR}
  - name: shopco
    senders: ["SHOP"]
    timezone: Europe/Kyiv
    rates:
      - {prefix: "995", price: 0.032, currency: EUR}
      - {prefix: "44",  price: 0.048, currency: EUR}
      - {prefix: "98",  price: 0.055, currency: EUR}
      - {prefix: "380", price: 0.041, currency: EUR}
marketing:
  frequency_cap: 3/1d
  stop_keywords: [STOP, UNSUBSCRIBE]
  start_keywords: [START]
mo:
  keywords: [VOTE, QUIZ, ORDER, YES, NO]
  reassembly_timeout: 1m
dlr:
  timeout: 10m
`
