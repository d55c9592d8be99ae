package router

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsgate/smsgate/billing"
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// eur is a route row with the fields tests rarely vary filled in.
func eur(prefix, op string, micros int64) Route {
	return Route{Prefix: prefix, Operator: op, Cost: billing.Amount(micros), Currency: "EUR"}
}

func net(mccmnc, op string, micros int64) Route {
	return Route{MCCMNC: mccmnc, Operator: op, Cost: billing.Amount(micros), Currency: "EUR"}
}

func mustTable(t testing.TB, routes ...Route) *Table {
	t.Helper()
	tb, err := NewTable(routes)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// summary renders candidates as "op@key:cost/rank ..." for comparison.
func summary(cs []Candidate) string {
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(c.Route.Operator + "@" + key(&c.Route) + ":" + c.Route.Cost.String() + "/" + string(rune('0'+c.Rank)))
	}
	return b.String()
}

var now = ts("2026-11-23T10:00:00Z")

func TestNewTableRejects(t *testing.T) {
	at := ts("2026-12-01T00:00:00Z")
	withEff := func(r Route, e time.Time) Route { r.Effective = e; return r }
	withW := func(r Route, w int) Route { r.Weight = w; return r }
	cases := map[string][]Route{
		"neither prefix nor mccmnc": {eur("", "magti", 1)},
		"both prefix and mccmnc":    {{Prefix: "995", MCCMNC: "28202", Operator: "magti", Currency: "EUR"}},
		"plus in prefix":            {eur("+995", "magti", 1)},
		"space in prefix":           {eur("995 5", "magti", 1)},
		"prefix too long":           {eur("1234567890123456", "magti", 1)},
		"mccmnc short":              {net("2820", "magti", 1)},
		"mccmnc long":               {net("2820123", "magti", 1)},
		"mccmnc non-digit":          {net("282-02", "magti", 1)},
		"no operator":               {eur("995", "", 1)},
		"no currency":               {{Prefix: "995", Operator: "magti"}},
		"negative cost":             {eur("995", "magti", -1)},
		"negative weight":           {withW(eur("995", "magti", 1), -1)},
		"weight too big":            {withW(eur("995", "magti", 1), MaxWeight+1)},
		"same key same time":        {withEff(eur("995", "magti", 1), at), withEff(eur("995", "magti", 2), at)},
		"same key always twice":     {eur("995", "magti", 1), eur("995", "magti", 2)},
		"same network always twice": {net("28202", "magti", 1), net("28202", "magti", 2)},
		"mixed currencies":          {eur("995", "magti", 1), {Prefix: "995", Operator: "silknet", Cost: 1, Currency: "USD"}},
	}
	for name, routes := range cases {
		t.Run(name, func(t *testing.T) {
			tb, err := NewTable(routes)
			if !errors.Is(err, ErrInvalidRoute) {
				t.Fatalf("NewTable = %v, %v; want ErrInvalidRoute", tb, err)
			}
		})
	}
}

func TestNewTableAccepts(t *testing.T) {
	// Same prefix digits as prefix and as network are different keys; the
	// same operator at different times is a price change.
	tb := mustTable(t,
		eur("28202", "magti", 1), net("28202", "magti", 2),
		eur("995", "magti", 3), func() Route { r := eur("995", "magti", 4); r.Effective = now; return r }(),
		Route{Prefix: "1", Operator: "x", Currency: "USD", Weight: MaxWeight},
	)
	if tb.Len() != 5 {
		t.Fatalf("Len = %d, want 5", tb.Len())
	}
}

func TestNewTableDoesNotAlias(t *testing.T) {
	routes := []Route{eur("995", "magti", 10)}
	tb := mustTable(t, routes...)
	routes[0].Operator = "changed"
	cs := tb.Candidates(nil, "995599123456", "", now)
	cs[0].Route.Operator = "changed too"
	if got := summary(tb.Candidates(nil, "995599123456", "", now)); got != "magti@995:0.00001/0" {
		t.Fatalf("table changed through caller's slices: %s", got)
	}
}

func TestCandidates(t *testing.T) {
	later := ts("2026-12-01T00:00:00Z")
	eff := func(r Route, e time.Time) Route { r.Effective = e; return r }
	tb := mustTable(t,
		// The spec's example table.
		eur("99559", "magti", 12000),
		eur("995", "silknet", 15000),
		eur("995", "magti", 18000),
		// Equal costs share a rank; ties ordered by operator name.
		eur("44", "zeta", 5000), eur("44", "alpha", 5000), eur("44", "mid", 4000),
		// A longer prefix whose only row starts later does not shadow.
		eff(eur("4477", "future", 1000), later),
		// Price change: the later row supersedes from its time.
		eur("49", "dtag", 20000), eff(eur("49", "dtag", 9000), later), eur("49", "o2", 15000),
		// An operator whose only row starts later is not a candidate yet.
		eff(eur("33", "late", 1), later), eur("33", "early", 50),
		// Network routes.
		net("28202", "magti", 10000), net("28202", "silknet", 10000),
		eff(net("28299", "nobody", 1), later),
	)
	cases := []struct {
		name, dest, network string
		at                  time.Time
		want                string
	}{
		{"longest prefix wins", "995599123456", "", now, "magti@99559:0.012/0"},
		{"shorter prefix, cheapest first", "995555123456", "", now, "silknet@995:0.015/0 magti@995:0.018/1"},
		{"leading plus ignored", "+995599123456", "", now, "magti@99559:0.012/0"},
		{"equal cost ties by name", "447700900123", "", now, "mid@44:0.004/0 alpha@44:0.005/1 zeta@44:0.005/1"},
		{"future prefix does not shadow", "447700900123", "", now, "mid@44:0.004/0 alpha@44:0.005/1 zeta@44:0.005/1"},
		{"future prefix from its time", "447700900123", "", later, "future@4477:0.001/0"},
		{"old price before change", "4915112345678", "", later.Add(-time.Nanosecond), "o2@49:0.015/0 dtag@49:0.02/1"},
		{"new price from change", "4915112345678", "", later, "dtag@49:0.009/0 o2@49:0.015/1"},
		{"operator not yet effective", "33612345678", "", now, "early@33:0.00005/0"},
		{"operator effective later", "33612345678", "", later, "late@33:0.000001/0 early@33:0.00005/1"},
		{"network beats prefix", "995599123456", "28202", now, "magti@28202:0.01/0 silknet@28202:0.01/0"},
		{"unknown network falls back to prefix", "995599123456", "28201", now, "magti@99559:0.012/0"},
		{"network not yet effective falls back", "995599123456", "28299", now, "magti@99559:0.012/0"},
		{"network effective later", "995599123456", "28299", later, "nobody@28299:0.000001/0"},
		{"network routes need no prefix match", "123", "28202", now, "magti@28202:0.01/0 silknet@28202:0.01/0"},
		{"no match", "8612345678", "", now, ""},
		{"prefix longer than dest", "9955", "", now, "silknet@995:0.015/0 magti@995:0.018/1"},
		{"empty dest", "", "", now, ""},
		{"non-digit stops the walk", "99x559", "", now, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := summary(tb.Candidates(nil, c.dest, c.network, c.at)); got != c.want {
				t.Fatalf("Candidates(%q, %q) = %q, want %q", c.dest, c.network, got, c.want)
			}
		})
	}
}

