package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/smsgate/smsgate/pkg/kafkabroker"
)

func init() {
	register("kafka-broker", "run the embedded Kafka-protocol broker as its own process (tests, demos)", runKafkaBroker)
}

// runKafkaBroker runs pkg/kafkabroker until ctx ends. It exists so
// end-to-end and fault tests can kill and restart the broker independently
// of the gateway; with -data-dir a restart on the same -listen keeps records
// and committed offsets. It prints "LISTENING <addr>" on stdout once the
// broker accepts connections and its topics exist.
func runKafkaBroker(ctx context.Context, args []string) error {
	fs := newFlagSet("kafka-broker")
	listen := fs.String("listen", "127.0.0.1:9092", "listen address (loopback only; port 0 picks a free one)")
	dataDir := fs.String("data-dir", "", "persist topics, records and committed offsets here (empty: in memory)")
	syncWrites := fs.Bool("sync", false, "fsync every produced batch (needs -data-dir)")
	topics := fs.String("topics", "sms.submit:4,sms.status:4,sms.mo:1,sms.dlq:1", "topics to create, name:partitions comma-separated")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *syncWrites && *dataDir == "" {
		return fmt.Errorf("%w: -sync needs -data-dir", errUsage)
	}
	ts, err := kafkabroker.ParseTopics(*topics)
	if err != nil {
		return fmt.Errorf("-topics: %w", err)
	}
	log, err := newLogger(*logLevel)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // stderr sync fails harmlessly on some terminals

	b, err := kafkabroker.Start(kafkabroker.Options{
		Addr: *listen, DataDir: *dataDir, SyncWrites: *syncWrites, Topics: ts, Logger: log,
	})
	if err != nil {
		return err
	}
	defer b.Close()
	fmt.Fprintf(os.Stdout, "LISTENING %s\n", strings.Join(b.Addrs(), ","))
	<-ctx.Done()
	return nil
}
