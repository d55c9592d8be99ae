package router

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/smsgate/smsgate/timewin"
)

func active(t testing.TB, r Route, spec string) Route {
	t.Helper()
	w, err := timewin.ParseWeekly(spec)
	if err != nil {
		t.Fatal(err)
	}
	r.Active = &w
	return r
}

// 2026-12-07 is a Monday.
var (
	monNoon  = ts("2026-12-07T12:00:00Z")
	monNight = ts("2026-12-07T22:00:00Z")
	satNoon  = ts("2026-12-12T12:00:00Z")
)

func TestChooseSkipsClosedRoutes(t *testing.T) {
	tb := mustTable(t,
		active(t, eur("99559", "cheap", 10000), "Mon-Fri 08:00-20:00"),
		eur("99559", "magti", 12000),
		active(t, eur("99558", "cheap", 10000), "Mon-Fri 08:00-20:00"),
		eur("995", "silknet", 15000),
		active(t, net("28202", "geocell", 9000), "Sat-Sun"),
		active(t, eur("44", "night", 9000), "Mon-Fri 20:00-08:00"),
	)
	cases := []struct {
		name, dest, network string
		at                  time.Time
		want                string
		wantErr             error
	}{
		{"open: cheapest", "995599000001", "", monNoon, "cheap", nil},
		{"closed: next of the same prefix", "995599000001", "", monNight, "magti", nil},
		{"closed on Saturday", "995599000001", "", satNoon, "magti", nil},
		{"whole prefix closed: shorter prefix", "995589000001", "", monNight, "silknet", nil},
		{"whole prefix open", "995589000001", "", monNoon, "cheap", nil},
		{"network open", "995599000001", "28202", satNoon, "geocell", nil},
		{"network closed: prefix routes", "995599000001", "28202", monNoon, "cheap", nil},
		{"past midnight open", "4420000000", "", monNight, "night", nil},
		{"past midnight open, next morning", "4420000000", "", ts("2026-12-08T07:59:00Z"), "night", nil},
		{"nothing open", "4420000000", "", monNoon, "", ErrNoRoute},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := tb.Choose(c.dest, c.network, "", c.at, nil, nil, 0.5)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("Choose = %s, %v; want %v", got.Route.Operator, err, c.wantErr)
				}
				return
			}
			if err != nil || got.Route.Operator != c.want {
				t.Fatalf("Choose = %q, %v; want %q", got.Route.Operator, err, c.want)
			}
		})
	}
	// Forced through a closed route: no route now (the caller waits).
	if _, err := tb.Choose("995599000001", "", "cheap", monNight, nil, nil, 0.5); !errors.Is(err, ErrNoRoute) {
		t.Errorf("forced through a closed route: %v, want ErrNoRoute", err)
	}
	if c, err := tb.Choose("995599000001", "", "cheap", monNoon, nil, nil, 0.5); err != nil || c.Route.Operator != "cheap" {
		t.Errorf("forced through an open route: %v %v", c.Route.Operator, err)
	}
	// Candidates ignores windows (it prices sends made while open).
	var buf [8]Candidate
	if got := tb.Candidates(buf[:0], "995599000001", "", monNight); len(got) != 2 || got[0].Route.Operator != "cheap" {
		t.Errorf("Candidates at night = %+v, want cheap and magti", got)
	}
}

