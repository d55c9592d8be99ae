package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smsgate/smsgate/billing"
)

// Validate checks every field and returns all problems joined (see
// Problems), each an *Error naming its key path. It never quotes a secret.
// It reads the file system only to check that numbering.ranges exists.
func (c *Config) Validate() error {
	v := &validator{c: c}
	v.kafka()
	v.postgres()
	v.http()
	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.operators()
	v.routes()
	v.accounts()
	v.losses()
	v.marketing()
	v.positive("mo.reassembly_timeout", c.MO.ReassemblyTimeout)
	v.keywords("mo.keywords", c.MO.Keywords)
	v.autoReply()
	v.positive("dlr.timeout", c.DLR.Timeout)
	v.positive("dlr.early_hold", c.DLR.EarlyHold)
	v.between("limits.max_parts", c.Limits.MaxParts, 1, 255)
	v.between("limits.max_bytes", c.Limits.MaxBytes, 1, 1<<30)
	v.numbering()
	v.reroute()
	v.quality()
	v.protection()
	v.retention()
	v.between("runtime.gc_percent", v.c.Runtime.GCPercent, 25, 1000)
	if v.c.Runtime.MemoryLimitMiB < 0 {
		v.add("runtime.memory_limit_mib", "must not be negative (0: derived from the container's limit)")
	}
	return errors.Join(v.errs...)
}

type validator struct {
	c    *Config
	errs []error
}

func (v *validator) add(key, format string, args ...any) {
	v.errs = append(v.errs, &Error{Key: key, Line: v.c.line(key), Msg: fmt.Sprintf(format, args...)})
}

// line finds the line of key, or of its nearest parent that was read.
func (c *Config) line(key string) int {
	for key != "" {
		if l, ok := c.lines[key]; ok {
			return l
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			return 0
		}
		key = key[:i]
	}
	return 0
}

func (v *validator) oneOf(key, val string, allowed ...string) {
	for _, a := range allowed {
		if val == a {
			return
		}
	}
	v.add(key, "must be one of %s, got %q", strings.Join(allowed, " | "), val)
}

func (v *validator) between(key string, n, lo, hi int) {
	if n < lo || n > hi {
		v.add(key, "must be %d–%d, got %d", lo, hi, n)
	}
}

func (v *validator) positive(key string, d time.Duration) {
	if d <= 0 {
		v.add(key, "must be a positive duration, got %s", d)
	}
}

func (v *validator) required(key, val string) bool {
	if strings.TrimSpace(val) == "" {
		v.add(key, "required")
		return false
	}
	return true
}

func isDigits(s string, lo, hi int) bool {
	if len(s) < lo || len(s) > hi {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// hostPort checks host:port with a numeric port 1–65535 (host may be empty:
// all interfaces).
func (v *validator) hostPort(key, addr string) {
	v.hostPortMin(key, addr, 1)
}

// listenAddr is hostPort that also accepts port 0 (an ephemeral port, for
// tests and the demo).
func (v *validator) listenAddr(key, addr string) {
	v.hostPortMin(key, addr, 0)
}

func (v *validator) hostPortMin(key, addr string, minPort int) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.add(key, "want host:port, got %q", addr)
		return
	}
	if p, err := strconv.Atoi(port); err != nil || p < minPort || p > 65535 {
		v.add(key, "port must be %d–65535, got %q", minPort, port)
	}
}

var (
	operatorName = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)
	accountName  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	topicName    = regexp.MustCompile(`^[A-Za-z0-9._-]{1,249}$`)
	currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)
	alphaSender  = regexp.MustCompile(`^[A-Za-z0-9 ._&!'-]{1,11}$`)
	keyword      = regexp.MustCompile(`^[^\s]{1,32}$`)
)

