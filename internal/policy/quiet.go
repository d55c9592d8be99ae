package policy

import (
	"sync"
	"time"

	"github.com/smsgate/smsgate/router"
)

// QuietHours is a daily window [start, end) in minutes after midnight,
// wrapping midnight when start > end.
type QuietHours struct {
	start, end int
}

// DeferUntil returns when a marketing message to a destination whose local
// time is local may be sent, or the zero time when local is outside quiet
// hours.
func (q *QuietHours) DeferUntil(local time.Time) time.Time {
	if q == nil {
		return time.Time{}
	}
	m := local.Hour()*60 + local.Minute()
	in := false
	if q.start < q.end {
		in = m >= q.start && m < q.end
	} else {
		in = m >= q.start || m < q.end
	}
	if !in {
		return time.Time{}
	}
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, local.Location())
	until := day.Add(time.Duration(q.end) * time.Minute)
	if !until.After(local) {
		until = until.AddDate(0, 0, 1)
	}
	return until
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

var zoneCache sync.Map // name → *time.Location

// loadLocation caches time.LoadLocation, which reads tzdata each call.
func loadLocation(name string) (*time.Location, error) {
	if v, ok := zoneCache.Load(name); ok {
		return v.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zoneCache.Store(name, loc)
	return loc, nil
}

// DestLocation returns the destination's time zone where known, else fallback.
func DestLocation(dest string, fallback *time.Location) *time.Location {
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
