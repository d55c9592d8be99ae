package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/billing"
)

// Distinctive secret values: any of them showing up in an error or a
// printed config is a leak.
const (
	magtiSecret   = "Mg-S3cr3t-7781-xyzzy"
	silknetSecret = "Sk-S3cr3t-4410-plugh"
	tokenSecret   = "tok-9f8e7d6c5b4a-quux"
)

func setSecrets(t *testing.T) {
	t.Helper()
	t.Setenv("MAGTI_PASSWORD", magtiSecret)
	t.Setenv("SILKNET_PASSWORD", silknetSecret)
	t.Setenv("SMSGATE_API_TOKEN", tokenSecret)
}

func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range []string{magtiSecret, silknetSecret, tokenSecret} {
		if strings.Contains(s, secret) {
			t.Errorf("%s contains a secret value %q:\n%s", what, secret, s)
		}
	}
}

func mustLoad(t *testing.T, path string) *Config {
	t.Helper()
	c, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	return c
}

func amt(t *testing.T, s string) billing.Amount {
	t.Helper()
	a, err := billing.ParseAmount(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestLoadGood(t *testing.T) {
	setSecrets(t)
	c := mustLoad(t, "testdata/good.yml")

	magti, ok := c.Operator("magti")
	if !ok {
		t.Fatal("Operator(magti) not found")
	}
	silk, ok := c.Operator("silknet")
	if !ok {
		t.Fatal("Operator(silknet) not found")
	}
	if _, ok := c.Operator("geocell"); ok {
		t.Error("Operator(geocell) found")
	}
	acme, ok := c.Account("acme")
	if !ok {
		t.Fatal("Account(acme) not found")
	}
	if acme.Weight != 3 || acme.TPS != 200 || acme.Quota != (Quota{Day: 100000, Month: 2000000}) || !acme.Prepaid() ||
		acme.OnInsufficient != InsufficientHold || acme.LowBalance.String() != "50" || !acme.Funded() {
		t.Errorf("account limits: %+v", *acme)
	}
	if _, ok := c.Account("nobody"); ok {
		t.Error("Account(nobody) found")
	}
	rate := acme.Rates[0]
	absRanges, _ := filepath.Abs("testdata/ranges.csv")
	gotRanges, _ := filepath.Abs(c.Numbering.Ranges)

	checks := []struct {
		name      string
		got, want any
	}{
		{"kafka.brokers", c.Kafka.Brokers, []string{"127.0.0.1:9092"}},
		{"kafka.topics.dlq", c.Kafka.Topics.DLQ, "sms.dlq"},
		{"http.tokens", c.HTTP.Tokens, []Token{{Name: "tokens[0]", Token: tokenSecret, Scopes: AllScopes, plain: true}}},
		{"magti.password", magti.Password, magtiSecret},
		{"silknet.password", silk.Password, silknetSecret},
		{"magti.binds", magti.Binds, 2},
		{"magti.receivers", magti.Receivers, 0},
		{"silknet.bind", silk.Bind, BindTransmitterReceiver},
		{"silknet.receivers (default)", silk.Receivers, 1},
		{"silknet.window", silk.Window, 10},
		{"silknet.tps", silk.TPS, 100.0},
		{"silknet.enquire_link (default)", silk.EnquireLink, 30 * time.Second},
		{"silknet.failover_after (default)", silk.FailoverAfter, 3},
		{"silknet.concat (default)", silk.Concat, "udh8"},
		{"routes", len(c.Routes), 5},
		{"routes[0].cost exact", c.Routes[0].Cost, billing.Amount(12000)},
		{"routes[0].cost text", c.Routes[0].Cost.String(), "0.012"},
		{"routes[3].mccmnc", c.Routes[3].MCCMNC, "28202"},
		{"routes[3].weight", c.Routes[3].Weight, 70},
		{"routes[3].effective", c.Routes[3].Effective, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{"routes[4].weight", c.Routes[4].Weight, 30},
		{"routes[2].weight (default)", c.Routes[2].Weight, 1},
		{"routes[2].cost_on (default)", c.Routes[2].CostOn, "submit"},
		{"acme.senders", acme.Senders, []string{"4422", "ACME"}},
		{"acme.location", acme.Location.String(), "Asia/Tbilisi"},
		{"acme.country", acme.Country, "995"},
		{"rate.price", rate.Price, amt(t, "0.03")},
		{"rate.tiers", rate.Tiers, []Tier{{From: 100000, Price: amt(t, "0.02")}, {From: 1000000, Price: amt(t, "0.01")}}},
		{"frequency_cap", c.Marketing.FrequencyCap, FrequencyCap{Count: 1, Per: 14 * 24 * time.Hour}},
		{"quiet_hours", c.Marketing.QuietHours, QuietHours{Set: true, Start: 21 * 60, End: 9 * 60}},
		{"mo.keywords", c.MO.Keywords, []string{"VOTE", "QUIZ", "ORDER", "YES", "NO"}},
		{"dlr.timeout", c.DLR.Timeout, 72 * time.Hour},
		{"numbering.ranges resolved", gotRanges, absRanges},
		{"portability.lookup_timeout", c.Numbering.Portability.LookupTimeout, 30 * time.Millisecond},
		{"reroute.on", c.Reroute.On, []string{"UNDELIV", "REJECTD"}},
		{"quality.explore", c.Quality.Explore, 0.02},
		{"pumping.mode", c.Protection.Pumping.Mode, map[string]string{"default": "block", "44": "monitor"}},
		{"pumping.safe", c.Protection.Pumping.Safe, []string{"995599000"}},
		{"content regexp", c.Protection.Content[0].Regexp.MatchString("see bit.ly/x"), true},
		{"content regexp literal dot", c.Protection.Content[0].Regexp.MatchString("bitxly/"), false},
		{"senders rule", c.Protection.Senders[0], SenderRule{Country: "995", Alphanumeric: true, Numeric: false, ReplaceWith: "INFO"}},
		{"loop", *c.Protection.Loop, Loop{Max: 30, Per: 30 * time.Second}},
		{"log.level", c.Log.Level, "info"},
	}
	for _, ck := range checks {
		if fmt.Sprint(ck.got) != fmt.Sprint(ck.want) {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

// TestDefaults checks every documented default on the smallest valid file.
func TestDefaults(t *testing.T) {
	setSecrets(t)
	c := mustLoad(t, "testdata/minimal.yml")
	o, r, a := c.Operators[0], c.Routes[0], c.Accounts[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"kafka.brokers", c.Kafka.Brokers, []string{"127.0.0.1:9092"}},
		{"kafka.group", c.Kafka.Group, "smsgate"},
		{"kafka.session_timeout", c.Kafka.SessionTimeout, 10 * time.Second},
		{"kafka.topics", c.Kafka.Topics, Topics{Submit: "sms.submit", Status: "sms.status", MO: "sms.mo", DLQ: "sms.dlq"}},
		{"http.listen", c.HTTP.Listen, "127.0.0.1:8080"},
		{"http.tokens", len(c.HTTP.Tokens), 0},
		{"http.show_message_text", c.HTTP.ShowMessageText, false},
		{"log.level", c.Log.Level, "info"},
		{"bind", o.Bind, "transceiver"},
		{"binds", o.Binds, 1},
		{"receivers", o.Receivers, 0},
		{"window", o.Window, 100},
		{"tps", o.TPS, 500.0},
		{"enquire_link", o.EnquireLink, 30 * time.Second},
		{"resp_timeout", o.RespTimeout, 30 * time.Second},
		{"retry_unknown", o.RetryUnknown, false},
		{"temporary_errors", len(o.TemporaryErrors), 0},
		{"failover_after", o.FailoverAfter, 3},
		{"concat", o.Concat, "udh8"},
		{"gsm7_packed", o.GSM7Packed, false},
		{"dlr_id", o.DLRID, "auto"},
		{"charge_on", o.ChargeOn, "submit"},
		{"tls", o.TLS, false},
		{"route.weight", r.Weight, 1},
		{"route.cost_on", r.CostOn, "submit"},
		{"route.allow_loss", r.AllowLoss, false},
		{"route.effective", r.Effective.IsZero(), true},
		{"account.timezone", a.Timezone, "UTC"},
		{"account.location", a.Location, time.UTC},
		{"account.weight", a.Weight, 1},
		{"account.tps", a.TPS, 0},
		{"account.quota", a.Quota, Quota{}},
		{"account.billing", a.Billing, "postpaid"},
		{"account.credit_limit", a.CreditLimit.String(), "0"},
		{"account.on_insufficient", a.OnInsufficient, "reject"},
		{"account.low_balance", a.LowBalance.String(), "0"},
		{"account.funded", a.Funded(), false},
		{"frequency_cap", c.Marketing.FrequencyCap.Enabled(), false},
		{"quiet_hours", c.Marketing.QuietHours.Set, false},
		{"stop_keywords", c.Marketing.StopKeywords, []string{"STOP", "UNSUBSCRIBE"}},
		{"start_keywords", c.Marketing.StartKeywords, []string{"START"}},
		{"mo.keywords", len(c.MO.Keywords), 0},
		{"mo.reassembly_timeout", c.MO.ReassemblyTimeout, 10 * time.Minute},
		{"dlr.timeout", c.DLR.Timeout, 72 * time.Hour},
		{"dlr.early_hold", c.DLR.EarlyHold, 10 * time.Minute},
		{"limits", c.Limits, Limits{MaxParts: 10, MaxBytes: 65536}},
		{"numbering (off)", c.Numbering == nil, true},
		{"reroute (off)", c.Reroute == nil, true},
		{"quality (off)", c.Quality == nil, true},
		{"protection (off)", c.Protection == nil, true},
	}
	for _, ck := range checks {
		if fmt.Sprint(ck.got) != fmt.Sprint(ck.want) {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

// TestSectionDefaults checks the defaults of §6 sections given empty.
func TestSectionDefaults(t *testing.T) {
	setSecrets(t)
	base, err := os.ReadFile("testdata/minimal.yml")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(base) + `
numbering: {portability: {lookup_url: "https://hlr.example/{number}"}}
reroute: {}
quality: {}
protection: {pumping: {}, loop: {}, senders: [{country: "995"}]}
`
	c, err := Parse([]byte(doc), "")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"cache_ttl", c.Numbering.Portability.CacheTTL, 24 * time.Hour},
		{"lookup_timeout", c.Numbering.Portability.LookupTimeout, 30 * time.Millisecond},
		{"reroute.on", c.Reroute.On, []string{"UNDELIV", "REJECTD"}},
		{"reroute.max_attempts", c.Reroute.MaxAttempts, 2},
		{"quality", *c.Quality, Quality{Window: time.Hour, MinSamples: 200, Explore: 0.02}},
		{"pumping", *c.Protection.Pumping, Pumping{PrefixDigits: 4, MaxPerMinute: 300, MinDeliveryRate: 0.2, MinSamples: 50, HoldFor: 30 * time.Minute, Mode: map[string]string{"default": "block"}}},
		{"loop", *c.Protection.Loop, Loop{Max: 30, Per: 30 * time.Second}},
		{"sender rule", c.Protection.Senders[0], SenderRule{Country: "995", Alphanumeric: true, Numeric: true}},
		{"blocklist", c.Protection.Blocklist, false},
	}
	for _, ck := range checks {
		if fmt.Sprint(ck.got) != fmt.Sprint(ck.want) {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

// TestBadFiles runs every testdata/*.bad.yml: each must fail with an error
// containing its "# want:" line, and no error may contain a secret.
func TestBadFiles(t *testing.T) {
	setSecrets(t)
	files, err := filepath.Glob("testdata/*.bad.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 25 {
		t.Fatalf("only %d bad files", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".bad.yml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(data), "\n")
			want, ok := strings.CutPrefix(first, "# want: ")
			if !ok || want == "" {
				t.Fatalf("first line %q is not '# want: ...'", first)
			}
			c, err := Load(f)
			if err == nil {
				t.Fatalf("Load succeeded, want error containing %q", want)
			}
			if c != nil {
				t.Error("Load returned a config along with an error")
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error does not contain %q:\n%v", want, err)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("error has no *Error: %v", err)
			}
			assertNoSecret(t, "error", err.Error())
		})
	}
}

// TestSecretsNotInErrors puts the secret where it makes a value invalid, and
// produces errors elsewhere in a file that holds it.
func TestSecretsNotInErrors(t *testing.T) {
	setSecrets(t)
	base, err := os.ReadFile("testdata/minimal.yml")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(base)
	cases := map[string]string{
		"port":       strings.Replace(doc, "port: 2775", "port: ${MAGTI_PASSWORD}", 1),
		"tls":        strings.Replace(doc, "port: 2775", "port: 2775\n    tls: ${MAGTI_PASSWORD}", 1),
		"cost":       strings.Replace(doc, "cost: 0.01", `cost: "${MAGTI_PASSWORD}"`, 1),
		"duration":   strings.Replace(doc, "port: 2775", "port: 2775\n    resp_timeout: x${MAGTI_PASSWORD}", 1),
		"effective":  strings.Replace(doc, "currency: EUR}", `currency: EUR, effective: "${MAGTI_PASSWORD}"}`, 1),
		"status":     strings.Replace(doc, "port: 2775", "port: 2775\n    temporary_errors: [\"${MAGTI_PASSWORD}\"]", 1),
		"freq":       doc + "marketing: {frequency_cap: \"${MAGTI_PASSWORD}\"}\n",
		"quiet":      doc + "marketing: {quiet_hours: \"${MAGTI_PASSWORD}\"}\n",
		"float":      doc + "quality: {explore: \"${MAGTI_PASSWORD}\"}\n",
		"elsewhere":  strings.Replace(doc, "port: 2775", "port: 0\n    window: 0", 1),
		"dsn":        strings.Replace(doc, "postgres://127.0.0.1:5432/smsgate", "postgres://u:${MAGTI_PASSWORD}@[::1", 1),
		"token":      doc + "http: {tokens: [\"${SMSGATE_API_TOKEN} x\"]}\n",
		"lookup url": doc + "numbering: {portability: {lookup_url: \"ftp://u:${MAGTI_PASSWORD}@h/{number}\"}}\n",
		"unknown":    doc + "${MAGTI_PASSWORD}: 1\n",
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(doc), "")
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			assertNoSecret(t, "error", err.Error())
			assertNoSecret(t, "one-line error", OneLine(err))
		})
	}
	// An expanded value is named by its variable instead.
	_, err = Parse([]byte(cases["port"]), "")
	if want := `operators[0].port: want an integer (the value of "${MAGTI_PASSWORD}" is not shown)`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v does not contain %q", err, want)
	}
}

func TestUnsetVariableNamed(t *testing.T) {
	env := func(string) (string, bool) { return "", false }
	doc := "postgres: {dsn: \"${PG_DSN}\"}\n"
	_, err := parse([]byte(doc), "", env)
	want := "postgres.dsn: environment variable PG_DSN is not set (line 1)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

func TestAllProblemsReported(t *testing.T) {
	setSecrets(t)
	doc := `
postgres: {dsn: ""}
operators:
  - {name: magti, host: h, port: 0, system_id: acme, window: 0, conact: udh8}
  - {name: magti, host: h, port: 1, system_id: acme, bind: rx}
routes: [{prefix: "x", operator: nope, cost: 1, currency: EUR}]
accounts: [{name: a, rates: [{prefix: "1", price: 1, currency: eur}]}]
`
	// Decoding problems come first, alone.
	_, err := Parse([]byte(doc), "")
	if ps := Problems(err); len(ps) != 1 || !strings.Contains(ps[0].Error(), "operators[0].conact: unknown key (line 4)") {
		t.Fatalf("decode problems = %v", ps)
	}
	doc = strings.Replace(doc, ", conact: udh8", "", 1)
	_, err = Parse([]byte(doc), "")
	wantKeys := []string{
		"postgres.dsn: required",
		"operators[0].port: must be 1–65535, got 0 (line 4)",
		"operators[0].window: must be 1–10000, got 0 (line 4)",
		"operators[1].name: \"magti\" is also the name of operators[0] (line 5)",
		"operators[1].bind: must be one of",
		"routes[0].prefix: want 1–15 digits",
		"routes[0].operator: no operator named \"nope\"",
		"accounts[0].rates[0].currency: want an ISO 4217",
	}
	ps := Problems(err)
	if len(ps) != len(wantKeys) {
		t.Errorf("got %d problems, want %d: %v", len(ps), len(wantKeys), OneLine(err))
	}
	for _, w := range wantKeys {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
	one := OneLine(err)
	if strings.Contains(one, "\n") || strings.Count(one, "; ") != len(ps)-1 {
		t.Errorf("OneLine = %q", one)
	}
}

func TestValidateBuiltInCode(t *testing.T) {
	c := &Config{
		Postgres:  Postgres{DSN: "host=127.0.0.1 dbname=smsgate"},
		Operators: []Operator{{Name: "sim", Host: "127.0.0.1", Port: 2775, SystemID: "test"}},
		Routes:    []Route{{Prefix: "1", Operator: "sim", Currency: "USD"}},
		Accounts:  []Account{{Name: "demo", Rates: []Rate{{Prefix: "1", Price: 10, Currency: "USD"}}}},
	}
	if err := c.Validate(); err == nil {
		t.Fatal("Validate without defaults succeeded; zero window/tps must fail")
	}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("after ApplyDefaults: %v", err)
	}
	if c.Operators[0].Window != DefaultWindow || c.Accounts[0].Location != time.UTC || c.Kafka.Group != DefaultGroup {
		t.Errorf("defaults not applied: %+v", c.Operators[0])
	}
	// Errors of a Config built in code carry no line.
	c.Operators[0].Port = 0
	err := c.Validate()
	if err == nil || err.Error() != "operators[0].port: must be 1–65535, got 0" {
		t.Errorf("got %v", err)
	}
}

func TestScalarForms(t *testing.T) {
	setSecrets(t)
	doc := `
postgres: {dsn: "postgres://127.0.0.1/smsgate"}
operators:
  - name: magti
    host: 127.0.0.1
    port: "02775"
    system_id: acme
    tps: 1_000.5
    window:          # null keeps the default
    temporary_errors: [0x58, 88, "0x0000000A", 0X14]
    retry_unknown: True
routes: [{prefix: 995, operator: magti, cost: 1e-3x, currency: EUR}]
accounts: [{name: acme, rates: [{prefix: 0995, price: "0.03", currency: EUR, tiers: [{from: 1_000_000, price: 0.01}]}]}]
`
	if _, err := Parse([]byte(doc), ""); err == nil || !strings.Contains(err.Error(), `routes[0].cost: amount "1e-3x"`) {
		t.Fatalf("got %v", err)
	}
	doc = strings.Replace(doc, "1e-3x", "0.001", 1)
	c, err := Parse([]byte(doc), "")
	if err != nil {
		t.Fatal(err)
	}
	o := c.Operators[0]
	if o.Port != 2775 || o.TPS != 1000.5 || o.Window != DefaultWindow || !o.RetryUnknown {
		t.Errorf("operator = %+v", o)
	}
	if fmt.Sprint(o.TemporaryErrors) != "[0x00000058 0x00000058 0x0000000A 0x00000014]" {
		t.Errorf("temporary_errors = %v", o.TemporaryErrors)
	}
	if c.Routes[0].Prefix != "995" || c.Routes[0].Cost != 1000 {
		t.Errorf("route = %+v", c.Routes[0])
	}
	// The literal text is kept: a leading zero is not lost to integer parsing.
	if r := c.Accounts[0].Rates[0]; r.Prefix != "0995" || r.Tiers[0].From != 1_000_000 {
		t.Errorf("rate = %+v", r)
	}
}

func TestAnchorsAndMerge(t *testing.T) {
	setSecrets(t)
	doc := `
postgres: {dsn: "postgres://127.0.0.1/smsgate"}
x-op: &op {host: 127.0.0.1, system_id: acme, window: 50, tps: 20}
operators:
  - {<<: *op, name: a, port: 2775}
  - {<<: *op, name: b, port: 2776, window: 60}
routes: [{prefix: "1", operator: a, cost: 0, currency: EUR}]
accounts: [{name: acme, rates: [{prefix: "1", price: 0, currency: EUR}]}]
`
	// The anchor holder itself is an unknown key: strictness wins.
	if _, err := Parse([]byte(doc), ""); err == nil || !strings.Contains(err.Error(), "x-op: unknown key (line 3)") {
		t.Fatalf("got %v", err)
	}
	doc = strings.Replace(doc, "x-op: &op {host: 127.0.0.1, system_id: acme, window: 50, tps: 20}\noperators:\n  - {<<: *op,",
		"operators:\n  - {<<: &op {host: 127.0.0.1, system_id: acme, window: 50, tps: 20},", 1)
	c, err := Parse([]byte(doc), "")
	if err != nil {
		t.Fatal(err)
	}
	a, b := c.Operators[0], c.Operators[1]
	if a.Window != 50 || b.Window != 60 || a.TPS != 20 || b.Host != "127.0.0.1" || b.SystemID != "acme" {
		t.Errorf("a=%+v b=%+v", a, b)
	}
}

// TestAliasBomb: exponential expansion through nested merge keys is cut
// off by the node budget instead of running for hours.
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("x0: &a0 {keywords: [A]}\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "x%d: &a%d {<<: [", i, i)
		for j := range 9 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]}\n")
	}
	b.WriteString("mo: *a9\n")
	start := time.Now()
	_, err := parse([]byte(b.String()), "", func(string) (string, bool) { return "", false })
	if err == nil || !strings.Contains(err.Error(), "document too large") {
		t.Errorf("got %v", err)
	}
	t.Logf("rejected in %v", time.Since(start))
}

func TestSelfMerge(t *testing.T) {
	doc := "kafka: &k\n  <<: *k\n"
	_, err := parse([]byte(doc), "", func(string) (string, bool) { return "", false })
	if err == nil {
		t.Error("self-referencing merge accepted")
	}
}

func TestEmptyAndNonMapping(t *testing.T) {
	for doc, want := range map[string]string{
		"":                         "operators: at least one operator is required",
		"# nothing\n":              "postgres.dsn: required",
		"- a\n- b\n":               "want a mapping, got a list",
		"just text\n":              "want a mapping, got a single value",
		"a: [\n":                   "yaml:",
		"kafka: {group: x}\n---\n": "postgres.dsn: required", // an empty second document is no document
	} {
		_, err := Parse([]byte(doc), "")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want %q", doc, err, want)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, want ErrNotExist", err)
	}
}

// TestLargeRateCard: the alias budget never rejects a big plain document.
func TestLargeRateCard(t *testing.T) {
	setSecrets(t)
	base, err := os.ReadFile("testdata/minimal.yml")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.Write(base)
	b.WriteString("  - name: big\n    rates:\n")
	const n = 5000
	for i := range n {
		fmt.Fprintf(&b, "      - {prefix: \"%d\", price: 0.0%d, currency: EUR, tiers: [{from: 10, price: 0.001}]}\n", 100000+i, 1+i%9)
	}
	c, err := Parse([]byte(b.String()), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(c.Accounts[1].Rates); got != n {
		t.Errorf("got %d rates", got)
	}
}

// TestExampleFile keeps the repository's smsgate.example.yml valid.
func TestExampleFile(t *testing.T) {
	setSecrets(t)
	t.Setenv("SMSGATE_POSTGRES_DSN", "postgres://smsgate:pg-secret@127.0.0.1:5432/smsgate")
	c := mustLoad(t, "../../smsgate.example.yml")
	if len(c.Operators) != 2 || len(c.Routes) != 4 || len(c.Accounts) != 1 || c.Protection == nil || c.Reroute == nil {
		t.Errorf("example config incomplete: %d operators, %d routes, %d accounts", len(c.Operators), len(c.Routes), len(c.Accounts))
	}
	if strings.Contains(c.String(), "pg-secret") {
		t.Error("DSN password printed")
	}
}

func BenchmarkParseGood(b *testing.B) {
	data, err := os.ReadFile("testdata/good.yml")
	if err != nil {
		b.Fatal(err)
	}
	env := func(string) (string, bool) { return "x", true }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parse(data, "testdata", env); err != nil {
			b.Fatal(err)
		}
	}
}
