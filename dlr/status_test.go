package dlr

import "testing"

const (
	pe = PartPending
	su = PartSubmitted
	un = PartUnknown
	de = PartDelivered
	ud = PartUndeliverable
	ex = PartExpired
)

func TestAggregate(t *testing.T) {
	tests := []struct {
		parts    []PartStatus
		want     PartStatus
		wantLast PartStatus // AggregateLastPartOnly
	}{
		{nil, pe, pe},
		{[]PartStatus{de}, de, de},
		{[]PartStatus{de, de, de}, de, de},
		{[]PartStatus{de, su}, su, su},
		{[]PartStatus{su, de}, su, de},
		{[]PartStatus{su, su}, su, su},
		{[]PartStatus{su, un}, un, un},
		{[]PartStatus{un, pe, su}, pe, pe},
		{[]PartStatus{de, ud}, ud, ud},
		{[]PartStatus{ud, pe}, ud, ud},
		{[]PartStatus{pe, su, ud}, ud, ud},
		{[]PartStatus{ex, su}, su, su},
		{[]PartStatus{ex, de}, ex, ex},
		{[]PartStatus{de, ex}, ex, ex},
		{[]PartStatus{ex, ex}, ex, ex},
		{[]PartStatus{ex, ud}, ud, ud},
		{[]PartStatus{su, su, ex}, su, ex},
		{[]PartStatus{un, ud}, ud, ud},
		{[]PartStatus{ud, su, de}, ud, ud},
		{[]PartStatus{PartStatus(99), su}, pe, pe},
	}
	for _, tc := range tests {
		if got := Aggregate(tc.parts); got != tc.want {
			t.Errorf("Aggregate(%v) = %v, want %v", tc.parts, got, tc.want)
		}
		if got := AggregateLastPartOnly(tc.parts); got != tc.wantLast {
			t.Errorf("AggregateLastPartOnly(%v) = %v, want %v", tc.parts, got, tc.wantLast)
		}
	}
}

func TestAdvance(t *testing.T) {
	all := []PartStatus{pe, su, un, de, ud, ex}
	allowed := map[[2]PartStatus]bool{
		{pe, su}: true, {pe, un}: true, {pe, de}: true, {pe, ud}: true, {pe, ex}: true,
		{un, su}: true, {un, de}: true, {un, ud}: true, {un, ex}: true,
		{su, de}: true, {su, ud}: true, {su, ex}: true,
	}
	for _, cur := range all {
		for _, next := range append(all, PartStatus(42)) {
			got, changed := Advance(cur, next)
			if allowed[[2]PartStatus{cur, next}] {
				if !changed || got != next {
					t.Errorf("Advance(%v, %v) = %v,%v want %v,true", cur, next, got, changed, next)
				}
			} else if changed || got != cur {
				t.Errorf("Advance(%v, %v) = %v,%v want %v,false", cur, next, got, changed, cur)
			}
		}
	}
}

// TestAdvanceNeverRegresses drives a message through every sequence of part
// updates of length 4 over 2 parts and checks the published statuses.
func TestAdvanceNeverRegresses(t *testing.T) {
	all := []PartStatus{pe, su, un, de, ud, ex}
	var walk func(parts []PartStatus, cur PartStatus, depth int)
	walk = func(parts []PartStatus, cur PartStatus, depth int) {
		if depth == 0 {
			return
		}
		for i := range parts {
			for _, s := range all {
				next := append([]PartStatus(nil), parts...)
				next[i] = s
				got, changed := Advance(cur, Aggregate(next))
				if cur.Final() && (changed || got != cur) {
					t.Fatalf("final %v changed to %v", cur, got)
				}
				if changed && got.rank() <= cur.rank() {
					t.Fatalf("regression %v → %v", cur, got)
				}
				walk(next, got, depth-1)
			}
		}
	}
	walk([]PartStatus{pe, pe}, pe, 4)
}

func TestPartStatusString(t *testing.T) {
	want := map[PartStatus]string{pe: "pending", su: "submitted", un: "unknown", de: "delivered", ud: "undeliverable", ex: "expired", 77: "invalid"}
	for p, w := range want {
		if p.String() != w {
			t.Errorf("%d.String() = %q, want %q", p, p.String(), w)
		}
	}
}
