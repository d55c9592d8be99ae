package config

import (
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Default values; each field's doc comment repeats its default.
const (
	DefaultBroker            = "127.0.0.1:9092"
	DefaultGroup             = "smsgate"
	DefaultSessionTimeout    = 10 * time.Second
	DefaultListen            = "127.0.0.1:8080"
	DefaultLogLevel          = "info"
	DefaultBinds             = 1
	DefaultReceivers         = 1
	DefaultWindow            = 100
	DefaultTPS               = 500
	DefaultEnquireLink       = 30 * time.Second
	DefaultRespTimeout       = 30 * time.Second
	DefaultFailoverAfter     = 3
	DefaultConcat            = "udh8"
	DefaultDLRID             = "auto"
	DefaultChargeOn          = "submit"
	DefaultCostOn            = "submit"
	DefaultWeight            = 1
	DefaultTimezone          = "UTC"
	DefaultMaxParts          = 10
	DefaultMaxBytes          = 65536
	DefaultDLRTimeout        = 72 * time.Hour
	DefaultEarlyHold         = 10 * time.Minute
	DefaultReassemblyTimeout = 10 * time.Minute
	DefaultCacheTTL          = 24 * time.Hour
	DefaultLookupTimeout     = 30 * time.Millisecond
	DefaultMaxAttempts       = 2
	DefaultQualityWindow     = time.Hour
	DefaultQualityMinSamples = 200
	DefaultExplore           = 0.02
	DefaultPrefixDigits      = 4
	DefaultGCPercent         = 300
	DefaultMaxPerMinute      = 300
	DefaultMinDeliveryRate   = 0.2
	DefaultPumpingMinSamples = 50
	DefaultHoldFor           = 30 * time.Minute
	DefaultLoopMax           = 30
	DefaultLoopPer           = 30 * time.Second
	DefaultMaxConns          = 16
	DefaultRetentionMessages = 30 * 24 * time.Hour
	DefaultRetentionLedger   = 400 * 24 * time.Hour
)

// prefiller is implemented by the types whose fields have defaults. The
// decoder calls prefill on every value it creates before reading keys into
// it, so a default applies only where the key is absent and an explicit zero
// stays zero (and fails Validate where zero is invalid).
type prefiller interface{ prefill() }

func setStr(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

func setInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

func setDur(p *time.Duration, v time.Duration) {
	if *p == 0 {
		*p = v
	}
}

func setFloat(p *float64, v float64) {
	if *p == 0 {
		*p = v
	}
}

func (c *Config) prefill() {
	k := &c.Kafka
	if k.Brokers == nil {
		k.Brokers = []string{DefaultBroker}
	}
	setStr(&k.Group, DefaultGroup)
	setDur(&k.SessionTimeout, DefaultSessionTimeout)
	setStr(&k.Topics.Submit, "sms.submit")
	setStr(&k.Topics.Status, "sms.status")
	setStr(&k.Topics.MO, "sms.mo")
	setStr(&k.Topics.DLQ, "sms.dlq")
	setStr(&c.HTTP.Listen, DefaultListen)
	setStr(&c.Log.Level, DefaultLogLevel)
	if c.Marketing.StopKeywords == nil {
		c.Marketing.StopKeywords = []string{"STOP", "UNSUBSCRIBE"}
	}
	if c.Marketing.StartKeywords == nil {
		c.Marketing.StartKeywords = []string{"START"}
	}
	setDur(&c.MO.ReassemblyTimeout, DefaultReassemblyTimeout)
	setDur(&c.DLR.Timeout, DefaultDLRTimeout)
	setDur(&c.DLR.EarlyHold, DefaultEarlyHold)
	setInt(&c.Limits.MaxParts, DefaultMaxParts)
	setInt(&c.Limits.MaxBytes, DefaultMaxBytes)
	setInt(&c.Postgres.MaxConns, DefaultMaxConns)
	setDur(&c.Retention.Messages, DefaultRetentionMessages)
	setDur(&c.Retention.Ledger, DefaultRetentionLedger)
	setInt(&c.Runtime.GCPercent, DefaultGCPercent)
}

func (o *Operator) prefill() {
	setStr(&o.Bind, BindTransceiver)
	setInt(&o.Binds, DefaultBinds)
	setInt(&o.Window, DefaultWindow)
	setFloat(&o.TPS, DefaultTPS)
	setDur(&o.EnquireLink, DefaultEnquireLink)
	setDur(&o.RespTimeout, DefaultRespTimeout)
	setInt(&o.FailoverAfter, DefaultFailoverAfter)
	setStr(&o.Concat, DefaultConcat)
	setStr(&o.DLRID, DefaultDLRID)
	setStr(&o.ChargeOn, DefaultChargeOn)
}

func (r *Route) prefill() {
	setInt(&r.Weight, DefaultWeight)
	setStr(&r.CostOn, DefaultCostOn)
}

func (a *Account) prefill() {
	setStr(&a.Timezone, DefaultTimezone)
	setStr(&a.Billing, BillingPostpaid)
	setStr(&a.OnInsufficient, InsufficientReject)
	setInt(&a.Weight, DefaultAccountWeight)
}

func (p *Portability) prefill() {
	setDur(&p.CacheTTL, DefaultCacheTTL)
	setDur(&p.LookupTimeout, DefaultLookupTimeout)
}

func (r *Reroute) prefill() {
	if r.On == nil {
		r.On = []string{"UNDELIV", "REJECTD"}
	}
	setInt(&r.MaxAttempts, DefaultMaxAttempts)
}

func (q *Quality) prefill() {
	setDur(&q.Window, DefaultQualityWindow)
	setInt(&q.MinSamples, DefaultQualityMinSamples)
	setFloat(&q.Explore, DefaultExplore)
}

func (p *Pumping) prefill() {
	setInt(&p.PrefixDigits, DefaultPrefixDigits)
	setInt(&p.MaxPerMinute, DefaultMaxPerMinute)
	setFloat(&p.MinDeliveryRate, DefaultMinDeliveryRate)
	setInt(&p.MinSamples, DefaultPumpingMinSamples)
	setDur(&p.HoldFor, DefaultHoldFor)
}

// prefill for a sender rule also sets the booleans, which ApplyDefaults
// cannot (false is a meaningful explicit value).
func (s *SenderRule) prefill() {
	s.Alphanumeric = true
	s.Numeric = true
}

func (l *Loop) prefill() {
	setInt(&l.Max, DefaultLoopMax)
	setDur(&l.Per, DefaultLoopPer)
}

// ApplyDefaults fills every zero-valued field that has a default (booleans
// excepted: false is a real value) and normalises like Parse does. It is for
// a Config built in code; Parse and Load have already applied defaults, and
// there an explicit zero is kept so that Validate can reject it.
func (c *Config) ApplyDefaults() {
	c.prefill()
	for i := range c.Operators {
		c.Operators[i].prefill()
	}
	for i := range c.Routes {
		c.Routes[i].prefill()
	}
	for i := range c.Accounts {
		c.Accounts[i].prefill()
	}
	if n := c.Numbering; n != nil && n.Portability != nil {
		n.Portability.prefill()
	}
	if c.Reroute != nil {
		c.Reroute.prefill()
	}
	if c.Quality != nil {
		c.Quality.prefill()
	}
	if p := c.Protection; p != nil {
		if p.Pumping != nil {
			p.Pumping.prefill()
		}
		if p.Loop != nil {
			p.Loop.prefill()
		}
	}
	c.finish("")
}

// finish normalises after decoding: derived defaults, upper-cased keywords,
// loaded time zones, compiled patterns and a resolved ranges path. Values it
// cannot derive (a bad time zone, a bad pattern) are left for Validate.
func (c *Config) finish(baseDir string) {
	c.HTTP.finishTokens()
	for _, f := range []*string{&c.HTTP.TLSCert, &c.HTTP.TLSKey} {
		if *f != "" && baseDir != "" && !filepath.IsAbs(*f) {
			*f = filepath.Join(baseDir, *f)
		}
	}
	for i := range c.Operators {
		o := &c.Operators[i]
		if o.Bind == BindTransmitterReceiver && o.Receivers == 0 {
			o.Receivers = DefaultReceivers
		}
		if o.TLSCAFile != "" && baseDir != "" && !filepath.IsAbs(o.TLSCAFile) {
			o.TLSCAFile = filepath.Join(baseDir, o.TLSCAFile)
		}
	}
	for i := range c.Accounts {
		a := &c.Accounts[i]
		if loc, err := time.LoadLocation(a.Timezone); err == nil && a.Timezone != "" {
			a.Location = loc
		}
	}
	upper(c.Marketing.StopKeywords)
	upper(c.Marketing.StartKeywords)
	upper(c.MO.Keywords)
	if len(c.MO.AutoReply) > 0 {
		replies := make(map[string]string, len(c.MO.AutoReply))
		for k, v := range c.MO.AutoReply {
			replies[strings.ToUpper(k)] = v
		}
		c.MO.AutoReply = replies
	}
	if c.Reroute != nil {
		upper(c.Reroute.On)
	}
	if n := c.Numbering; n != nil && n.Ranges != "" && baseDir != "" && !filepath.IsAbs(n.Ranges) {
		n.Ranges = filepath.Join(baseDir, n.Ranges)
	}
	if p := c.Protection; p != nil {
		if p.Pumping != nil {
			if p.Pumping.Mode == nil {
				p.Pumping.Mode = map[string]string{}
			}
			if _, ok := p.Pumping.Mode["default"]; !ok {
				p.Pumping.Mode["default"] = ModeBlock
			}
		}
		for i := range p.Content {
			if re, err := regexp.Compile(p.Content[i].Pattern); err == nil {
				p.Content[i].Regexp = re
			}
		}
	}
}

func upper(s []string) {
	for i := range s {
		s[i] = strings.ToUpper(strings.TrimSpace(s[i]))
	}
}
