// Command smsgate is the SMPP carrier connector. Each subcommand lives in its
// own file and registers itself in init(); main only dispatches and turns an
// error into a one-line reason and a non-zero exit status.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand. run gets the arguments after the subcommand's
// name and a context cancelled on SIGINT/SIGTERM.
type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

var commands = map[string]command{}

func register(name, summary string, run func(ctx context.Context, args []string) error) {
	if _, dup := commands[name]; dup {
		panic("smsgate: command registered twice: " + name)
	}
	commands[name] = command{summary: summary, run: run}
}

// errUsage marks errors whose message is already a usage line.
var errUsage = errors.New("usage")

func usage() {
	fmt.Fprintln(os.Stderr, "usage: smsgate <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-14s %s\n", n, commands[n].summary)
	}
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "smsgate: unknown command %q (run smsgate help)\n", os.Args[1])
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cmd.run(ctx, os.Args[2:])
	stop()
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "smsgate %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// newFlagSet returns a flag set that reports errors instead of exiting, so
// main prints one line and exits non-zero.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("smsgate "+name, flag.ContinueOnError)
	return fs
}
