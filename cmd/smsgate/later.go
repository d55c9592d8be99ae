package main

import (
	"context"
	"errors"
)

// Commands of the contract (§3) whose capability lands with a later issue.
// They exist so scripts get a clear answer instead of "unknown command".
func init() {
	register("import", "bulk imports: portability | blocklist (not yet available)", func(context.Context, []string) error {
		return errors.New("not yet available: number portability and blocklist imports arrive with carrier routing and traffic protection")
	})
}