func TestCandidatesAppendsToDst(t *testing.T) {
	tb := mustTable(t, eur("995", "magti", 1))
	pre := []Candidate{{Route: eur("1", "keep", 0)}}
	got := tb.Candidates(pre, "995599123456", "", now)
	if len(got) != 2 || got[0].Route.Operator != "keep" || got[1].Route.Operator != "magti" {
		t.Fatalf("Candidates did not append: %s", summary(got))
	}
}

func TestManyOperatorsBeyondStackBuffer(t *testing.T) {
	var routes []Route
	for i := range stackCandidates + 8 {
		routes = append(routes, eur("995", "op"+string(rune('A'+i)), int64(100-i)))
	}
	tb := mustTable(t, routes...)
	cs := tb.Candidates(nil, "995599123456", "", now)
	if len(cs) != len(routes) {
		t.Fatalf("got %d candidates, want %d", len(cs), len(routes))
	}
	for i := 1; i < len(cs); i++ {
		if cs[i].Route.Cost <= cs[i-1].Route.Cost || cs[i].Rank != i {
			t.Fatalf("candidate %d out of order: %s", i, summary(cs))
		}
	}
}

func TestNilAndEmptyTable(t *testing.T) {
	var nilTable *Table
	empty := mustTable(t)
	for name, tb := range map[string]*Table{"nil": nilTable, "empty": empty} {
		if n := tb.Len(); n != 0 {
			t.Errorf("%s: Len = %d", name, n)
		}
		if cs := tb.Candidates(nil, "995599123456", "28202", now); len(cs) != 0 {
			t.Errorf("%s: Candidates = %s", name, summary(cs))
		}
		if _, err := tb.Choose("995599123456", "", "", now, nil, nil, 0); !errors.Is(err, ErrNoRoute) || errors.Is(err, ErrNoUsableRoute) {
			t.Errorf("%s: Choose err = %v, want ErrNoRoute only", name, err)
		}
	}
}

func TestHolder(t *testing.T) {
	h := NewHolder(mustTable(t, eur("995", "magti", 1)))
	old := h.Load()
	if err := h.Rebuild([]Route{eur("+995", "silknet", 1)}); !errors.Is(err, ErrInvalidRoute) {
		t.Fatalf("Rebuild with a bad row = %v, want ErrInvalidRoute", err)
	}
	if h.Load() != old {
		t.Fatal("a refused table replaced the current one")
	}
	if err := h.Rebuild([]Route{eur("995", "silknet", 1)}); err != nil {
		t.Fatal(err)
	}
	if got := summary(h.Load().Candidates(nil, "995599123456", "", now)); got != "silknet@995:0.000001/0" {
		t.Fatalf("after Rebuild: %s", got)
	}
	next := mustTable(t, eur("995", "other", 1))
	if prev := h.Swap(next); prev == old || prev == nil {
		t.Fatalf("Swap returned %p, want the rebuilt table", prev)
	}
	if h.Load() != next {
		t.Fatal("Swap did not install the table")
	}
	var zero Holder
	if zero.Load() != nil {
		t.Fatal("zero Holder is not empty")
	}
}

// TestHolderConcurrentSwap runs readers against a swapping writer; under
// -race it checks the read path needs no lock, and every read sees one
// whole table (both candidates of the same generation).
func TestHolderConcurrentSwap(t *testing.T) {
	gen := func(op string) *Table { return mustTable(t, eur("995", op+"1", 1), eur("995", op+"2", 2)) }
	h := NewHolder(gen("a"))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan string, 4)
	for range 4 {
		wg.Go(func() {
			var buf [4]Candidate
			for {
				select {
				case <-stop:
					return
				default:
				}
				cs := h.Load().Candidates(buf[:0], "995599", "", now)
				if len(cs) != 2 || cs[0].Route.Operator[0] != cs[1].Route.Operator[0] {
					errs <- summary(cs)
					return
				}
			}
		})
	}
	for i := range 200 {
		h.Swap(gen(string(rune('a' + i%26))))
	}
	close(stop)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("torn read: %s", e)
	}
}
