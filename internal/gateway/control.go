package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"time"

	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/policy"
	"github.com/smsgate/smsgate/protect"
	"github.com/smsgate/smsgate/smpp"
)

// Reload swaps routes, rates, accounts and policies from a new config
// without touching binds or queued messages. A config that fails to build
// is refused and the running tables stay. Operator connection settings are
// not reloadable (they need a restart).
func (g *Gateway) Reload(cfg *config.Config) error {
	for _, r := range cfg.Routes {
		if _, ok := g.operators[r.Operator]; !ok {
			return fmt.Errorf("reload: route %s names operator %q, which is not running (adding operators needs a restart)", r.Prefix+r.MCCMNC, r.Operator)
		}
	}
	t, err := policy.Build(cfg)
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	t.WithQuality(cfg, g.tables.Load())
	rules, err := protect.RulesFromConfig(cfg.Protection)
	if err == nil {
		err = g.protect.guard.SetRules(rules)
	}
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	g.tables.Store(t)
	g.dispatch.KickUnpark()
	return nil
}

// Ready reports whether Postgres and Kafka answer, at least one bind is up,
// and no stage is stalled (work waiting, no progress for StallAfter) — for
// /readyz, with the reason.
func (g *Gateway) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := g.store.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	var d net.Dialer
	var kerr error = errors.New("no brokers configured")
	for _, b := range g.cfg.Kafka.Brokers {
		c, err := d.DialContext(ctx, "tcp", b)
		if err == nil {
			c.Close()
			kerr = nil
			break
		}
		kerr = err
	}
	if kerr != nil {
		return fmt.Errorf("kafka: %w", kerr)
	}
	if st := g.health.Stalled(g.opts.StallAfter); len(st) > 0 {
		msg := fmt.Sprintf("stage %s has made no progress since %s", st[0].Stage, st[0].Since.UTC().Format(time.RFC3339))
		if st[0].Reason != "" {
			msg += ": " + st[0].Reason
		}
		return errors.New(msg)
	}
	for name := range g.pools {
		if g.dispatch.ClusterUp(name) {
			return nil
		}
	}
	return errors.New("no bind is up in the cluster")
}

// OperatorLive is one operator's live state for the status page.
type OperatorLive struct {
	Name        string  `json:"name"`
	State       string  `json:"state"` // up, down, throttled
	BindsUp     int     `json:"binds_up"`
	BindsWanted int     `json:"binds_wanted"`
	InFlight    int     `json:"in_flight"`
	WindowCap   int     `json:"window_cap"`
	TPSLimit    float64 `json:"tps_limit"`
	TPSRate     float64 `json:"tps_rate"`
	// Binds are this instance's binds to the operator, one row each.
	Binds []smpp.BindStatus `json:"binds"`
	// BindSlots is the operator's `binds` for the whole cluster; BindsWanted
	// is this instance's share (the slots it holds).
	BindSlots int `json:"bind_slots"`
	// ClusterUp: some instance of the cluster has a bind of it up.
	ClusterUp bool `json:"cluster_up"`
	// Quality is the operator's delivery figures per network in the
	// quality window (absent when the quality section is off).
	Quality []RouteQualityLive `json:"quality,omitempty"`
}

// Live reports each operator's binds, window and state (for the page).
func (g *Gateway) Live() any {
	out := make([]OperatorLive, 0, len(g.pools))
	quality := qualityLive(g.tables.Load(), time.Now())
	for name, p := range g.pools {
		st := p.Stats()
		state := "up"
		switch {
		case g.control(name) != "":
			state = g.control(name)
		case g.maintenanceNow(name):
			state = "maintenance"
		case st.BindsUp == 0 && g.dispatch.ClusterUp(name):
			state = "peer" // bound through another instance
		case st.BindsUp == 0:
			state = "down"
		case st.Throttled:
			state = "throttled"
		}
		out = append(out, OperatorLive{Name: name, State: state, BindsUp: st.BindsUp, BindsWanted: st.BindsWanted,
			InFlight: st.InFlight, WindowCap: st.WindowCap, TPSLimit: st.TPSLimit, TPSRate: st.TPSRate,
			BindSlots: g.operators[name].Binds, ClusterUp: g.dispatch.ClusterUp(name), Quality: quality[name], Binds: p.Binds()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
