package benchmarks

import (
	"os"
	"strconv"
)

// gateSeconds is how long each TPS gate accuracy run lasts: 30 s by default
// (the measurement), shorter with SMSGATE_GATE_SECONDS for a quick look.
func gateSeconds() int {
	if v, err := strconv.Atoi(os.Getenv("SMSGATE_GATE_SECONDS")); err == nil && v > 0 {
		return v
	}
	return 30
}
