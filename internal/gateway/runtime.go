package gateway

import (
	"time"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/dlr"
	"github.com/smsgate/smsgate/router"
	"github.com/smsgate/smsgate/smpp/coding"
	"github.com/smsgate/smsgate/smpp/pdu"
	"github.com/smsgate/smsgate/timewin"
)

// tables is the hot-swappable part of the configuration: routes, rates,
// accounts and policies. A reload builds a new value and swaps it
// atomically; readers take one snapshot per batch.
type tables struct {
	routes         *router.Table
	rates          *billing.RateCard
	accounts       map[string]*accountRT
	senderOwners   map[string][]string // sender/short code -> accounts claiming it
	defaultCountry string
	maxParts       int
	maxBytes       int
	freqCount      int
	freqPer        time.Duration
	quiet          *quietHours
	stopWords      map[string]struct{}
	startWords     map[string]struct{}
	keywords       map[string]struct{} // mo.keywords ∪ stop ∪ start
	autoReply      map[string]string   // keyword -> reply text
	dlrTimeout     time.Duration
	earlyHold      time.Duration
	moTimeout      time.Duration
	reroute        *rerouteRT // nil: off
	// errorMaps and maintenance are per operator (operators with none are
	// absent): see supplier.go and timewindows.go.
	errorMaps   map[string]*errorMapRT
	maintenance map[string][]timewin.Window
}

// rerouteRT is the reroute section: receipt states (UNDELIV, REJECTD,
// EXPIRED, DELETED, UNKNOWN) that send the message again on the next
// route, up to maxAttempts attempts in all.
type rerouteRT struct {
	on          map[string]bool
	maxAttempts int
}

type accountRT struct {
	name    string
	senders []string
	loc     *time.Location
	country string
}

// operatorRT is the static per-operator policy the dispatcher and the
// receipt processor need.
type operatorRT struct {
	name          string
	concat        coding.Concat
	gsm7Packed    bool
	idMode        dlr.IDMode
	chargeOnDeliv bool
	retryUnknown  bool
	failoverAfter int
	tempErrors    map[pdu.Status]bool
	lastPartDLR   bool
	window, binds int
	receivers     int // receiver-only binds (transmitter+receiver mode)
	tps           float64
	systemID      string
}

// temporary reports whether st is retried rather than final for this operator.
func (o *operatorRT) temporary(st pdu.Status) bool {
	return st.Temporary() || o.tempErrors[st]
}

// quietHours is a daily window [start, end) in minutes after midnight,
// wrapping midnight when start > end.
type quietHours struct {
	start, end int
}

// deferUntil returns when a marketing message to a destination whose local
// time is `local` may be sent, or the zero time when now is outside quiet
// hours.
func (q *quietHours) deferUntil(local time.Time) time.Time {
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
