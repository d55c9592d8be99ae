package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/events"
	"github.com/smsgate/smsgate/internal/message"
	"github.com/smsgate/smsgate/internal/store"
)

func init() {
	register("trace", "show the whole journey of one message", runTrace)
}

func runTrace(ctx context.Context, args []string) error {
	fs := newFlagSet("trace")
	cfgPath := fs.String("config", "", "config file (postgres.dsn; operators and http.show_message_text when the whole file loads); default $SMSGATE_POSTGRES_DSN")
	asJSON := fs.Bool("json", false, "print the JSON the API answers (GET /api/v1/messages/{id})")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: smsgate trace [-config FILE] [-json] MESSAGE_ID")
	}
	id := fs.Arg(0)
	dsn, err := postgresDSN(*cfgPath)
	if err != nil {
		return err
	}
	// The whole config, when it loads, gives what the API uses too: which
	// operators send one receipt per message, and whether text may be shown.
	showText := false
	var lastPart events.LastPartOnly
	if *cfgPath != "" {
		if cfg, err := config.Load(*cfgPath); err == nil {
			showText = cfg.HTTP.ShowMessageText
			lastPart = func(op string) bool {
				o, ok := cfg.Operator(op)
				return ok && o.DLRLastPartOnly
			}
		}
	}
	st, err := store.Open(ctx, dsn, 2)
	if err != nil {
		return err
	}
	defer st.Close()
	doc, err := events.TraceOf(ctx, st.Pool, id, showText, lastPart)
	if errors.Is(err, store.ErrNoMessage) {
		return fmt.Errorf("message %q: not found (never accepted, or past retention)", message.Sanitize(id))
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	return events.WriteTrace(os.Stdout, doc)
}