func (v *validator) kafka() {
	k := v.c.Kafka
	if len(k.Brokers) == 0 {
		v.add("kafka.brokers", "at least one broker is required")
	}
	for i, b := range k.Brokers {
		v.hostPort(fmt.Sprintf("kafka.brokers[%d]", i), b)
	}
	if !topicName.MatchString(k.Group) {
		v.add("kafka.group", "want 1–249 characters of [A-Za-z0-9._-], got %q", k.Group)
	}
	if k.SessionTimeout < time.Second || k.SessionTimeout > 30*time.Minute {
		v.add("kafka.session_timeout", "must be 1s–30m, got %s", k.SessionTimeout)
	}
	seen := map[string]string{}
	for _, t := range []struct{ key, name string }{
		{"kafka.topics.submit", k.Topics.Submit},
		{"kafka.topics.status", k.Topics.Status},
		{"kafka.topics.mo", k.Topics.MO},
		{"kafka.topics.dlq", k.Topics.DLQ},
	} {
		if !topicName.MatchString(t.name) {
			v.add(t.key, "want 1–249 characters of [A-Za-z0-9._-], got %q", t.name)
			continue
		}
		if prev, dup := seen[t.name]; dup {
			v.add(t.key, "same topic as %s", prev)
		}
		seen[t.name] = t.key
	}
}

func (v *validator) postgres() {
	dsn := v.c.Postgres.DSN
	v.between("postgres.max_conns", v.c.Postgres.MaxConns, 4, 1000)
	if !v.required("postgres.dsn", dsn) {
		return
	}
	// The DSN may hold a password: never quote it or a parse error of it.
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err != nil || u.Host == "" && !strings.Contains(dsn, "host=") {
			v.add("postgres.dsn", "not a valid postgres:// URL (value not shown)")
		}
	}
}

func (v *validator) retention() {
	r := v.c.Retention
	if r.Messages < 24*time.Hour {
		v.add("retention.messages", "must be at least 1d (rows leave in whole days), not %s", r.Messages)
	}
	if r.Ledger < r.Messages {
		v.add("retention.ledger", "must be at least retention.messages (%s), not %s", r.Messages, r.Ledger)
	}
	if r.Messages < v.c.DLR.Timeout {
		v.add("retention.messages", "must be at least dlr.timeout (%s): receipts of older parts could not be matched", v.c.DLR.Timeout)
	}
}

func (v *validator) http() {
	h := v.c.HTTP
	if v.required("http.listen", h.Listen) {
		v.listenAddr("http.listen", h.Listen)
	}
	v.tokens()
	if (h.TLSCert == "") != (h.TLSKey == "") {
		v.add("http.tls_cert", "tls_cert and tls_key go together: set both for HTTPS, or neither")
	} else if h.TLSCert != "" {
		if _, err := LoadKeyPair(h.TLSCert, h.TLSKey); err != nil {
			v.add("http.tls_cert", "%v", err)
		}
	}
}

func (v *validator) operators() {
	c := v.c
	if len(c.Operators) == 0 {
		v.add("operators", "at least one operator is required")
	}
	seen := map[string]int{}
	for i := range c.Operators {
		o := &c.Operators[i]
		p := fmt.Sprintf("operators[%d]", i)
		if !operatorName.MatchString(o.Name) {
			v.add(p+".name", "want 1–32 characters of [a-z0-9_-], got %q", o.Name)
		} else if j, dup := seen[o.Name]; dup {
			v.add(p+".name", "%q is also the name of operators[%d]", o.Name, j)
		} else {
			seen[o.Name] = i
		}
		v.required(p+".host", o.Host)
		v.between(p+".port", o.Port, 1, 65535)
		if o.SystemID == "" || len(o.SystemID) > 15 {
			v.add(p+".system_id", "want 1–15 characters, got %d", len(o.SystemID))
		}
		if len(o.SystemType) > 12 {
			v.add(p+".system_type", "want at most 12 characters, got %d", len(o.SystemType))
		}
		v.oneOf(p+".bind", o.Bind, BindTransceiver, BindTransmitterReceiver)
		v.between(p+".binds", o.Binds, 1, 1000)
		switch {
		case o.Bind == BindTransmitterReceiver:
			v.between(p+".receivers", o.Receivers, 1, 1000)
		case o.Receivers != 0:
			v.add(p+".receivers", "only with bind: transmitter+receiver")
		}
		if (o.TLSCAFile != "" || o.TLSServerName != "") && !o.TLS {
			v.add(p+".tls", "tls_ca_file and tls_server_name need tls: true")
		}
		if o.TLSCAFile != "" {
			if _, err := o.CertPool(); err != nil {
				v.add(p+".tls_ca_file", "%v", err)
			}
		}
		v.between(p+".window", o.Window, 1, 10000)
		if !(o.TPS > 0) {
			v.add(p+".tps", "must be > 0, got %g", o.TPS)
		}
		v.positive(p+".enquire_link", o.EnquireLink)
		v.positive(p+".resp_timeout", o.RespTimeout)
		for j, s := range o.TemporaryErrors {
			if s == 0 {
				v.add(fmt.Sprintf("%s.temporary_errors[%d]", p, j), "0x00000000 is success, not an error")
			}
		}
		if o.FailoverAfter < 1 {
			v.add(p+".failover_after", "must be ≥ 1, got %d", o.FailoverAfter)
		}
		v.oneOf(p+".concat", o.Concat, "udh8", "udh16", "sar", "payload")
		v.oneOf(p+".dlr_id", o.DLRID, "auto", "hex", "dec")
		v.oneOf(p+".charge_on", o.ChargeOn, "submit", "delivered")
		v.errorMap(p, o.ErrorMap)
	}
}

