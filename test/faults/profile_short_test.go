//go:build !faults

package faults

import "time"

// The short form: every scenario with small counts so the whole suite stays
// within a few minutes on two busy cores.
var prof = profile{
	name:        "short",
	rate:        150,
	warmup:      3 * time.Second,
	tail:        5 * time.Second,
	killEvery:   10 * time.Second,
	killFor:     20 * time.Second,
	faultFor:    6 * time.Second,
	halfOpenFor: 8 * time.Second,
	stormFor:    6 * time.Second,
	pgDownFor:   4 * time.Second,
	kafkaDown:   3 * time.Second,
	garbage:     2000,
	malformed:   40,
	settle:      90 * time.Second,
}
