package protect

import (
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
)

func TestNumberKey(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		same string // another spelling with the same key
	}{
		{"995599123456", true, "+995599123456"},
		{"1", true, "+1"},
		{"123456789012345", true, ""},
		{"1234567890123456", false, ""}, // 16 digits
		{"", false, ""},
		{"+", false, ""},
		{"++995", false, ""},
		{"99559912345a", false, ""},
		{" 995", false, ""},
		{"0995", true, ""},
	}
	for _, tt := range tests {
		k, ok := numberKey(tt.in)
		if ok != tt.ok {
			t.Errorf("numberKey(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			continue
		}
		if ok && k <= slotTomb {
			t.Errorf("numberKey(%q) = %d collides with a marker", tt.in, k)
		}
		if tt.same != "" {
			if k2, _ := numberKey(tt.same); k2 != k {
				t.Errorf("numberKey(%q) = %d, numberKey(%q) = %d, want equal", tt.in, k, tt.same, k2)
			}
		}
	}
	// Leading zeros are distinct numbers.
	a, _ := numberKey("0995")
	b, _ := numberKey("995")
	c, _ := numberKey("00995")
	if a == b || a == c || b == c {
		t.Errorf("leading zeros collapse: %d %d %d", a, b, c)
	}
}

func TestBlocklistAddRemove(t *testing.T) {
	b := NewBlocklist()
	steps := []struct {
		op, number string
		want       bool // added / removed / contains
	}{
		{"has", "995599123456", false},
		{"add", "995599123456", true},
		{"add", "+995599123456", false}, // same number
		{"has", "995599123456", true},
		{"has", "+995599123456", true},
		{"has", "995599123457", false},
		{"remove", "995599123457", false},
		{"remove", "995599123456", true},
		{"has", "995599123456", false},
		{"remove", "995599123456", false},
		{"add", "995599123456", true}, // back after a tombstone
		{"has", "995599123456", true},
		{"has", "bad", false},
	}
	for i, s := range steps {
		var got bool
		var err error
		switch s.op {
		case "has":
			got = b.Contains(s.number)
		case "add":
			got, err = b.Add(s.number)
		case "remove":
			got, err = b.Remove(s.number)
		}
		if err != nil || got != s.want {
			t.Fatalf("step %d %s(%q) = %v, %v; want %v", i, s.op, s.number, got, err, s.want)
		}
	}
	if b.Len() != 1 {
		t.Errorf("Len = %d, want 1", b.Len())
	}
	if _, err := b.Add("12a"); !errors.Is(err, ErrBadNumber) {
		t.Errorf("Add(12a) err = %v, want ErrBadNumber", err)
	}
	if _, err := b.Remove(""); !errors.Is(err, ErrBadNumber) {
		t.Errorf("Remove(\"\") err = %v, want ErrBadNumber", err)
	}
}

// TestBlocklistGrowthAndChurn adds enough numbers to force several rebuilds
// and removes and re-adds to fill the table with tombstones; the set must
// match a map at every step.
func TestBlocklistGrowthAndChurn(t *testing.T) {
	b := NewBlocklist()
	ref := map[string]bool{}
	num := func(i int) string { return "99559" + strconv.Itoa(1000000+i) }
	for i := 0; i < 20000; i++ {
		b.Add(num(i))
		ref[num(i)] = true
	}
	for round := 0; round < 5; round++ {
		for i := round; i < 20000; i += 3 {
			b.Remove(num(i))
			delete(ref, num(i))
		}
		for i := 20000 + round*5000; i < 25000+round*5000; i++ {
			b.Add(num(i))
			ref[num(i)] = true
		}
	}
	if b.Len() != len(ref) {
		t.Fatalf("Len = %d, want %d", b.Len(), len(ref))
	}
	for i := 0; i < 50000; i++ {
		if got := b.Contains(num(i)); got != ref[num(i)] {
			t.Fatalf("Contains(%s) = %v, want %v", num(i), got, ref[num(i)])
		}
	}
	tab := b.tab.Load()
	if tab.used*4 > len(tab.slots)*3 {
		t.Errorf("table over 3/4 full: %d of %d", tab.used, len(tab.slots))
	}
}

func TestBlocklistReplace(t *testing.T) {
	b := NewBlocklist()
	b.Add("995500000001")
	in := []string{"995599000001", "+995599000002", "995599000001", "x", "", "995599000003"}
	n, invalid := b.Replace(slices.Values(in))
	if n != 3 || invalid != 2 {
		t.Fatalf("Replace = %d, %d; want 3, 2", n, invalid)
	}
	for _, s := range []string{"995599000001", "995599000002", "995599000003"} {
		if !b.Contains(s) {
			t.Errorf("Contains(%s) = false after Replace", s)
		}
	}
	if b.Contains("995500000001") {
		t.Error("number from before Replace is still in")
	}
	if b.Len() != 3 {
		t.Errorf("Len = %d, want 3", b.Len())
	}
	// Adds after a bulk load go into its growth room.
	for i := 0; i < 5000; i++ {
		b.Add(strconv.Itoa(7700000000 + i))
	}
	if !b.Contains("7700004999") || !b.Contains("995599000003") || b.Len() != 5003 {
		t.Errorf("after adds: Len %d", b.Len())
	}
}

// TestBlocklistConcurrent: readers see numbers that are never touched at
// every moment while writers add, remove and rebuild.
func TestBlocklistConcurrent(t *testing.T) {
	b := NewBlocklist()
	for i := 0; i < 1000; i++ {
		b.Add(strconv.Itoa(4400000000 + i)) // stable set
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 2; w++ {
		wg.Go(func() {
			for i := 0; i < 20000; i++ {
				n := strconv.Itoa(3300000000 + w*100000 + i)
				b.Add(n)
				if i%2 == 0 {
					b.Remove(n)
				}
			}
		})
	}
	var readers sync.WaitGroup
	errs := make(chan string, 4)
	for r := 0; r < 2; r++ {
		readers.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				n := strconv.Itoa(4400000000 + i%1000)
				if !b.Contains(n) {
					errs <- n
					return
				}
				if b.Contains("4400009999") {
					errs <- "4400009999"
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for n := range errs {
		t.Errorf("reader saw wrong membership of %s during writes", n)
	}
	if want := 1000 + 2*10000; b.Len() != want {
		t.Errorf("Len = %d, want %d", b.Len(), want)
	}
}