// destination checks the prefix / mccmnc pair of a route or rate.
func (v *validator) destination(p, prefix, mccmnc string) {
	switch {
	case prefix == "" && mccmnc == "":
		v.add(p, "one of prefix or mccmnc is required")
	case prefix != "" && mccmnc != "":
		v.add(p, "give prefix or mccmnc, not both")
	case prefix != "" && !isDigits(prefix, 1, 15):
		v.add(p+".prefix", "want 1–15 digits, got %q", prefix)
	case mccmnc != "" && !isDigits(mccmnc, 5, 6):
		v.add(p+".mccmnc", "want 5–6 digits (mcc + mnc), got %q", mccmnc)
	}
}

func (v *validator) amount(key string, a billing.Amount) {
	if a < 0 {
		v.add(key, "must be ≥ 0, got %s", a)
	}
}

func (v *validator) currency(key, cur string) {
	if !currencyCode.MatchString(cur) {
		v.add(key, "want an ISO 4217 code of three upper-case letters, got %q", cur)
	}
}

func (v *validator) routes() {
	c := v.c
	if len(c.Routes) == 0 {
		v.add("routes", "at least one route is required")
	}
	type rowKey struct {
		prefix, mccmnc, operator string
		effective                time.Time
	}
	seen := map[rowKey]int{}
	for i := range c.Routes {
		r := &c.Routes[i]
		p := fmt.Sprintf("routes[%d]", i)
		v.destination(p, r.Prefix, r.MCCMNC)
		if r.MCCMNC != "" && (c.Numbering == nil || c.Numbering.Ranges == "" && c.Numbering.Portability == nil) {
			v.add(p+".mccmnc", "a network route needs numbering.ranges or numbering.portability")
		}
		if v.required(p+".operator", r.Operator) {
			if _, ok := c.Operator(r.Operator); !ok {
				v.add(p+".operator", "no operator named %q", r.Operator)
			}
		}
		v.amount(p+".cost", r.Cost)
		v.currency(p+".currency", r.Currency)
		if r.Weight < 1 {
			v.add(p+".weight", "must be ≥ 1, got %d", r.Weight)
		}
		v.oneOf(p+".cost_on", r.CostOn, "submit", "delivered")
		k := rowKey{r.Prefix, r.MCCMNC, r.Operator, r.Effective.UTC()}
		if j, dup := seen[k]; dup {
			v.add(p, "same destination, operator and effective as routes[%d]", j)
		} else {
			seen[k] = i
		}
	}
}

// isSender reports whether s is a valid sender: up to 15 digits (a leading +
// allowed) or up to 11 alphanumeric characters.
func isSender(s string) bool {
	return isDigits(strings.TrimPrefix(s, "+"), 1, 15) || alphaSender.MatchString(s)
}

func isNumericSender(s string) bool { return isDigits(strings.TrimPrefix(s, "+"), 1, 15) }

