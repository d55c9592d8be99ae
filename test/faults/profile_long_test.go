//go:build faults

package faults

import "time"

// The long form (`make faults`): the durations issue #8 names.
var prof = profile{
	name:        "long",
	rate:        200,
	warmup:      5 * time.Second,
	tail:        15 * time.Second,
	killEvery:   10 * time.Second,
	killFor:     3 * time.Minute,
	faultFor:    30 * time.Second,
	halfOpenFor: 30 * time.Second,
	stormFor:    20 * time.Second,
	pgDownFor:   10 * time.Second,
	kafkaDown:   10 * time.Second,
	garbage:     10000,
	malformed:   500,
	settle:      4 * time.Minute,
}