func TestClosedAndNextOpen(t *testing.T) {
	tb := mustTable(t,
		active(t, eur("99559", "cheap", 10000), "Mon-Fri 08:00-20:00"),
		active(t, eur("99559", "late", 11000), "Mon-Fri 09:00-20:00"),
		active(t, eur("995", "late", 11000), "Sat"),
		eur("995", "magti", 15000),
		active(t, eur("44", "uk", 9000), "Mon-Fri 08:00-20:00"),
		active(t, eur("44", "uk2", 8000), "Tue 08:00-20:00"),
	)
	if !tb.Closed("995599000001", "", "cheap", monNight) || tb.Closed("995599000001", "", "cheap", monNoon) {
		t.Error("Closed(cheap): want true at night, false at noon")
	}
	if tb.Closed("995599000001", "", "magti", monNight) {
		t.Error("Closed(magti): magti has no window")
	}
	if tb.Closed("995599000001", "", "nobody", monNight) {
		t.Error("Closed(unknown operator): want false")
	}
	// late is closed for 99559 on Saturday but open through 995 then.
	if tb.Closed("995599000001", "", "late", satNoon) {
		t.Error("Closed(late) on Saturday: its 995 row is open")
	}
	// Nothing open for 44 on Monday night: the first to open is uk on
	// Tuesday 08:00 (uk2 opens at the same time and is cheaper).
	if _, err := tb.Choose("4420000000", "", "", monNight, nil, nil, 0.5); !errors.Is(err, ErrNoRoute) {
		t.Fatalf("Choose with every route closed: %v", err)
	}
	c, opens, ok := tb.NextOpen("4420000000", "", "", monNight, nil)
	if !ok || c.Route.Operator != "uk2" || !opens.Equal(ts("2026-12-08T08:00:00Z")) {
		t.Errorf("NextOpen = %s at %s (%v), want uk2 at Tuesday 08:00", c.Route.Operator, opens, ok)
	}
	c, opens, ok = tb.NextOpen("4420000000", "", "", ts("2026-12-08T21:00:00Z"), nil) // Tuesday night
	if !ok || c.Route.Operator != "uk" || !opens.Equal(ts("2026-12-09T08:00:00Z")) {
		t.Errorf("NextOpen Tuesday night = %s at %s, want uk at Wednesday 08:00", c.Route.Operator, opens)
	}
	c, opens, ok = tb.NextOpen("4420000000", "", "", monNight, []string{"uk2"})
	if !ok || c.Route.Operator != "uk" || !opens.Equal(ts("2026-12-08T08:00:00Z")) {
		t.Errorf("NextOpen with uk2 tried = %s at %s", c.Route.Operator, opens)
	}
	c, _, ok = tb.NextOpen("4420000000", "", "uk", monNight, nil)
	if !ok || c.Route.Operator != "uk" {
		t.Errorf("NextOpen forced uk = %s %v", c.Route.Operator, ok)
	}
	if _, _, ok := tb.NextOpen("4420000000", "", "", monNight, []string{"uk", "uk2"}); ok {
		t.Error("NextOpen with every operator tried: want none")
	}
	if _, _, ok := tb.NextOpen("1555", "", "", monNight, nil); ok {
		t.Error("NextOpen without a route: want none")
	}
	// An open route is its own next opening.
	if c, opens, ok := tb.NextOpen("995599000001", "", "", monNoon, nil); !ok || c.Route.Operator != "cheap" || !opens.Equal(monNoon) {
		t.Errorf("NextOpen while open = %s at %s", c.Route.Operator, opens)
	}
}

// Windows keep route choice allocation-free.
func TestChooseWithWindowsDoesNotAllocate(t *testing.T) {
	tb := mustTable(t,
		active(t, eur("99559", "cheap", 10000), "Mon-Fri 08:00-20:00 Europe/Berlin"),
		eur("99559", "magti", 12000),
		active(t, eur("995", "silknet", 15000), "Sat-Sun"),
	)
	usable := func(string) bool { return true }
	for _, at := range []time.Time{monNoon, monNight} {
		if n := testing.AllocsPerRun(1000, func() {
			_, _ = tb.Choose("995599000001", "", "", at, usable, nil, 0.3)
			_ = tb.Closed("995599000001", "", "cheap", at)
		}); n != 0 {
			t.Errorf("at %s: %.1f allocations", at, n)
		}
	}
}

// BenchmarkChooseWithWindows: route choice when half the routes carry a
// weekly window in a time zone, at an hour where they are closed (so every
// decision evaluates windows and falls through to the other rows).
//
//	go test -run '^$' -bench ChooseWithWindows ./router/
func BenchmarkChooseWithWindows(b *testing.B) {
	w, err := timewin.ParseWeekly("Mon-Fri 08:00-12:00, Mon-Fri 13:00-18:00, Sat 10:00-14:00 Europe/Berlin")
	if err != nil {
		b.Fatal(err)
	}
	var routes []Route
	for i := range 10000 {
		p := fmt.Sprintf("%d", 1000000+i)
		cheap := eur(p, "cheap", 10000)
		cheap.Active = &w
		routes = append(routes, cheap, eur(p, "other", 12000), eur(p, "third", 15000))
	}
	tb := mustTable(b, routes...)
	usable := func(string) bool { return true }
	at := monNight
	dests := make([]string, 1024)
	for i := range dests {
		dests[i] = fmt.Sprintf("%d%05d", 1000000+i*7, i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c, err := tb.Choose(dests[i&1023], "", "", at, usable, nil, 0.5)
		if err != nil || c.Route.Operator != "other" {
			b.Fatal(c.Route.Operator, err)
		}
		i++
	}
}