func (v *validator) accounts() {
	seen := map[string]int{}
	for i := range v.c.Accounts {
		a := &v.c.Accounts[i]
		p := fmt.Sprintf("accounts[%d]", i)
		if !accountName.MatchString(a.Name) {
			v.add(p+".name", "want 1–64 characters of [A-Za-z0-9_.-], got %q", a.Name)
		} else if j, dup := seen[a.Name]; dup {
			v.add(p+".name", "%q is also the name of accounts[%d]", a.Name, j)
		} else {
			seen[a.Name] = i
		}
		for j, s := range a.Senders {
			if !isSender(s) {
				v.add(fmt.Sprintf("%s.senders[%d]", p, j), "want up to 15 digits or up to 11 letters/digits, got %q", s)
			}
		}
		if v.required(p+".timezone", a.Timezone) {
			if _, err := time.LoadLocation(a.Timezone); err != nil {
				v.add(p+".timezone", "unknown time zone %q", a.Timezone)
			}
		}
		if a.Country != "" && !isDigits(a.Country, 1, 3) {
			v.add(p+".country", "want a country calling code of 1–3 digits, got %q", a.Country)
		}
		if len(a.Rates) == 0 {
			v.add(p+".rates", "at least one rate is required")
		}
		v.accountLimits(p, a)
		type rowKey struct {
			prefix, mccmnc string
			effective      time.Time
		}
		rows := map[rowKey]int{}
		for j := range a.Rates {
			r := &a.Rates[j]
			rp := fmt.Sprintf("%s.rates[%d]", p, j)
			v.destination(rp, r.Prefix, r.MCCMNC)
			v.amount(rp+".price", r.Price)
			v.currency(rp+".currency", r.Currency)
			var last int64
			for k, t := range r.Tiers {
				tp := fmt.Sprintf("%s.tiers[%d]", rp, k)
				if t.From < 1 {
					v.add(tp+".from", "must be ≥ 1, got %d", t.From)
				} else if t.From <= last {
					v.add(tp+".from", "must be greater than the previous tier's from (%d), got %d", last, t.From)
				}
				last = max(last, t.From)
				v.amount(tp+".price", t.Price)
			}
			k := rowKey{r.Prefix, r.MCCMNC, r.Effective.UTC()}
			if d, dup := rows[k]; dup {
				v.add(rp, "same destination and effective as %s.rates[%d]", p, d)
			} else {
				rows[k] = j
			}
		}
	}
}

// accountLimits checks fair share, caps and the money rules of one account.
func (v *validator) accountLimits(p string, a *Account) {
	if a.Weight < 1 || a.Weight > 1000 {
		v.add(p+".weight", "want 1–1000, got %d", a.Weight)
	}
	if a.TPS < 0 {
		v.add(p+".tps", "must be ≥ 0 (0 = unlimited), got %d", a.TPS)
	}
	if a.Quota.Day < 0 {
		v.add(p+".quota.day", "must be ≥ 0 (0 = unlimited), got %d", a.Quota.Day)
	}
	if a.Quota.Month < 0 {
		v.add(p+".quota.month", "must be ≥ 0 (0 = unlimited), got %d", a.Quota.Month)
	}
	switch a.Billing {
	case BillingPostpaid, BillingPrepaid:
	default:
		v.add(p+".billing", "want postpaid or prepaid, got %q", a.Billing)
	}
	switch a.OnInsufficient {
	case InsufficientReject, InsufficientHold:
	default:
		v.add(p+".on_insufficient", "want reject or hold, got %q", a.OnInsufficient)
	}
	v.amount(p+".credit_limit", a.CreditLimit)
	if a.Prepaid() && a.CreditLimit != 0 {
		v.add(p+".credit_limit", "a prepaid account has no credit limit (got %s)", a.CreditLimit)
	}
	// The balance is kept in one currency: the rates' own.
	if a.Funded() || a.LowBalance != 0 {
		for j := 1; j < len(a.Rates); j++ {
			if a.Rates[j].Currency != a.Rates[0].Currency {
				v.add(fmt.Sprintf("%s.rates[%d].currency", p, j), "an account with a balance rule (prepaid, credit_limit or low_balance) prices in one currency: %q here, %q in rates[0]", a.Rates[j].Currency, a.Rates[0].Currency)
				break
			}
		}
	}
}

