package billing

import (
	"errors"
	"testing"
	"time"
)

func mustAmount(t testing.TB, s string) Amount {
	t.Helper()
	a, err := ParseAmount(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestRateCardLookup(t *testing.T) {
	change := ts("2026-11-15T00:00:00Z")
	future := ts("2027-01-01T00:00:00Z")
	card, err := NewRateCard([]Rate{
		{Account: "acme", Prefix: "995", Price: mustAmount(t, "0.030"), Currency: "EUR"},
		{Account: "acme", Prefix: "995", Price: mustAmount(t, "0.025"), Currency: "EUR", Effective: change},
		{Account: "acme", Prefix: "99559", Price: mustAmount(t, "0.028"), Currency: "EUR"},
		{Account: "acme", Prefix: "99577", Price: mustAmount(t, "0.001"), Currency: "EUR", Effective: future},
		{Account: "acme", Network: "28202", Price: mustAmount(t, "0.022"), Currency: "EUR"},
		{Account: "acme", Network: "28203", Price: mustAmount(t, "0.021"), Currency: "EUR", Effective: future},
		{Account: "acme", Prefix: "1", Price: mustAmount(t, "0.009"), Currency: "USD"},
		{Account: "beta", Prefix: "9955", Price: mustAmount(t, "0.5"), Currency: "GEL"},
	})
	if err != nil {
		t.Fatal(err)
	}
	nov10, nov20 := ts("2026-11-10T12:00:00Z"), ts("2026-11-20T12:00:00Z")
	tests := []struct {
		name                  string
		account, dest, net    string
		at                    time.Time
		ok                    bool
		price, currency, pref string
	}{
		{"longest prefix", "acme", "995599123456", "", nov10, true, "0.028", "EUR", "99559"},
		{"shorter prefix", "acme", "995322123456", "", nov10, true, "0.03", "EUR", "995"},
		{"plus sign ignored", "acme", "+995322123456", "", nov10, true, "0.03", "EUR", "995"},
		{"superseded mid-month", "acme", "995322123456", "", nov20, true, "0.025", "EUR", "995"},
		{"supersede starts at its instant", "acme", "995322123456", "", change, true, "0.025", "EUR", "995"},
		{"just before the change", "acme", "995322123456", "", change.Add(-time.Nanosecond), true, "0.03", "EUR", "995"},
		{"future prefix does not shadow", "acme", "995771234567", "", nov10, true, "0.03", "EUR", "995"},
		{"future prefix once effective", "acme", "995771234567", "", future, true, "0.001", "EUR", "99577"},
		{"network wins over longer prefix", "acme", "995599123456", "28202", nov10, true, "0.022", "EUR", ""},
		{"future network falls back to prefix", "acme", "995599123456", "28203", nov10, true, "0.028", "EUR", "99559"},
		{"unknown network falls back", "acme", "995599123456", "99999", nov10, true, "0.028", "EUR", "99559"},
		{"other currency other prefix", "acme", "12025550100", "", nov10, true, "0.009", "USD", "1"},
		{"no rate for destination", "acme", "4420", "", nov10, false, "", "", ""},
		{"other account's rates not used", "beta", "995322123456", "", nov10, false, "", "", ""},
		{"unknown account", "nobody", "995599123456", "", nov10, false, "", "", ""},
		{"empty destination", "acme", "", "", nov10, false, "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := card.Lookup(tc.account, tc.dest, tc.net, tc.at)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v (rate %+v)", ok, tc.ok, r)
			}
			if !ok {
				return
			}
			if r.Price.String() != tc.price || r.Currency != tc.currency || r.Prefix != tc.pref {
				t.Errorf("got %s %s prefix %q, want %s %s prefix %q", r.Price, r.Currency, r.Prefix, tc.price, tc.currency, tc.pref)
			}
		})
	}
	var nilCard *RateCard
	if _, ok := nilCard.Lookup("acme", "995", "", nov10); ok {
		t.Error("nil card found a rate")
	}
}

