package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/segmentio/kafka-go"
)

// operator is one simulated operator: its cap, its destination prefix and
// how many messages the benchmark queues for it.
type operator struct {
	Name     string // smsgate operator name and simulator system_id
	Prefix   string // destination prefix routed to it, unique per operator
	TPS      int    // the configured cap (msg/s; every message is one part)
	Messages int    // pre-loaded messages
	Host     string // simulator address
	Port     string
}

// planOperators spreads n caps evenly over [minTPS, maxTPS] and gives each
// operator enough messages for seconds at its cap. Prefixes are 995 + a
// three-digit index, so up to 1,000 operators get distinct prefixes that no
// other prefix contains.
func planOperators(n, minTPS, maxTPS int, seconds float64) ([]operator, error) {
	if n < 1 || n > 1000 {
		return nil, fmt.Errorf("operators: want 1..1000, got %d", n)
	}
	if minTPS < 1 || maxTPS < minTPS {
		return nil, fmt.Errorf("caps: want 1 <= min <= max, got %d..%d", minTPS, maxTPS)
	}
	ops := make([]operator, n)
	for i := range ops {
		tps := minTPS
		if n > 1 {
			tps = minTPS + int(math.Round(float64(maxTPS-minTPS)*float64(i)/float64(n-1)))
		}
		ops[i] = operator{
			Name:     fmt.Sprintf("op%03d", i),
			Prefix:   fmt.Sprintf("995%03d", i),
			TPS:      tps,
			Messages: int(math.Ceil(float64(tps) * seconds)),
		}
	}
	return ops, nil
}

// sumTPS is the aggregate cap.
func sumTPS(ops []operator) int {
	s := 0
	for _, o := range ops {
		s += o.TPS
	}
	return s
}

// configYAML renders the smsgate config: one operator per simulator, each
// routed by its own prefix; one account priced for all of them.
func configYAML(ops []operator, broker, dsn, httpAddr string, binds, window int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "kafka: {brokers: [%q], group: scale}\n", broker)
	fmt.Fprintf(&b, "postgres: {dsn: %q}\n", dsn)
	fmt.Fprintf(&b, "http: {listen: %q}\n", httpAddr)
	b.WriteString("operators:\n")
	for _, o := range ops {
		fmt.Fprintf(&b, "  - {name: %s, host: %s, port: %s, system_id: %s, password: pw, binds: %d, window: %d, tps: %d}\n",
			o.Name, o.Host, o.Port, o.Name, binds, window, o.TPS)
	}
	b.WriteString("routes:\n")
	for _, o := range ops {
		fmt.Fprintf(&b, "  - {prefix: %q, operator: %s, cost: 0.01, currency: EUR}\n", o.Prefix, o.Name)
	}
	b.WriteString(`accounts:
  - {name: acme, senders: [ACME], rates: [{prefix: "995", price: 0.03, currency: EUR}]}
dlr: {timeout: 1h}
`)
	return b.String()
}

// records returns every operator's messages interleaved in proportion to
// the caps (one virtual second of each operator's traffic after another),
// so ingest feeds every operator at the same fraction of its cap and none
// is starved while others are over-fed.
func records(ops []operator) []kafka.Message {
	total, longest := 0, 0
	for _, o := range ops {
		total += o.Messages
		longest = max(longest, (o.Messages+o.TPS-1)/o.TPS)
	}
	out := make([]kafka.Message, 0, total)
	next := make([]int, len(ops))
	for sec := 0; sec < longest; sec++ {
		for i, o := range ops {
			for k := 0; k < o.TPS && next[i] < o.Messages; k++ {
				out = append(out, message(o, next[i]))
				next[i]++
			}
		}
	}
	return out
}

// message k of operator o: a single-part GSM 7-bit text to a number under
// the operator's prefix.
func message(o operator, k int) kafka.Message {
	id := fmt.Sprintf("%s-%d", o.Name, k)
	to := fmt.Sprintf("%s%06d", o.Prefix, k%1_000_000)
	v := `{"id":"` + id + `","account":"acme","from":"ACME","to":"` + to + `","text":"Your code is 123456. It expires in 5 minutes."}`
	return kafka.Message{Key: []byte(id), Value: []byte(v)}
}
