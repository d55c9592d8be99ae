package policy

import (
	"time"

	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/router"
)

// WithQuality attaches the rolling receipt statistics to t's routes when
// the quality section is on (§6). prev is the running tables (nil at
// start): their statistics carry over a reload unless the window changed.
// The statistics are this instance's own, in memory: they start empty
// after a restart, and in a cluster each instance ranks on the receipts it
// processes.
func (t *Tables) WithQuality(cfg *config.Config, prev *Tables) {
	qc := cfg.Quality
	if qc == nil {
		return
	}
	var q *router.Quality
	if prev != nil {
		if old := prev.Routes.Quality(); old != nil && old.Window() == qc.Window {
			q = old
		}
	}
	if q == nil {
		q = router.NewQuality(qc.Window)
	}
	t.Routes = t.Routes.WithQuality(q, qc.MinSamples, qc.Explore)
}

// ObserveFinal counts the final outcome of one attempt (delivered, or
// undeliverable/expired) for its operator and network, with the time from
// the attempt's first submit to now. A failed attempt that is rerouted
// counts against its route too. Call it after the outcome is committed.
func (t *Tables) ObserveFinal(operator, network string, delivered bool, firstSubmit, now time.Time) {
	q := t.Routes.Quality()
	if q == nil || operator == "" {
		return
	}
	var latency time.Duration
	if !firstSubmit.IsZero() {
		latency = now.Sub(firstSubmit)
	}
	q.Observe(operator, network, delivered, latency, now)
}
