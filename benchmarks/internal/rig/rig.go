// Package rig is what the benchmark programs that run the smsgate binary
// share: a throw-away database, the embedded broker, a free port and the
// binary started and stopped gracefully.
package rig

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"time"

	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/pkg/kafkabroker"
)

// TempDatabase creates an empty database named after prefix and returns
// its DSN and the function that drops it.
func TempDatabase(ctx context.Context, prefix string) (string, func(), error) {
	var rb [4]byte
	_, _ = rand.Read(rb[:])
	dsn := "postgres://postgres@127.0.0.1:5432/" + prefix + "_" + hex.EncodeToString(rb[:]) + "?sslmode=disable"
	if err := store.EnsureDatabase(ctx, dsn); err != nil {
		return "", nil, err
	}
	return dsn, func() { _ = store.DropDatabase(context.Background(), dsn) }, nil
}

// StartBroker starts the embedded Kafka-protocol broker with smsgate's
// topics (8 partitions for sms.submit and sms.status).
func StartBroker() (*kafkabroker.Broker, error) {
	return kafkabroker.Start(kafkabroker.Options{Addr: "127.0.0.1:0", Topics: map[string]int{
		"sms.submit": 8, "sms.status": 8, "sms.mo": 1, "sms.dlq": 1}})
}

// FreeAddr returns a 127.0.0.1 address with a port free right now.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// StartSmsgate runs `bin run -config cfgPath` (warnings to stderr) and
// returns the process and the function that stops it: SIGINT, then a
// kill after 30 s.
func StartSmsgate(ctx context.Context, bin, cfgPath string) (*exec.Cmd, func(), error) {
	cmd := exec.CommandContext(ctx, bin, "run", "-config", cfgPath, "-log-level", "warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
		}
	}
	return cmd, stop, nil
}
