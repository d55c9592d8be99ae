package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

// A graceful stop that hangs ends with exit status 1 after -stop-timeout.
// The watchdog exits the process, so it runs in a child (this test binary
// re-executed).
func TestStopWatchdogExitsAfterTimeout(t *testing.T) {
	if os.Getenv("SMSGATE_WATCHDOG_CHILD") == "1" {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // the signal arrived
		stopWatchdog(ctx, make(chan struct{}), 200*time.Millisecond, zap.NewExample())
		os.Exit(0) // not reached: the stop never finishes
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestStopWatchdogExitsAfterTimeout$")
	cmd.Env = append(os.Environ(), "SMSGATE_WATCHDOG_CHILD=1")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("child: %v, want exit status 1\n%s", err, out)
	}
	if !strings.Contains(string(out), "graceful stop did not finish in time") {
		t.Errorf("no explanation logged:\n%s", out)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("exited after %v", d)
	}
}

// A stop that finishes in time leaves the watchdog without a trace.
func TestStopWatchdogQuietWhenStopFinishes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan struct{})
	close(done)
	returned := make(chan struct{})
	go func() { stopWatchdog(ctx, done, time.Hour, zap.NewNop()); close(returned) }()
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("watchdog still waiting after the stop finished")
	}
}
