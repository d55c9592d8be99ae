package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/smsgate/smsgate/internal/config"
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
	t, err := buildTables(cfg)
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	g.tables.Store(t)
	g.notifyDispatchers()
	return nil
}

// Ready reports whether Postgres and Kafka answer and at least one bind is
// up (for /readyz).
func (g *Gateway) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := g.store.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	var d net.Dialer
	var kerr error = errors.New("no brokers configured")
	for _, b := range g.opts.Brokers {
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
	for _, p := range g.pools {
		if p.Usable() {
			return nil
		}
	}
	return errors.New("no bind is up")
}
