package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/segmentio/kafka-go"

	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/router"
)

func init() {
	register("send", "produce one message to sms.submit", runSend)
}

func runSend(ctx context.Context, args []string) error {
	fs := newFlagSet("send")
	path := fs.String("config", "smsgate.yml", "config file (for brokers and topic)")
	brokers := fs.String("brokers", "", "Kafka brokers, comma-separated (overrides the config)")
	id := fs.String("id", "", "message id (default: random)")
	account := fs.String("account", "", "account (default: the config's first account)")
	from := fs.String("from", "", "sender (default: the account's first sender)")
	to := fs.String("to", "", "destination number (required)")
	text := fs.String("text", "", "message text (required)")
	kind := fs.String("kind", "", "transactional or marketing")
	prio := fs.Int("priority", 0, "priority 0-9")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *to == "" || *text == "" {
		return errors.New("-to and -text are required")
	}
	var bs []string
	topic := "sms.submit"
	cfg, err := config.Load(*path)
	if err == nil {
		bs, topic = cfg.Kafka.Brokers, cfg.Kafka.Topics.Submit
		if *account == "" && len(cfg.Accounts) > 0 {
			*account = cfg.Accounts[0].Name
			if *from == "" && len(cfg.Accounts[0].Senders) > 0 {
				*from = cfg.Accounts[0].Senders[0]
			}
		}
	} else if *brokers == "" {
		return err
	}
	if *brokers != "" {
		bs = splitComma(*brokers)
	}
	if *from == "" {
		return errors.New("-from is required (the account has no senders in the config to default to)")
	}
	if *id == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		*id = "cli-" + hex.EncodeToString(b[:])
	}
	if err := validateSend(cfg, sendRecord{id: *id, account: *account, from: *from, to: *to, text: *text, kind: *kind, priority: *prio}); err != nil {
		return err
	}
	rec := map[string]any{"id": *id, "account": *account, "from": *from, "to": *to, "text": *text}
	if *kind != "" {
		rec["kind"] = *kind
	}
	if *prio != 0 {
		rec["priority"] = *prio
	}
	value, _ := json.Marshal(rec)
	w := &kafka.Writer{Addr: kafka.TCP(bs...), Topic: topic, RequiredAcks: kafka.RequireAll,
		BatchTimeout: time.Millisecond, AllowAutoTopicCreation: true}
	defer w.Close()
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := w.WriteMessages(wctx, kafka.Message{Key: []byte(*id), Value: value}); err != nil {
		return fmt.Errorf("produce to %s: %w", topic, err)
	}
	fmt.Fprintf(os.Stdout, "%s\n", *id)
	return nil
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

type sendRecord struct {
	id, account, from, to, text, kind string
	priority                          int
}

// validateSend refuses what ingest would send to the DLQ, before it is
// produced: the operator at the command line hears why at once. cfg may be
// nil (no config: -brokers only), then the account and a national number
// cannot be checked.
func validateSend(cfg *config.Config, r sendRecord) error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for _, f := range []struct{ name, v string }{{"-id", r.id}, {"-account", r.account}, {"-from", r.from}, {"-to", r.to}, {"-text", r.text}} {
		if strings.IndexByte(f.v, 0) >= 0 || !utf8.ValidString(f.v) {
			bad("%s: NUL or invalid UTF-8", f.name)
		}
	}
	if n := utf8.RuneCountInString(r.id); n > 64 {
		bad("-id: %d characters, at most 64", n)
	}
	switch r.kind {
	case "", "transactional", "marketing":
	default:
		bad("-kind %q: transactional or marketing", r.kind)
	}
	if r.priority < 0 || r.priority > 9 {
		bad("-priority %d: 0-9", r.priority)
	}
	country := ""
	if cfg != nil {
		if r.account == "" {
			bad("-account: required (the config has no accounts)")
		} else if a, ok := cfg.Account(r.account); !ok {
			bad("-account %q: not in the config", r.account)
		} else {
			country = a.Country
		}
		if country == "" && cfg.Numbering != nil {
			country = cfg.Numbering.DefaultCountry
		}
	}
	if _, err := router.NormalizeMSISDN(r.to, country); err != nil {
		bad("-to: %v", err)
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}
