// Package config reads smsgate.yml: strict YAML (an unknown key is an error
// naming the key and its line), ${ENV_VAR} expansion in values, durations with
// a day unit, exact money amounts, documented defaults, and a Validate that
// reports every problem at once, each naming its key path.
//
// The types are plain structs; the gateway turns them into the runtime options
// of its components. Secrets (operator passwords, HTTP tokens, the password in
// the Postgres DSN or in a lookup URL) never appear in an error, and Redacted
// / String give a printable copy.
package config

import (
	"crypto/x509"
	"fmt"
	"os"
	"regexp"
	"time"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/timewin"
)

// Config is the whole smsgate.yml. Sections of §2 of the interface are always
// present (with defaults); the §6 sections (Numbering, Reroute, Quality,
// Protection) are nil when absent, which means the feature is off.
type Config struct {
	// Kafka is where input is read and output written.
	Kafka Kafka `yaml:"kafka"`
	// Postgres is the durable queue and billing ledger.
	Postgres Postgres `yaml:"postgres"`
	// HTTP is the metrics, health, status page and API listener.
	HTTP HTTP `yaml:"http"`
	// Log sets the log verbosity.
	Log Log `yaml:"log"`
	// Operators are the SMSCs smsgate binds to; at least one is required.
	Operators []Operator `yaml:"operators"`
	// Routes map destinations to operators with a cost per message part; at
	// least one is required.
	Routes []Route `yaml:"routes"`
	// Accounts are the customers with their rate cards.
	Accounts []Account `yaml:"accounts"`
	// Marketing holds the rules marketing traffic obeys.
	Marketing Marketing `yaml:"marketing"`
	// MO configures mobile-originated message handling.
	MO MO `yaml:"mo"`
	// DLR configures delivery receipt handling.
	DLR DLR `yaml:"dlr"`
	// Limits bound what one input record may ask for.
	Limits Limits `yaml:"limits"`
	// Runtime tunes the Go runtime of `smsgate run`.
	Runtime Runtime `yaml:"runtime"`
	// Numbering resolves destinations to networks (§6); nil = off.
	Numbering *Numbering `yaml:"numbering,omitempty"`
	// Reroute resends a message on the next route after a failed receipt
	// (§6); nil = off.
	Reroute *Reroute `yaml:"reroute,omitempty"`
	// Quality ranks routes by delivery rate as well as cost (§6); nil = off.
	Quality *Quality `yaml:"quality,omitempty"`
	// Protection guards against fraud and abuse (§6); nil = off.
	Protection *Protection `yaml:"protection,omitempty"`
	// Retention says how long journal rows are kept.
	Retention Retention `yaml:"retention"`

	// lines maps key paths to the line they were read from, so Validate can
	// point at the file. Nil for a Config built in code.
	lines map[string]int
}

// Kafka is the `kafka` section.
type Kafka struct {
	// Brokers are the bootstrap brokers, host:port. Default ["127.0.0.1:9092"].
	Brokers []string `yaml:"brokers"`
	// Group is the consumer group of sms.submit. Default "smsgate".
	Group string `yaml:"group"`
	// SessionTimeout bounds how long a failed instance's partitions stay
	// with it. Default 10s.
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// Topics names the four topics.
	Topics Topics `yaml:"topics"`
}

// Topics is `kafka.topics`; all four names must differ.
type Topics struct {
	// Submit is the input topic. Default "sms.submit".
	Submit string `yaml:"submit"`
	// Status receives status events. Default "sms.status".
	Status string `yaml:"status"`
	// MO receives mobile-originated messages. Default "sms.mo".
	MO string `yaml:"mo"`
	// DLQ receives input records that could not be processed. Default "sms.dlq".
	DLQ string `yaml:"dlq"`
}

// Postgres is the `postgres` section.
type Postgres struct {
	// DSN is the connection string (URL or key=value form); required. Its
	// password is a secret: redacted when printed, never in errors.
	DSN string `yaml:"dsn"`
	// MaxConns is the connection pool's size, 4–1000. Default 16: the
	// journal lanes hold at most three at a time, the rest serve leases,
	// parked rows, housekeeping and the API.
	MaxConns int `yaml:"max_conns"`
}

