package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// sampleKafkaLag sets smsgate_kafka_consumer_lag: per partition of
// sms.submit, the log end offset minus the group's committed offset (a
// partition never committed counts from its first offset).
func (g *Gateway) sampleKafkaLag() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c := &kafka.Client{Addr: kafka.TCP(g.cfg.Kafka.Brokers...), Timeout: 3 * time.Second}
	topic := g.cfg.Kafka.Topics.Submit
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return fmt.Errorf("kafka lag: %w", err)
	}
	var parts []int
	for _, t := range md.Topics {
		if t.Name == topic {
			for _, p := range t.Partitions {
				parts = append(parts, p.ID)
			}
		}
	}
	if len(parts) == 0 {
		return nil
	}
	reqs := make([]kafka.OffsetRequest, 0, 2*len(parts))
	for _, p := range parts {
		reqs = append(reqs, kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	offs, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return fmt.Errorf("kafka lag: %w", err)
	}
	committed, err := c.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: g.cfg.Kafka.Group, Topics: map[string][]int{topic: parts}})
	if err != nil {
		return fmt.Errorf("kafka lag: %w", err)
	}
	done := map[int]int64{}
	for _, p := range committed.Topics[topic] {
		done[p.Partition] = p.CommittedOffset
	}
	var lag int64
	for _, p := range offs.Topics[topic] {
		from, ok := done[p.Partition]
		if !ok || from < 0 {
			from = p.FirstOffset
		}
		if d := p.LastOffset - from; d > 0 {
			lag += d
		}
	}
	g.metrics.kafkaLag.Set(float64(lag))
	g.submitLag.Store(lag)
	return nil
}

// sampleBilling copies this month's billed totals (UTC month) into gauges.
func (g *Gateway) sampleBilling() error {
	rows, err := g.store.BillingSummary(context.Background(), time.Now().UTC().Format("2006-01"))
	if err != nil {
		return err
	}
	m := g.metrics
	now := make(map[[3]string]bool, len(rows))
	for _, r := range rows {
		k := [3]string{r.Account, r.Operator, r.Currency}
		now[k] = true
		m.billedParts.WithLabelValues(k[:]...).Set(float64(r.Parts))
		m.billedRevenue.WithLabelValues(k[:]...).Set(r.Revenue.Float64())
		m.billedCost.WithLabelValues(k[:]...).Set(r.Cost.Float64())
	}
	// Series of a past month (or a vanished account) go; the others were
	// overwritten in place, so a scrape never sees them missing.
	for k := range m.billedSeries {
		if !now[k] {
			m.billedParts.DeleteLabelValues(k[:]...)
			m.billedRevenue.DeleteLabelValues(k[:]...)
			m.billedCost.DeleteLabelValues(k[:]...)
		}
	}
	m.billedSeries = now
	return nil
}
