package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// SetMessageErrors records the error a supplier's receipt ended messages
// with (operators[].error_map): error_reason and error_code, shown in their
// sms.status events. The slices are parallel.
func SetMessageErrors(ctx context.Context, tx pgx.Tx, ids, reasons, codes []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `UPDATE messages m SET error_reason = u.reason, error_code = u.code, error_detail = NULL
FROM unnest($1::text[], $2::text[], $3::text[]) u(id, reason, code) WHERE m.id = u.id`, ids, reasons, codes)
	if err != nil {
		return fmt.Errorf("set message errors: %w", err)
	}
	return nil
}