// Retention is the `retention` section: how long journal rows are kept.
// Rows leave in whole daily partitions (messages in generations of
// settings.msg_gen_days), so a row is kept at least this long and at most
// one partition longer.
type Retention struct {
	// Messages covers messages, attempts' receipts and MO, and is the
	// window in which a repeated id is recognised as a duplicate. Default
	// 30d.
	Messages time.Duration `yaml:"messages"`
	// Ledger covers the billing ledger (attempt rows and charges). Default
	// 400d; at least Messages.
	Ledger time.Duration `yaml:"ledger"`
}

// Runtime is the `runtime` section. GOGC and GOMEMLIMIT in the
// environment win over it.
type Runtime struct {
	// GCPercent is Go's GOGC: how much the heap may grow over the live
	// data before a collection. Higher means fewer collections and shorter
	// latency tails for more memory. 25–1000, default 300.
	GCPercent int `yaml:"gc_percent"`
	// MemoryLimitMiB is a soft limit on the Go heap (GOMEMLIMIT), in MiB:
	// near it the collector works harder, so a high gc_percent cannot run
	// the process out of its container's memory. 0 (default): 75% of the
	// container's limit (cgroup memory.max) when there is one, else none.
	MemoryLimitMiB int `yaml:"memory_limit_mib"`
}

// HTTP is the `http` section.
type HTTP struct {
	// Listen is the address of the HTTP server. Default "127.0.0.1:8080".
	Listen string `yaml:"listen"`
	// TLSCert and TLSKey are PEM files; both set: HTTPS only (TLS 1.2+),
	// re-read on SIGHUP. Relative paths are against the config's directory.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// Tokens are the bearer tokens accepted by /api/, each with its scopes;
	// secrets. Empty: the API answers 401 to everyone.
	Tokens []Token `yaml:"tokens"`
	// ShowMessageText lets the status page and API show message text.
	// Default false: texts (one-time passwords) stay hidden.
	ShowMessageText bool `yaml:"show_message_text"`
}

// Log is the `log` section.
type Log struct {
	// Level is debug | info | warn | error. Default "info".
	Level string `yaml:"level"`
}

// Bind modes of Operator.Bind.
const (
	BindTransceiver         = "transceiver"
	BindTransmitterReceiver = "transmitter+receiver"
)

