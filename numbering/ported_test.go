package numbering

import (
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
	"testing"
	"time"
)

func rows(rs ...PortedRow) iter.Seq2[PortedRow, error] {
	return func(yield func(PortedRow, error) bool) {
		for _, r := range rs {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// mccmnc returns a function naming a cache answer: "28201", or "-".
func mccmnc(reg *Registry) func(NetID, bool) string {
	return func(id NetID, ok bool) string {
		if !ok {
			return "-"
		}
		return reg.Network(id).MCCMNC
	}
}

func TestPortedLoadGetPut(t *testing.T) {
	reg := NewRegistry()
	c := NewPortedCache(reg, time.Hour)
	if !c.Expired(time.Now()) {
		t.Error("a never-loaded cache is not expired")
	}
	n, err := c.Load(0, rows(
		PortedRow{"995599123456", "282", "01"},
		PortedRow{"995555000001", "282", "02"},
		PortedRow{"995599123456", "282", "04"}, // later row wins
	))
	if err != nil || n != 2 {
		t.Fatalf("Load = %d, %v", n, err)
	}
	if c.Expired(time.Now()) || !c.Expired(time.Now().Add(time.Hour)) {
		t.Error("Expired does not follow the TTL from the load")
	}
	for _, tc := range []struct{ number, want string }{
		{"995599123456", "28204"},
		{"+995555000001", "28202"},
		{"995599123457", "-"},
		{"bad", "-"},
	} {
		id, ok := c.Lookup(tc.number)
		if got := mccmnc(reg)(id, ok); got != tc.want {
			t.Errorf("%s → %s, want %s", tc.number, got, tc.want)
		}
	}
	if err := c.Put(PortedRow{"995599123457", "282", "02"}); err != nil {
		t.Fatal(err)
	}
	if got := mccmnc(reg)(c.Lookup("995599123457")); got != "28202" {
		t.Errorf("after Put: %s", got)
	}
	for _, bad := range []PortedRow{{"99559", "282", "01"}, {"99559912345a", "282", "01"}, {"995599123456", "28", "01"}, {"995599123456", "282", "1"}} {
		if err := c.Put(bad); err == nil {
			t.Errorf("Put(%v) accepted", bad)
		}
	}
}

func TestPortedLoadErrorKeepsOld(t *testing.T) {
	reg := NewRegistry()
	c := NewPortedCache(reg, time.Hour)
	if _, err := c.Load(0, rows(PortedRow{"995599123456", "282", "01"})); err != nil {
		t.Fatal(err)
	}
	_, err := c.Load(0, rows(PortedRow{"995599000000", "282", "02"}, PortedRow{"12", "282", "02"}))
	if err == nil || !strings.Contains(err.Error(), "row 2") {
		t.Fatalf("err = %v, want one naming row 2", err)
	}
	boom := errors.New("connection reset")
	_, err = c.Load(0, func(yield func(PortedRow, error) bool) {
		if yield(PortedRow{"995599000000", "282", "02"}, nil) {
			yield(PortedRow{}, boom)
		}
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap the iterator's", err)
	}
	if got := mccmnc(reg)(c.Lookup("995599123456")); got != "28201" {
		t.Errorf("old snapshot lost: %s", got)
	}
	if _, ok := c.Lookup("995599000000"); ok {
		t.Error("a failed load leaked a row")
	}
}

// Growth from an empty table through many Puts, and a reload by Load, keep
// every entry.
func TestPortedGrowth(t *testing.T) {
	reg := NewRegistry()
	c := NewPortedCache(reg, time.Hour)
	const n = 50000
	for i := range n {
		if err := c.Put(PortedRow{fmt.Sprint(995500000000 + i), "282", fmt.Sprintf("%02d", i%7)}); err != nil {
			t.Fatal(err)
		}
	}
	if c.Len() != n {
		t.Fatalf("Len = %d", c.Len())
	}
	for i := range n {
		if got, want := mccmnc(reg)(c.Get(uint64(995500000000+i))), fmt.Sprintf("282%02d", i%7); got != want {
			t.Fatalf("%d → %s, want %s", i, got, want)
		}
	}
}

// Readers run alongside Puts (with growth) and a Load; a Put made while
// the Load runs survives the swap. Run with -race.
func TestPortedConcurrent(t *testing.T) {
	reg := NewRegistry()
	c := NewPortedCache(reg, time.Hour)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for i := uint64(0); ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if id, ok := c.Get(995500000000 + i%20000); ok && reg.Network(id).MCC != "282" {
					t.Errorf("torn entry: %v", reg.Network(id))
					return
				}
			}
		})
	}
	loadStarted, putDone := make(chan struct{}), make(chan struct{})
	wg.Go(func() {
		<-loadStarted
		for i := range 20000 {
			if err := c.Put(PortedRow{fmt.Sprint(995500000000 + i), "282", "09"}); err != nil {
				t.Error(err)
				return
			}
		}
		close(putDone)
	})
	_, err := c.Load(0, func(yield func(PortedRow, error) bool) {
		close(loadStarted)
		<-putDone // every Put happens while the load is building
		yield(PortedRow{"995599999999", "282", "01"}, nil)
	})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != 20001 {
		t.Errorf("Len = %d, want 20001 (Puts made during the load kept)", c.Len())
	}
	if got := mccmnc(reg)(c.Get(995500000000 + 12345)); got != "28209" {
		t.Errorf("Put during Load lost: %s", got)
	}
}

func TestPortedGetNoAlloc(t *testing.T) {
	reg := NewRegistry()
	c := NewPortedCache(reg, time.Hour)
	_ = c.Put(PortedRow{"995599123456", "282", "01"})
	if a := testing.AllocsPerRun(1000, func() { c.Get(995599123456) }); a != 0 {
		t.Errorf("Get allocates %v", a)
	}
}
