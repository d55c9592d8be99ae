package kafkabroker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// maxPartitions bounds partition counts accepted by ParseTopics and
// CreateTopics; an embedded test broker never needs more, and a typo such
// as "sms.submit:4000000" should fail instead of allocating.
const maxPartitions = 1024

// maxTopicLen is Kafka's limit on topic name length.
const maxTopicLen = 249

// ErrPartitionMismatch is returned by CreateTopics when a topic already
// exists with a different partition count than requested.
var ErrPartitionMismatch = errors.New("kafkabroker: topic exists with a different partition count")

// ErrBadTopic is returned for an invalid topic name or partition count.
var ErrBadTopic = errors.New("kafkabroker: bad topic")

// CreateTopics creates each topic with the given partition count
// (replication factor 1). It is idempotent: a topic that already exists
// with the same partition count is left alone; one that exists with another
// count is an ErrPartitionMismatch (nothing is deleted or repartitioned).
// Topics are created over the Kafka protocol, bounded by ctx.
func (b *Broker) CreateTopics(ctx context.Context, topics map[string]int) error {
	if len(topics) == 0 {
		return nil
	}
	names := make([]string, 0, len(topics))
	for name, n := range topics {
		if err := checkTopic(name, n); err != nil {
			return err
		}
		names = append(names, name)
	}
	sort.Strings(names)

	cl, err := kgo.NewClient(kgo.SeedBrokers(b.addrs...))
	if err != nil {
		return fmt.Errorf("kafkabroker: admin client: %w", err)
	}
	defer cl.Close()

	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 10_000
	for _, name := range names {
		t := kmsg.NewCreateTopicsRequestTopic()
		t.Topic = name
		t.NumPartitions = int32(topics[name])
		t.ReplicationFactor = 1
		req.Topics = append(req.Topics, t)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("kafkabroker: create topics: %w", err)
	}
	var existing []string
	for _, t := range resp.Topics {
		switch err := kerr.ErrorForCode(t.ErrorCode); {
		case err == nil:
		case errors.Is(err, kerr.TopicAlreadyExists):
			existing = append(existing, t.Topic)
		default:
			return fmt.Errorf("kafkabroker: create topic %q: %w", t.Topic, err)
		}
	}
	if len(existing) == 0 {
		return nil
	}
	got, err := partitionCounts(ctx, cl, existing)
	if err != nil {
		return err
	}
	for _, name := range existing {
		if got[name] != topics[name] {
			return fmt.Errorf("%w: %q has %d, want %d", ErrPartitionMismatch, name, got[name], topics[name])
		}
	}
	return nil
}

// partitionCounts asks the broker how many partitions each topic has.
func partitionCounts(ctx context.Context, cl *kgo.Client, names []string) (map[string]int, error) {
	req := kmsg.NewPtrMetadataRequest()
	for _, name := range names {
		t := kmsg.NewMetadataRequestTopic()
		t.Topic = kmsg.StringPtr(name)
		req.Topics = append(req.Topics, t)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("kafkabroker: topic metadata: %w", err)
	}
	out := make(map[string]int, len(resp.Topics))
	for _, t := range resp.Topics {
		if t.Topic == nil {
			continue
		}
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			return nil, fmt.Errorf("kafkabroker: metadata of %q: %w", *t.Topic, err)
		}
		out[*t.Topic] = len(t.Partitions)
	}
	return out, nil
}

// checkTopic validates a topic name (Kafka's rules: 1–249 characters of
// [a-zA-Z0-9._-], not "." or "..") and a partition count (1..1024).
func checkTopic(name string, partitions int) error {
	if name == "" || len(name) > maxTopicLen || name == "." || name == ".." {
		return fmt.Errorf("%w: name %q", ErrBadTopic, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: name %q has character %q", ErrBadTopic, name, c)
		}
	}
	if partitions < 1 || partitions > maxPartitions {
		return fmt.Errorf("%w: %q wants %d partitions (1..%d)", ErrBadTopic, name, partitions, maxPartitions)
	}
	return nil
}

// ParseTopics parses a topic list such as "sms.submit:4,sms.status:4,sms.mo"
// into topic → partitions. A topic without ":N" gets 1 partition; spaces
// around items are ignored; an empty string is an empty map. Names and
// counts are validated as by CreateTopics; a topic listed twice is an error.
func ParseTopics(s string) (map[string]int, error) {
	out := map[string]int{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		name, count, hasCount := strings.Cut(item, ":")
		n := 1
		if hasCount {
			v, err := strconv.Atoi(count)
			if err != nil {
				return nil, fmt.Errorf("%w: %q: partition count %q is not a number", ErrBadTopic, item, count)
			}
			n = v
		}
		if err := checkTopic(name, n); err != nil {
			return nil, err
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%w: %q listed twice", ErrBadTopic, name)
		}
		out[name] = n
	}
	return out, nil
}

// FormatTopics is the inverse of ParseTopics: "name:N" items sorted by name,
// comma-separated.
func FormatTopics(topics map[string]int) string {
	names := make([]string, 0, len(topics))
	for name := range topics {
		names = append(names, name)
	}
	sort.Strings(names)
	var sb strings.Builder
	for i, name := range names {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(name)
		sb.WriteByte(':')
		sb.WriteString(strconv.Itoa(topics[name]))
	}
	return sb.String()
}