// Operator is one entry of `operators`.
type Operator struct {
	// Name identifies the operator in routes, metrics and the API: [a-z0-9_-],
	// unique, required.
	Name string `yaml:"name"`
	// Host of the SMSC; required.
	Host string `yaml:"host"`
	// Port of the SMSC, 1–65535; required.
	Port int `yaml:"port"`
	// SystemID is the bind system_id, 1–15 characters; required.
	SystemID string `yaml:"system_id"`
	// Password is the bind password; a secret (usually ${ENV}).
	Password string `yaml:"password"`
	// SystemType is the bind system_type, up to 12 characters. Default "".
	SystemType string `yaml:"system_type"`
	// Bind is transceiver | transmitter+receiver. Default "transceiver".
	Bind string `yaml:"bind"`
	// Binds is the number of sessions (transmitters or transceivers) for
	// the whole cluster, ≥ 1. Default 1.
	Binds int `yaml:"binds"`
	// Receivers is the number of receiver binds besides Binds; only with
	// transmitter+receiver, where absent or 0 means 1.
	Receivers int `yaml:"receivers"`
	// Window is the number of outstanding submit_sm per bind, 1–10000.
	// Default 100.
	Window int `yaml:"window"`
	// TPS is submit_sm (message parts) per second for the whole operator
	// and cluster, > 0. Default 500.
	TPS float64 `yaml:"tps"`
	// EnquireLink is the keep-alive interval. Default 30s.
	EnquireLink time.Duration `yaml:"enquire_link"`
	// RespTimeout is how long a submit_sm_resp may take before the outcome
	// is unknown. Default 30s.
	RespTimeout time.Duration `yaml:"resp_timeout"`
	// RetryUnknown resends parts whose outcome is unknown (risks
	// duplicates). Default false.
	RetryUnknown bool `yaml:"retry_unknown"`
	// TemporaryErrors are command_status values treated as temporary
	// besides 0x58, 0x14, 0x08 and 0x64; written 0x58 or 88. Default none.
	TemporaryErrors []CommandStatus `yaml:"temporary_errors"`
	// FailoverAfter is the number of temporary failures of one part before
	// the next route is tried, ≥ 1. Default 3.
	FailoverAfter int `yaml:"failover_after"`
	// Concat is how long messages are split: udh8 | udh16 | sar | payload.
	// Default "udh8".
	Concat string `yaml:"concat"`
	// GSM7Packed sends GSM 7-bit packed instead of one septet per octet.
	// Default false.
	GSM7Packed bool `yaml:"gsm7_packed"`
	// DLRID is how receipt ids relate to submit_sm_resp ids: auto | hex |
	// dec. Default "auto".
	DLRID string `yaml:"dlr_id"`
	// ChargeOn is when the customer is charged: submit | delivered.
	// Default "submit".
	ChargeOn string `yaml:"charge_on"`
	// TLS connects to the SMSC over TLS (1.2 or later, certificate and
	// host name verified). Default false.
	TLS bool `yaml:"tls"`
	// TLSCAFile is a PEM file of CA certificates that sign the SMSC's
	// certificate (operators often use a private CA); relative to the config
	// file. Default "": the system roots. Only with tls: true.
	TLSCAFile string `yaml:"tls_ca_file"`
	// TLSServerName is the name the SMSC's certificate must carry when it is
	// not Host (e.g. Host is an IP address). Default "": Host.
	TLSServerName string `yaml:"tls_server_name"`
	// DLRLastPartOnly: the operator sends one receipt, for the last part of
	// a multipart message only; that receipt decides every part. Default false.
	DLRLastPartOnly bool `yaml:"dlr_last_part_only"`
	// ErrorMap maps the operator's receipt error codes (the err: field of
	// the receipt text, or the network_error_code TLV) to our status, an
	// error reason shown in sms.status, and whether the message is sent
	// again on the next route. Default none.
	ErrorMap []ErrorRule `yaml:"error_map"`
	// Maintenance are windows in which no traffic is sent to the operator
	// (absolute "FROM/TO" intervals or weekly schedules, see timewin); its
	// queue is kept and sent afterwards; binds stay up. Default none.
	Maintenance []timewin.Window `yaml:"maintenance"`
}

// Statuses an ErrorRule may map a receipt to.
const (
	ErrorStatusUndeliverable = "undeliverable"
	ErrorStatusExpired       = "expired"
)

// ErrorRule is one entry of an operator's `error_map`: exactly one of Err
// and NetworkError.
type ErrorRule struct {
	// Err is a receipt err: value as the operator writes it (1–16 of
	// [A-Za-z0-9_.-]); codes of digits only match by value ("012" = "12").
	Err string `yaml:"err"`
	// NetworkError is a network_error_code TLV as TYPE:CODE: a network
	// type name (gsm, ansi136, is95, ansi136cause, is95cause, ansi41, smpp,
	// smsc) or number, and a code in decimal or 0x hex, e.g. "gsm:0x000B".
	NetworkError string `yaml:"network_error"`
	// Status is what a failed receipt with this code means:
	// undeliverable | expired; "" keeps the receipt's own stat. Default "".
	Status string `yaml:"status"`
	// Reason is the error.reason in sms.status when the message ends with
	// this code: 1–64 of [a-z0-9_]; required.
	Reason string `yaml:"reason"`
	// Retry true sends the message again on the next untried route (the
	// reroute section's machinery and max_attempts) even when reroute.on
	// does not list the receipt's stat; false never does; absent: reroute.on
	// decides.
	Retry *bool `yaml:"retry,omitempty"`
}

// Route is one entry of `routes`: exactly one of Prefix and MCCMNC.
type Route struct {
	// Prefix is the destination prefix, digits only.
	Prefix string `yaml:"prefix"`
	// MCCMNC names a network (mcc + mnc as written, 5–6 digits) instead of
	// a prefix; needs the numbering section.
	MCCMNC string `yaml:"mccmnc"`
	// Operator is the name of an operator; required.
	Operator string `yaml:"operator"`
	// Cost is the operator's cost per message part, ≥ 0, exact.
	Cost billing.Amount `yaml:"cost"`
	// Currency is an ISO 4217 code (three upper-case letters); required.
	Currency string `yaml:"currency"`
	// Weight is this route's share among routes of equal rank, ≥ 1.
	// Default 1.
	Weight int `yaml:"weight"`
	// Effective is when this row starts to apply (RFC 3339). Zero: always.
	Effective time.Time `yaml:"effective,omitempty"`
	// CostOn is when an attempt's operator cost is recorded: submit |
	// delivered. Default "submit".
	CostOn string `yaml:"cost_on"`
	// AllowLoss accepts a cost above every matching account price of the
	// same currency; without it such a route is a configuration error.
	// Default false.
	AllowLoss bool `yaml:"allow_loss"`
	// Active is a weekly schedule ("Mon-Fri 08:00-20:00", time zone last,
	// default UTC) outside which the route is not chosen. Default "":
	// always.
	Active timewin.Weekly `yaml:"active"`
}

