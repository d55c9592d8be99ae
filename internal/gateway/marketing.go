package gateway

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/router"
)

// applyMarketing rejects marketing messages to opted-out destinations
// (opted_out) and over the frequency cap (frequency_cap), for the whole
// batch in two queries. Transactional traffic never reaches here.
func (g *Gateway) applyMarketing(ctx context.Context, tx pgx.Tx, t *tables, b *ingestBatch, now time.Time) error {
	if len(b.marketing) == 0 {
		return nil
	}
	accts := make([]string, len(b.marketing))
	dests := make([]string, len(b.marketing))
	for i, idx := range b.marketing {
		accts[i], dests[i] = b.msgs[idx].Account, b.msgs[idx].Dest
	}
	opted, err := store.OptedOut(ctx, tx, accts, dests)
	if err != nil {
		return err
	}
	var recent map[[2]string]int
	if t.freqCount > 0 {
		if recent, err = store.RecentMarketing(ctx, tx, accts, dests, now.Add(-t.freqPer)); err != nil {
			return err
		}
	}
	for _, idx := range b.marketing {
		m := &b.msgs[idx]
		k := [2]string{m.Account, m.Dest}
		switch {
		case opted[k]:
			m.State, m.ErrorReason, m.ErrorDetail = store.Rejected, "opted_out", "the destination opted out of marketing"
		case t.freqCount > 0 && recent[k] >= t.freqCount:
			m.State, m.ErrorReason = store.Rejected, "frequency_cap"
			m.ErrorDetail = "frequency cap of " + strconv.Itoa(t.freqCount) + " per " + t.freqPer.String() + " reached"
		case t.freqCount > 0:
			recent[k]++ // later records of this batch count this one
		}
	}
	return nil
}

// destZones maps country calling codes to a representative time zone for
// quiet hours; countries spanning zones use their most populous one.
var destZones = map[string]string{
	"995": "Asia/Tbilisi", "98": "Asia/Tehran", "380": "Europe/Kyiv", "44": "Europe/London", "49": "Europe/Berlin",
	"33": "Europe/Paris", "39": "Europe/Rome", "34": "Europe/Madrid", "7": "Europe/Moscow", "90": "Europe/Istanbul",
	"374": "Asia/Yerevan", "994": "Asia/Baku", "1": "America/New_York", "91": "Asia/Kolkata", "86": "Asia/Shanghai",
	"81": "Asia/Tokyo", "971": "Asia/Dubai", "966": "Asia/Riyadh", "48": "Europe/Warsaw", "31": "Europe/Amsterdam",
	"61": "Australia/Sydney", "55": "America/Sao_Paulo", "52": "America/Mexico_City", "234": "Africa/Lagos",
	"20": "Africa/Cairo", "27": "Africa/Johannesburg", "62": "Asia/Jakarta", "63": "Asia/Manila", "92": "Asia/Karachi",
}

// destLocation returns the destination's time zone where known, else fallback.
func destLocation(dest string, fallback *time.Location) *time.Location {
	if name, ok := destZones[router.CountryPrefix(dest)]; ok {
		if loc, err := loadLocation(name); err == nil {
			return loc
		}
	}
	if fallback == nil {
		return time.UTC
	}
	return fallback
}