// losses rejects a route whose cost is above every price (base or tier) of
// every account rate that covers some of its destinations in the same
// currency, unless the route says allow_loss. Routes no rate covers are not
// judged: nothing is known about what they earn.
func (v *validator) losses() {
	for i := range v.c.Routes {
		r := &v.c.Routes[i]
		if r.AllowLoss {
			continue
		}
		found := false
		var best billing.Amount
		for _, a := range v.c.Accounts {
			for _, rate := range a.Rates {
				if rate.Currency != r.Currency || !overlaps(r.Prefix, r.MCCMNC, rate.Prefix, rate.MCCMNC) {
					continue
				}
				prices := []billing.Amount{rate.Price}
				for _, t := range rate.Tiers {
					prices = append(prices, t.Price)
				}
				for _, pr := range prices {
					if !found || pr > best {
						best, found = pr, true
					}
				}
			}
		}
		if found && r.Cost > best {
			v.add(fmt.Sprintf("routes[%d].cost", i),
				"%s %s is above every matching account price (highest %s %s): a loss; set allow_loss: true if intended",
				r.Cost, r.Currency, best, r.Currency)
		}
	}
}

// overlaps reports whether a route and a rate share destinations: prefixes
// where one extends the other, networks when equal.
func overlaps(prefix, mccmnc, ratePrefix, rateMCCMNC string) bool {
	if mccmnc != "" || rateMCCMNC != "" {
		return mccmnc != "" && mccmnc == rateMCCMNC
	}
	return prefix != "" && ratePrefix != "" &&
		(strings.HasPrefix(prefix, ratePrefix) || strings.HasPrefix(ratePrefix, prefix))
}

func (v *validator) keywords(key string, kws []string) {
	for i, k := range kws {
		if !keyword.MatchString(k) {
			v.add(fmt.Sprintf("%s[%d]", key, i), "want one word of 1–32 characters, got %q", k)
		}
	}
}

// autoReply checks that every auto-reply answers a known keyword and has text.
func (v *validator) autoReply() {
	known := map[string]bool{}
	for _, ks := range [][]string{v.c.MO.Keywords, v.c.Marketing.StopKeywords, v.c.Marketing.StartKeywords} {
		for _, k := range ks {
			known[strings.ToUpper(k)] = true
		}
	}
	for k, text := range v.c.MO.AutoReply {
		key := "mo.auto_reply." + k
		if !known[strings.ToUpper(k)] {
			v.add(key, "not a keyword of mo.keywords or marketing.stop_keywords/start_keywords")
		}
		if strings.TrimSpace(text) == "" {
			v.add(key, "the reply text is empty")
		}
	}
}

func (v *validator) marketing() {
	m := v.c.Marketing
	if f := m.FrequencyCap; f.Count < 0 || f.Count > 0 && f.Per <= 0 {
		v.add("marketing.frequency_cap", "want N/<duration> with N ≥ 1 and a positive duration")
	}
	if q := m.QuietHours; q.Set && (q.Start < 0 || q.Start >= 24*60 || q.End < 0 || q.End >= 24*60 || q.Start == q.End) {
		v.add("marketing.quiet_hours", "want HH:MM-HH:MM with different start and end")
	}
	v.keywords("marketing.stop_keywords", m.StopKeywords)
	v.keywords("marketing.start_keywords", m.StartKeywords)
	stop := map[string]bool{}
	for _, k := range m.StopKeywords {
		stop[strings.ToUpper(k)] = true
	}
	for i, k := range m.StartKeywords {
		if stop[strings.ToUpper(k)] {
			v.add(fmt.Sprintf("marketing.start_keywords[%d]", i), "%q is also a stop keyword", k)
		}
	}
}

func (v *validator) numbering() {
	n := v.c.Numbering
	if n == nil {
		return
	}
	if n.DefaultCountry != "" && !isDigits(n.DefaultCountry, 1, 3) {
		v.add("numbering.default_country", "want a country calling code of 1–3 digits, got %q", n.DefaultCountry)
	}
	if n.Ranges != "" {
		if st, err := os.Stat(n.Ranges); err != nil {
			v.add("numbering.ranges", "cannot read %s: %v", n.Ranges, errors.Unwrap(err))
		} else if !st.Mode().IsRegular() {
			v.add("numbering.ranges", "%s is not a file", n.Ranges)
		}
	}
	p := n.Portability
	if p == nil {
		return
	}
	v.positive("numbering.portability.cache_ttl", p.CacheTTL)
	v.positive("numbering.portability.lookup_timeout", p.LookupTimeout)
	if p.LookupURL != "" {
		// The URL may carry credentials: never quote it.
		u, err := url.Parse(strings.ReplaceAll(p.LookupURL, "{number}", "0"))
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			v.add("numbering.portability.lookup_url", "want an http:// or https:// URL (value not shown)")
		case !strings.Contains(p.LookupURL, "{number}"):
			v.add("numbering.portability.lookup_url", "must contain the {number} placeholder")
		}
	}
}