// Account is one entry of `accounts`.
type Account struct {
	// Name is the `account` of input records: [A-Za-z0-9_.-], 1–64
	// characters, unique; required.
	Name string `yaml:"name"`
	// Senders are the short codes and sender ids of this account (MO
	// routing, opt-out).
	Senders []string `yaml:"senders"`
	// Timezone bounds the billing month; an IANA name. Default "UTC".
	Timezone string `yaml:"timezone"`
	// Location is Timezone loaded; set by Parse and Load.
	Location *time.Location `yaml:"-"`
	// Country is the country calling code national-format numbers of this
	// account are read in; overrides numbering.default_country. Default "".
	Country string `yaml:"country"`
	// Rates is the rate card; at least one rate is required.
	Rates []Rate `yaml:"rates"`
	// Weight is this account's share of an operator's TPS against the
	// other accounts queued at the same priority. Default 1, 1–1000.
	Weight int `yaml:"weight"`
	// TPS caps the account's parts per second across all operators and
	// instances; 0 = unlimited.
	TPS int `yaml:"tps"`
	// Quota caps the parts sent per day and per month (the account's
	// time zone); 0 = unlimited.
	Quota Quota `yaml:"quota"`
	// Billing is "postpaid" (default) or "prepaid".
	Billing string `yaml:"billing"`
	// CreditLimit is how far a postpaid balance may go below zero; 0 =
	// no limit. Not allowed with prepaid.
	CreditLimit billing.Amount `yaml:"credit_limit"`
	// OnInsufficient is what happens to a message the balance cannot pay
	// for: "reject" (default) or "hold" until funds arrive.
	OnInsufficient string `yaml:"on_insufficient"`
	// LowBalance fires SmsgateAccountLowBalance below it; 0 = off.
	LowBalance billing.Amount `yaml:"low_balance"`
}

// Quota is an account's parts per day and per month; 0 = unlimited.
type Quota struct {
	Day   int64 `yaml:"day"`
	Month int64 `yaml:"month"`
}

// Prepaid reports whether the account pays before it sends.
func (a *Account) Prepaid() bool { return a.Billing == BillingPrepaid }

// Funded reports whether the balance limits what the account may send.
func (a *Account) Funded() bool { return a.Prepaid() || a.CreditLimit > 0 }

// Billing modes and insufficient-funds actions.
const (
	BillingPostpaid      = "postpaid"
	BillingPrepaid       = "prepaid"
	InsufficientReject   = "reject"
	InsufficientHold     = "hold"
	DefaultAccountWeight = 1
)

// Rate is one entry of an account's `rates`: exactly one of Prefix and MCCMNC.
type Rate struct {
	// Prefix is the destination prefix, digits only.
	Prefix string `yaml:"prefix"`
	// MCCMNC names a network (5–6 digits) instead of a prefix.
	MCCMNC string `yaml:"mccmnc"`
	// Price is the customer price per message part, ≥ 0, exact.
	Price billing.Amount `yaml:"price"`
	// Currency is an ISO 4217 code; required.
	Currency string `yaml:"currency"`
	// Tiers are volume prices per calendar month, From strictly increasing.
	Tiers []Tier `yaml:"tiers"`
	// Effective is when this row starts to apply (RFC 3339). Zero: always.
	Effective time.Time `yaml:"effective,omitempty"`
}

// Tier is a volume price: Price applies from the (From+1)-th billed part of
// the month.
type Tier struct {
	// From is the number of parts after which Price applies, ≥ 1.
	From int64 `yaml:"from"`
	// Price is the price per part from then on, ≥ 0.
	Price billing.Amount `yaml:"price"`
}

