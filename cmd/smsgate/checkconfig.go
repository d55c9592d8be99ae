package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/smsgate/smsgate/internal/config"
)

func init() {
	register("check-config", "validate a configuration file and exit", func(_ context.Context, args []string) error {
		return checkConfig(args, os.Stdout)
	})
}

// checkConfig loads and validates -config. On success it prints a one-line
// summary to out; otherwise it returns every problem joined with "; " so
// that main prints one line.
func checkConfig(args []string, out io.Writer) error {
	fs := newFlagSet("check-config")
	path := fs.String("config", "smsgate.yml", "configuration `file`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c, err := config.Load(*path)
	var problem *config.Error
	if errors.As(err, &problem) {
		return errors.New(*path + ": " + config.OneLine(err))
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "config OK: %d operators, %d routes, %d accounts\n", len(c.Operators), len(c.Routes), len(c.Accounts))
	return err
}