func (v *validator) reroute() {
	r := v.c.Reroute
	if r == nil {
		return
	}
	if len(r.On) == 0 {
		v.add("reroute.on", "at least one receipt state is required (or remove the reroute section)")
	}
	for i, s := range r.On {
		v.oneOf(fmt.Sprintf("reroute.on[%d]", i), strings.ToUpper(s), "UNDELIV", "REJECTD", "EXPIRED", "DELETED", "UNKNOWN")
	}
	v.between("reroute.max_attempts", r.MaxAttempts, 1, 10)
}

func (v *validator) quality() {
	q := v.c.Quality
	if q == nil {
		return
	}
	v.positive("quality.window", q.Window)
	if q.MinSamples < 1 {
		v.add("quality.min_samples", "must be ≥ 1, got %d", q.MinSamples)
	}
	if !(q.Explore >= 0 && q.Explore < 1) {
		v.add("quality.explore", "must be ≥ 0 and < 1, got %g", q.Explore)
	}
}

func (v *validator) protection() {
	pr := v.c.Protection
	if pr == nil {
		return
	}
	if p := pr.Pumping; p != nil {
		v.between("protection.pumping.prefix_digits", p.PrefixDigits, 1, 12)
		if p.MaxPerMinute < 1 {
			v.add("protection.pumping.max_per_minute", "must be ≥ 1, got %d", p.MaxPerMinute)
		}
		if !(p.MinDeliveryRate >= 0 && p.MinDeliveryRate <= 1) {
			v.add("protection.pumping.min_delivery_rate", "must be 0–1, got %g", p.MinDeliveryRate)
		}
		if p.MinSamples < 1 {
			v.add("protection.pumping.min_samples", "must be ≥ 1, got %d", p.MinSamples)
		}
		v.positive("protection.pumping.hold_for", p.HoldFor)
		for _, k := range slices.Sorted(maps.Keys(p.Mode)) {
			key := "protection.pumping.mode." + k
			if k != "default" && !isDigits(k, 1, 3) {
				v.add(key, "want \"default\" or a country calling code of 1–3 digits")
			}
			v.oneOf(key, p.Mode[k], ModeBlock, ModeMonitor, ModeAllow)
		}
		for i, s := range p.Safe {
			if !isDigits(s, 1, 15) {
				v.add(fmt.Sprintf("protection.pumping.safe[%d]", i), "want 1–15 digits, got %q", s)
			}
		}
	}
	for i, r := range pr.Content {
		p := fmt.Sprintf("protection.content[%d]", i)
		if v.required(p+".pattern", r.Pattern) {
			if _, err := regexp.Compile(r.Pattern); err != nil {
				v.add(p+".pattern", "%v", err)
			}
		}
		v.oneOf(p+".action", r.Action, "reject", "hold")
	}
	for i, r := range pr.Senders {
		p := fmt.Sprintf("protection.senders[%d]", i)
		if r.Country != "" && !isDigits(r.Country, 1, 3) {
			v.add(p+".country", "want a country calling code of 1–3 digits, got %q", r.Country)
		}
		if r.Operator != "" {
			if _, ok := v.c.Operator(r.Operator); !ok {
				v.add(p+".operator", "no operator named %q", r.Operator)
			}
		}
		if s := r.ReplaceWith; s != "" {
			switch {
			case !isSender(s):
				v.add(p+".replace_with", "want up to 15 digits or up to 11 letters/digits, got %q", s)
			case isNumericSender(s) && !r.Numeric:
				v.add(p+".replace_with", "%q is numeric, which this rule does not allow", s)
			case !isNumericSender(s) && !r.Alphanumeric:
				v.add(p+".replace_with", "%q is alphanumeric, which this rule does not allow", s)
			}
		}
	}
	if l := pr.Loop; l != nil {
		if l.Max < 1 {
			v.add("protection.loop.max", "must be ≥ 1, got %d", l.Max)
		}
		v.positive("protection.loop.per", l.Per)
	}
}