// Marketing is the `marketing` section.
type Marketing struct {
	// FrequencyCap is N/<duration> per account and destination, e.g. 1/14d.
	// Default "" (off).
	FrequencyCap FrequencyCap `yaml:"frequency_cap"`
	// QuietHours is HH:MM-HH:MM in the destination's time zone. Default ""
	// (off).
	QuietHours QuietHours `yaml:"quiet_hours"`
	// StopKeywords opt a subscriber out; upper-cased by Parse. Default
	// [STOP, UNSUBSCRIBE].
	StopKeywords []string `yaml:"stop_keywords"`
	// StartKeywords opt a subscriber back in; upper-cased by Parse.
	// Default [START].
	StartKeywords []string `yaml:"start_keywords"`
}

// MO is the `mo` section.
type MO struct {
	// Keywords are recognised as the first word of an MO; upper-cased by
	// Parse. Default none.
	Keywords []string `yaml:"keywords"`
	// ReassemblyTimeout is how long parts of a multipart MO wait for the
	// rest. Default 10m.
	ReassemblyTimeout time.Duration `yaml:"reassembly_timeout"`
	// AutoReply maps a keyword (from mo.keywords or the marketing stop/start
	// keywords) to a text sent back to the subscriber, from the number they
	// wrote to, as a transactional message of the account owning that
	// number. Default none.
	AutoReply map[string]string `yaml:"auto_reply"`
}

// DLR is the `dlr` section.
type DLR struct {
	// Timeout: no final receipt by then and the message is expired /
	// dlr_timeout. Default 72h.
	Timeout time.Duration `yaml:"timeout"`
	// EarlyHold is how long a receipt waits for its submit_sm_resp.
	// Default 10m.
	EarlyHold time.Duration `yaml:"early_hold"`
	// KeepText stores each receipt's text as the SMSC sent it (its text:
	// excerpt of the message redacted unless http.show_message_text), so
	// `smsgate trace` can show it. Default false: it adds the text (about
	// 100 characters in the usual format) to every receipt row.
	KeepText bool `yaml:"keep_text"`
}

// Limits is the `limits` section.
type Limits struct {
	// MaxParts is the most parts one message may have, 1–255. Default 10.
	MaxParts int `yaml:"max_parts"`
	// MaxBytes is the largest input record in bytes, ≥ 1. Default 65536.
	MaxBytes int `yaml:"max_bytes"`
}

// Numbering is the `numbering` section (§6).
type Numbering struct {
	// DefaultCountry is the country calling code national numbers are read
	// in, 1–3 digits. Default "".
	DefaultCountry string `yaml:"default_country"`
	// Ranges is the CSV range table (prefix,mcc,mnc,network). A relative
	// path is resolved against the config file's directory by Parse.
	Ranges string `yaml:"ranges"`
	// Portability configures ported-number lookups; nil = no lookups
	// beyond the range table.
	Portability *Portability `yaml:"portability,omitempty"`
}

// Portability is `numbering.portability`.
type Portability struct {
	// CacheTTL is how long ported numbers and lookup answers are cached.
	// Default 24h.
	CacheTTL time.Duration `yaml:"cache_ttl"`
	// LookupURL is an http(s) URL with a {number} placeholder. Default ""
	// (no lookups). Its password, if any, is redacted.
	LookupURL string `yaml:"lookup_url"`
	// LookupTimeout bounds one lookup. Default 30ms.
	LookupTimeout time.Duration `yaml:"lookup_timeout"`
}

// Reroute is the `reroute` section (§6).
type Reroute struct {
	// On are receipt states that send the whole message again on the next
	// route: UNDELIV, REJECTD, EXPIRED, DELETED, UNKNOWN; upper-cased.
	// Default [UNDELIV, REJECTD].
	On []string `yaml:"on"`
	// MaxAttempts counts all attempts, the first included, 1–10. Default 2.
	MaxAttempts int `yaml:"max_attempts"`
}

// Quality is the `quality` section (§6).
type Quality struct {
	// Window is the rolling window of delivery rates. Default 1h.
	Window time.Duration `yaml:"window"`
	// MinSamples is the number of receipts before the rate counts, ≥ 1.
	// Default 200.
	MinSamples int `yaml:"min_samples"`
	// Explore is the share of traffic spread over routes that are not
	// best, 0 ≤ explore < 1. Default 0.02.
	Explore float64 `yaml:"explore"`
}

