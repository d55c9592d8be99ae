// Package kafkabroker is an embedded, single-node Kafka-protocol broker for
// the demo and for tests. It wraps franz-go's kfake, so no Kafka server has
// to be installed; clients (segmentio/kafka-go, librdkafka/kcat) talk to it
// over TCP on a loopback address exactly as to a real broker.
//
// It is not a production broker: there is one node, no replication and no
// authentication, which is why it refuses to listen anywhere but loopback.
//
// kfake features relied on (kfake v0.0.0-20260918054303-01f206a7e32c):
//   - NewCluster with Ports(p) (one broker per port, so exactly one node) and
//     ListenFn (to listen on the requested loopback host, kfake itself always
//     binds 127.0.0.1);
//   - Produce/Fetch/ListOffsets/Metadata, consumer groups (JoinGroup,
//     SyncGroup, Heartbeat, OffsetCommit/OffsetFetch) as used by kafka-go's
//     group Reader, and CreateTopics (used by CreateTopics below, so topics
//     are created the same way on a fresh start and on a restart);
//   - DataDir: on NewCluster the state (topics, records, committed group
//     offsets) is reloaded from the directory; Close saves it, and committed
//     offsets still queued at Close are applied before the save;
//   - SyncWrites: fsync per produced batch, so a killed process loses
//     nothing that was acknowledged;
//   - AllowAutoTopicCreation + DefaultNumPartitions, for clients that write
//     to a topic nobody created (kafka-go Writer.AllowAutoTopicCreation);
//   - GroupMinSessionTimeout, lowered so fault tests can use short sessions;
//   - WithLogger, bridged to zap.
//
// SeedTopics is deliberately not used: kfake ignores it when it reloads
// state from DataDir, so topics added to Options.Topics after the first run
// would silently be missing.
package kafkabroker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/zap"
)

// DefaultAddr is the listen address used when Options.Addr is empty.
const DefaultAddr = "127.0.0.1:0"

// autoCreatePartitions is the partition count of auto-created topics, as
// Kafka's own num.partitions default.
const autoCreatePartitions = 1

// minSessionTimeout lets clients ask for group session timeouts down to 1 s
// (kfake's default minimum is 6 s), so a test that kills a consumer sees the
// rebalance quickly.
const minSessionTimeout = time.Second

// startTimeout bounds creating Options.Topics during Start.
const startTimeout = 15 * time.Second

// ErrNotLoopback is returned by Start when Options.Addr is not a loopback
// address.
var ErrNotLoopback = errors.New("kafkabroker: listen address is not loopback")

// Options configures Start. The zero value is an in-memory broker on a
// random 127.0.0.1 port with no topics.
type Options struct {
	// Addr is the listen address, "host:port". Default DefaultAddr. Port 0
	// picks a free port; an empty host means 127.0.0.1. The host must be a
	// loopback IP or "localhost" (ErrNotLoopback otherwise).
	Addr string
	// DataDir enables persistence: state is loaded from it at Start and
	// saved to it continuously and at Close. "" keeps everything in memory.
	// Two brokers must not share a DataDir at the same time.
	DataDir string
	// SyncWrites fsyncs every produced batch (only with DataDir). Slower,
	// but an acknowledged record survives kill -9.
	SyncWrites bool
	// Topics maps topic name to partition count; they are created at Start
	// (see CreateTopics for what happens if one already exists).
	Topics map[string]int
	// Logger receives kfake's errors and warnings; its requests log at
	// debug level. Nil means zap.NewNop().
	Logger *zap.Logger
}

// Broker is a running embedded broker. Its methods are safe for concurrent
// use.
type Broker struct {
	c     *kfake.Cluster
	addrs []string
	log   *zap.Logger
	once  sync.Once
}

// Start validates o, starts the broker listening and creates o.Topics. The
// broker runs until Close.
func Start(o Options) (*Broker, error) {
	log := o.Logger
	if log == nil {
		log = zap.NewNop()
	}
	addr := o.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	host, port, err := loopbackHostPort(addr)
	if err != nil {
		return nil, err
	}
	opts := []kfake.Opt{
		kfake.Ports(port),
		kfake.ListenFn(func(network, kfakeAddr string) (net.Listener, error) {
			// kfake asks for 127.0.0.1:port; keep its port, use our host.
			_, p, err := net.SplitHostPort(kfakeAddr)
			if err != nil {
				return nil, fmt.Errorf("kafkabroker: listen address from kfake %q: %w", kfakeAddr, err)
			}
			return net.Listen(network, net.JoinHostPort(host, p))
		}),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(autoCreatePartitions),
		kfake.GroupMinSessionTimeout(minSessionTimeout),
		kfake.WithLogger(zapLogger{log}),
	}
	if o.DataDir != "" {
		opts = append(opts, kfake.DataDir(o.DataDir))
		if o.SyncWrites {
			opts = append(opts, kfake.SyncWrites())
		}
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafkabroker: start on %s: %w", addr, err)
	}
	b := &Broker{c: c, addrs: c.ListenAddrs(), log: log}
	if len(o.Topics) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		err = b.CreateTopics(ctx, o.Topics)
		cancel()
		if err != nil {
			b.Close()
			return nil, err
		}
	}
	log.Info("kafka broker started", zap.Strings("addrs", b.addrs),
		zap.String("data_dir", o.DataDir), zap.Bool("sync_writes", o.SyncWrites && o.DataDir != ""))
	return b, nil
}

// Addrs returns the broker's listen addresses ("host:port"), for use as the
// clients' bootstrap list. The slice is a copy.
func (b *Broker) Addrs() []string {
	return append([]string(nil), b.addrs...)
}

// Close stops listening, saves state to DataDir (if any) and stops the
// broker. Open client connections are dropped; their goroutines wind down
// shortly after Close returns. Close is idempotent. After Close returns the
// port and DataDir may be reused by a new Start.
func (b *Broker) Close() {
	b.once.Do(func() {
		b.c.Close()
		b.log.Info("kafka broker stopped", zap.Strings("addrs", b.addrs))
	})
}

// loopbackHostPort splits addr and checks that its host is loopback. An
// empty host becomes 127.0.0.1; "localhost" becomes 127.0.0.1 rather than
// whatever the resolver says, so the address is predictable.
func loopbackHostPort(addr string) (host string, port int, err error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("kafkabroker: listen address %q: %w", addr, err)
	}
	port, err = strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("kafkabroker: listen address %q: bad port %q", addr, p)
	}
	switch h {
	case "", "localhost":
		return "127.0.0.1", port, nil
	}
	ip := net.ParseIP(h)
	if ip == nil || !ip.IsLoopback() {
		return "", 0, fmt.Errorf("%w: %q", ErrNotLoopback, addr)
	}
	return ip.String(), port, nil
}