func TestNewRateCardInvalid(t *testing.T) {
	eur := func(r Rate) Rate {
		if r.Currency == "" {
			r.Currency = "EUR"
		}
		if r.Account == "" {
			r.Account = "acme"
		}
		return r
	}
	at := ts("2026-12-01T00:00:00Z")
	bad := map[string][]Rate{
		"no account":          {{Prefix: "995", Currency: "EUR"}},
		"no currency":         {{Account: "acme", Prefix: "995"}},
		"prefix and network":  {eur(Rate{Prefix: "995", Network: "28202"})},
		"neither":             {eur(Rate{})},
		"non-digit prefix":    {eur(Rate{Prefix: "+995"})},
		"non-digit network":   {eur(Rate{Network: "282-02"})},
		"negative price":      {eur(Rate{Prefix: "995", Price: -1})},
		"tier from zero":      {eur(Rate{Prefix: "995", Tiers: []Tier{{From: 0, Price: 1}}})},
		"tiers not ascending": {eur(Rate{Prefix: "995", Tiers: []Tier{{From: 10, Price: 2}, {From: 10, Price: 1}}})},
		"tier negative price": {eur(Rate{Prefix: "995", Tiers: []Tier{{From: 10, Price: -2}}})},
		"same key same time":  {eur(Rate{Prefix: "995", Effective: at}), eur(Rate{Prefix: "995", Price: 5, Effective: at})},
		"same network always": {eur(Rate{Network: "28202"}), eur(Rate{Network: "28202"})},
	}
	for name, rates := range bad {
		if _, err := NewRateCard(rates); !errors.Is(err, ErrInvalidRate) {
			t.Errorf("%s: err = %v, want ErrInvalidRate", name, err)
		}
	}
	// The same key for different accounts, and prefix "995" next to
	// network "995", are distinct rows.
	ok := []Rate{eur(Rate{Prefix: "995"}), eur(Rate{Account: "beta", Prefix: "995"}), eur(Rate{Network: "995"})}
	if _, err := NewRateCard(ok); err != nil {
		t.Errorf("distinct keys rejected: %v", err)
	}
}

func TestRateCardDoesNotAliasTiers(t *testing.T) {
	tiers := []Tier{{From: 10, Price: 5}}
	card, err := NewRateCard([]Rate{{Account: "a", Prefix: "1", Price: 9, Currency: "EUR", Tiers: tiers}})
	if err != nil {
		t.Fatal(err)
	}
	tiers[0].Price = 1
	r, _ := card.Lookup("a", "100", "", time.Now())
	if got := r.PriceFor(10); got != 5 {
		t.Errorf("tier price after caller mutation = %s, want 0.000005", got)
	}
}

func TestPriceForTierBoundaries(t *testing.T) {
	r := Rate{Price: mustAmount(t, "0.030"), Tiers: []Tier{
		{From: 100000, Price: mustAmount(t, "0.020")},
		{From: 1000000, Price: mustAmount(t, "0.010")},
	}}
	tests := []struct {
		part int64 // the part's number in the month, 1-based
		want string
	}{
		{1, "0.03"},
		{99999, "0.03"},
		{100000, "0.03"}, // the 100000th part is still base price
		{100001, "0.02"}, // "after the N-th": part N+1 onward
		{1000000, "0.02"},
		{1000001, "0.01"},
		{5000000, "0.01"},
	}
	for _, tc := range tests {
		if got := r.PriceFor(tc.part - 1).String(); got != tc.want {
			t.Errorf("part #%d: price %s, want %s", tc.part, got, tc.want)
		}
	}
	if got := (Rate{Price: 7}).PriceFor(1 << 40); got != 7 {
		t.Errorf("no tiers: %s", got)
	}
}

func TestMonthBoundsInZone(t *testing.T) {
	tbilisi := mustLoc(t, "Asia/Tbilisi") // UTC+4, no DST
	ny := mustLoc(t, "America/New_York")
	tests := []struct {
		name       string
		at         string
		loc        *time.Location
		key        string
		start, end string
	}{
		{"Tbilisi already December", "2026-11-30T21:00:00Z", tbilisi, "2026-12", "2026-11-30T20:00:00Z", "2026-12-31T20:00:00Z"},
		{"Tbilisi first instant of December", "2026-11-30T20:00:00Z", tbilisi, "2026-12", "2026-11-30T20:00:00Z", "2026-12-31T20:00:00Z"},
		{"Tbilisi last instant of November", "2026-11-30T19:59:59.999Z", tbilisi, "2026-11", "2026-10-31T20:00:00Z", "2026-11-30T20:00:00Z"},
		{"UTC", "2026-11-30T21:00:00Z", time.UTC, "2026-11", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"},
		{"nil location is UTC", "2026-12-31T23:59:59Z", nil, "2026-12", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		// November starts in EDT (-4) and ends in EST (-5).
		{"New York across DST", "2026-11-15T12:00:00Z", ny, "2026-11", "2026-11-01T04:00:00Z", "2026-12-01T05:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at := ts(tc.at)
			if got := MonthKey(at, tc.loc); got != tc.key {
				t.Errorf("MonthKey = %s, want %s", got, tc.key)
			}
			if got := MonthStart(at, tc.loc); !got.Equal(ts(tc.start)) || got.Location() != time.UTC {
				t.Errorf("MonthStart = %s, want %s UTC", got, tc.start)
			}
			if got := MonthEnd(at, tc.loc); !got.Equal(ts(tc.end)) {
				t.Errorf("MonthEnd = %s, want %s", got, tc.end)
			}
		})
	}
}