// Protection is the `protection` section (§6).
type Protection struct {
	// Blocklist rejects blocklisted numbers (reason `blocked`). Default false.
	Blocklist bool `yaml:"blocklist"`
	// Pumping guards against artificially inflated traffic; nil = off.
	Pumping *Pumping `yaml:"pumping,omitempty"`
	// Content rules match the filled text; first match wins.
	Content []ContentRule `yaml:"content"`
	// Senders rules restrict sender ids per destination country.
	Senders []SenderRule `yaml:"senders"`
	// Loop limits messages between the same sender and destination per
	// account; nil = off.
	Loop *Loop `yaml:"loop,omitempty"`
}

// Pumping modes of Pumping.Mode.
const (
	ModeBlock   = "block"
	ModeMonitor = "monitor"
	ModeAllow   = "allow"
)

// Pumping is `protection.pumping`.
type Pumping struct {
	// PrefixDigits: a range is the number without its last N digits, 1–12.
	// Default 4.
	PrefixDigits int `yaml:"prefix_digits"`
	// MaxPerMinute: more than this to one range holds it, ≥ 1. Default 300.
	MaxPerMinute int `yaml:"max_per_minute"`
	// MinDeliveryRate: below it (once MinSamples receipts are in) the range
	// is held, 0–1. Default 0.2.
	MinDeliveryRate float64 `yaml:"min_delivery_rate"`
	// MinSamples is the receipts needed before MinDeliveryRate applies,
	// ≥ 1. Default 50.
	MinSamples int `yaml:"min_samples"`
	// HoldFor is the first hold's length; it doubles on each repeat.
	// Default 30m.
	HoldFor time.Duration `yaml:"hold_for"`
	// Mode maps "default" or a country calling code to block | monitor |
	// allow. Default {default: block}; a map without "default" gets it.
	Mode map[string]string `yaml:"mode"`
	// Safe are destination prefixes never held.
	Safe []string `yaml:"safe"`
}

// ContentRule is one entry of `protection.content`.
type ContentRule struct {
	// Pattern is a Go RE2 expression matched against the filled text;
	// required.
	Pattern string `yaml:"pattern"`
	// Regexp is Pattern compiled; set by Parse and Load.
	Regexp *regexp.Regexp `yaml:"-"`
	// Action is reject | hold; required.
	Action string `yaml:"action"`
}

// SenderRule is one entry of `protection.senders`. A sender that the rule
// does not allow is replaced by ReplaceWith, or rejected
// (sender_not_allowed) when ReplaceWith is empty.
type SenderRule struct {
	// Country is the destination's country calling code; "" = any.
	Country string `yaml:"country"`
	// Operator limits the rule to one operator; "" = any. A rule with an
	// operator beats one without.
	Operator string `yaml:"operator"`
	// Alphanumeric allows alphanumeric senders. Default true.
	Alphanumeric bool `yaml:"alphanumeric"`
	// Numeric allows numeric senders (a short code counts). Default true.
	Numeric bool `yaml:"numeric"`
	// ReplaceWith replaces a sender the rule does not allow. Default "".
	ReplaceWith string `yaml:"replace_with"`
}

// Loop is `protection.loop`.
type Loop struct {
	// Max messages between the same sender and destination per Per, ≥ 1.
	// Default 30.
	Max int `yaml:"max"`
	// Per is the window, > 0. Default 30s.
	Per time.Duration `yaml:"per"`
}

// Operator returns the operator called name.
func (c *Config) Operator(name string) (*Operator, bool) {
	for i := range c.Operators {
		if c.Operators[i].Name == name {
			return &c.Operators[i], true
		}
	}
	return nil, false
}

// Account returns the account called name.
func (c *Config) Account(name string) (*Account, bool) {
	for i := range c.Accounts {
		if c.Accounts[i].Name == name {
			return &c.Accounts[i], true
		}
	}
	return nil, false
}

// CertPool reads TLSCAFile: nil (the system roots) when it is empty.
func (o *Operator) CertPool() (*x509.CertPool, error) {
	if o.TLSCAFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(o.TLSCAFile)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", o.TLSCAFile)
	}
	return pool, nil
}
