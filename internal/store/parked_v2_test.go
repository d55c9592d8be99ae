package store

import (
	"context"
	"errors"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smsgate/smsgate/internal/message"
)

func v2IDs(ms []*message.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func v2Sorted(ids []string) []string {
	out := slices.Clone(ids)
	sort.Strings(out)
	return out
}

// Parked rows: leases (TakeParked), claims, repark, reject, holds.
func TestV2ParkedLeases(t *testing.T) {
	st := v2Store(t)
	ctx := context.Background()
	pg := st.Pool
	now := v2Now()
	inf := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	prio := func(p uint8) func(*message.Message) { return func(m *message.Message) { m.Priority = p } }
	opr := func(op string) func(*message.Message) { return func(m *message.Message) { m.Operator = op } }
	res, _ := v2Insert(t, st, now,
		IntentRow{M: v2Msg("p0", prio(0)), State: message.Queued, Due: now.Add(-30 * time.Minute)},
		IntentRow{M: v2Msg("p5", prio(5)), State: message.Queued, Due: now.Add(-20 * time.Minute)},
		IntentRow{M: v2Msg("p9new", prio(9)), State: message.Scheduled, Due: now.Add(-1 * time.Minute)},
		IntentRow{M: v2Msg("p9old", prio(9)), State: message.Queued, Due: now.Add(-10 * time.Minute)},
		IntentRow{M: v2Msg("future", prio(9)), State: message.Scheduled, Due: now.Add(time.Hour)},
		IntentRow{M: v2Msg("held", prio(9)), State: message.Held, Due: inf, Reason: "fraud_hold", HoldRange: "99559"},
		IntentRow{M: v2Msg("other", prio(9), opr("op2")), State: message.Queued, Due: now.Add(-time.Hour)},
		IntentRow{M: v2Msg("sending", prio(9)), State: message.Sending},
		IntentRow{M: v2Msg("rejected", prio(9)), State: message.Rejected, Reason: "invalid"},
	)
	for i, r := range res {
		if !r.New {
			t.Fatalf("row %d not written", i)
		}
	}

	// One at a time: highest priority first, then oldest due; never
	// future, held, another operator's or unparked rows.
	t.Run("order", func(t *testing.T) {
		tx, err := pg.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		var got []string
		for range 6 {
			ms, err := TakeParked(ctx, tx, "op1", "A", 1, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) > 1 {
				t.Fatalf("limit 1 returned %v", v2IDs(ms))
			}
			got = append(got, v2IDs(ms)...)
		}
		if want := []string{"p9old", "p9new", "p5", "p0"}; !slices.Equal(got, want) {
			t.Fatalf("taken %v, want %v", got, want)
		}
	})

	lease := 300 * time.Millisecond
	steps := []struct {
		name, owner string
		limit       int
		lease       time.Duration
		want        []string
	}{
		{"A takes the two most urgent", "A", 2, lease, []string{"p9new", "p9old"}},
		{"B gets the rest, not A's leased rows", "B", 10, time.Hour, []string{"p0", "p5"}},
		{"nothing left while leased", "B", 10, time.Hour, nil},
	}
	for _, s := range steps {
		ms, err := TakeParked(ctx, pg, "op1", s.owner, s.limit, s.lease)
		if err != nil {
			t.Fatal(err)
		}
		if got := v2Sorted(v2IDs(ms)); !slices.Equal(got, s.want) && !(len(got) == 0 && len(s.want) == 0) {
			t.Fatalf("%s: took %v, want %v", s.name, got, s.want)
		}
		for _, m := range ms {
			if !m.Parked || m.Gen != st.Gen(now) || m.Operator != "op1" || m.Account != "acme" || m.Parts != 1 {
				t.Errorf("%s: taken message %+v", s.name, m)
			}
			r := v2One(t, st, m.ID)
			if v2Str(r.Owner) != s.owner || r.Due == nil || r.Due.Before(time.Now().Add(s.lease-2*time.Second)) {
				t.Errorf("%s: %s owner %s due %v: not leased for %v", s.name, m.ID, v2Str(r.Owner), r.Due, s.lease)
			}
		}
	}
	time.Sleep(lease + 200*time.Millisecond)
	ms, err := TakeParked(ctx, pg, "op1", "C", 10, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got := v2Sorted(v2IDs(ms)); !slices.Equal(got, []string{"p9new", "p9old"}) {
		t.Fatalf("after A's lease ran out C took %v, want [p9new p9old]", got)
	}
	ms, err = TakeParked(ctx, pg, "op2", "C", 10, time.Hour)
	if err != nil || !slices.Equal(v2IDs(ms), []string{"other"}) {
		t.Fatalf("op2 took %v (%v), want [other]", v2IDs(ms), err)
	}

	gen := st.Gen(now)
	claims := []struct {
		name, owner string
		key         ParkedKey
		want        bool
	}{
		{"lease lost to C", "A", ParkedKey{ID: "p9old", Gen: gen, Operator: "op3", Attempt: 2, Tried: []string{"op1"}}, false},
		{"lease owner", "C", ParkedKey{ID: "p9old", Gen: gen, Operator: "op3", Attempt: 2, Tried: []string{"op1"}}, true},
		{"claimed already", "C", ParkedKey{ID: "p9old", Gen: gen, Operator: "op3", Attempt: 2}, false},
		{"never leased", "C", ParkedKey{ID: "future", Gen: gen, Operator: "op1", Attempt: 1}, false},
		{"wrong generation", "B", ParkedKey{ID: "p5", Gen: gen + 1, Operator: "op1", Attempt: 1}, false},
		{"not parked", "C", ParkedKey{ID: "sending", Gen: gen, Operator: "op1", Attempt: 1}, false},
	}
	for _, c := range claims {
		b := v2Batch(t, st, "claims")
		var got map[string]bool
		v2Tx(t, st, func(tx pgx.Tx) error {
			var err error
			got, err = ClaimParked(ctx, tx, b, c.owner, []ParkedKey{c.key})
			return err
		})
		if got[c.key.ID] != c.want {
			t.Errorf("claim %s: %v, want %v", c.name, got[c.key.ID], c.want)
		}
		if c.want {
			r := v2One(t, st, c.key.ID)
			if r.State != message.Sending || r.Due != nil || r.DueInfinity || r.Owner != nil || r.Batch != b ||
				v2Str(r.Operator) != "op3" || r.Attempt != 2 || !slices.Equal(r.Tried, []string{"op1"}) {
				t.Errorf("claimed row %+v", r)
			}
		}
	}

	// Repark: a leased row and an intent go back, rerouted or not.
	reparks := []struct {
		name  string
		key   ParkedKey
		state message.State
		due   time.Time
		n     int64
		rer   bool
	}{
		{"leased row rerouted", ParkedKey{ID: "p9new", Gen: gen, Operator: "op2", Attempt: 2, Tried: []string{"op1"}, Rerouted: true}, message.Queued, time.Time{}, 1, true},
		{"intent scheduled", ParkedKey{ID: "p9old", Gen: gen, Operator: "op3", Attempt: 2, Tried: []string{"op1"}}, message.Scheduled, now.Add(time.Hour), 1, false},
		{"rerouted stays rerouted", ParkedKey{ID: "p9new", Gen: gen, Operator: "op2", Attempt: 2, Tried: []string{"op1"}}, message.Queued, time.Time{}, 1, true},
		{"rejected row is not reparked", ParkedKey{ID: "rejected", Gen: gen, Operator: "op1", Attempt: 1}, message.Queued, time.Time{}, 0, false},
		{"held row is not reparked", ParkedKey{ID: "held", Gen: gen, Operator: "op1", Attempt: 1}, message.Queued, time.Time{}, 0, false},
	}
	for _, c := range reparks {
		b := v2Batch(t, st, "reparks")
		before := time.Now()
		n, err := Repark(ctx, pg, b, []ParkedKey{c.key}, c.state, c.due)
		if err != nil {
			t.Fatal(err)
		}
		if n != c.n {
			t.Errorf("repark %s: %d rows, want %d", c.name, n, c.n)
			continue
		}
		r := v2One(t, st, c.key.ID)
		if r.Rerouted != c.rer {
			t.Errorf("repark %s: rerouted %v, want %v", c.name, r.Rerouted, c.rer)
		}
		if n == 0 {
			continue
		}
		wantDue := c.due
		if wantDue.IsZero() && r.Due != nil && r.Due.After(before.Add(-2*time.Second)) && r.Due.Before(time.Now().Add(2*time.Second)) {
			wantDue = *r.Due
		}
		if r.State != c.state || !v2SameTime(r.Due, wantDue) || r.Owner != nil || v2Str(r.Operator) != c.key.Operator ||
			r.Attempt != c.key.Attempt || !slices.Equal(r.Tried, c.key.Tried) || r.Batch != b {
			t.Errorf("repark %s: row %+v (due %v)", c.name, r, r.Due)
		}
	}

	// RejectParked ends only the lease owner's row.
	b := v2Batch(t, st, "rejects")
	for _, c := range []struct {
		owner string
		want  bool
	}{{"A", false}, {"B", true}, {"B", false}} {
		var got map[string]bool
		v2Tx(t, st, func(tx pgx.Tx) error {
			var err error
			got, err = RejectParked(ctx, tx, b, c.owner, []string{"p5"}, []int32{gen}, []string{"expired"}, []string{"expired while parked"})
			return err
		})
		if got["p5"] != c.want {
			t.Errorf("reject p5 by %s: %v, want %v", c.owner, got["p5"], c.want)
		}
	}
	if r := v2One(t, st, "p5"); r.State != message.Rejected || r.Due != nil || r.Owner != nil || v2Str(r.Reason) != "expired" ||
		v2Str(r.Detail) != "expired while parked" || r.Batch != b {
		t.Errorf("rejected p5: %+v", r)
	}
}

// Holds: listing, release and drop; ErrNotHeld for anything else.
func TestV2Holds(t *testing.T) {
	st := v2Store(t)
	ctx := context.Background()
	pg := st.Pool
	now := v2Now()
	inf := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	v2Insert(t, st, now.Add(-time.Minute),
		IntentRow{M: v2Msg("h1", func(m *message.Message) { m.Account = "a1"; m.Parts = 2 }), State: message.Held, Due: inf, Reason: "fraud_hold", Detail: "pumping", HoldRange: "99559"})
	v2Insert(t, st, now,
		IntentRow{M: v2Msg("h2", func(m *message.Message) { m.Account = "a2"; m.Parts = 3; m.Meta = []byte(`{"c":1}`) }), State: message.Held, Due: inf, Reason: "content"},
		IntentRow{M: v2Msg("q"), State: message.Queued, Due: now},
		IntentRow{M: v2Msg("s"), State: message.Sending})

	hs, err := Holds(ctx, pg, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []Hold{
		{ID: "h1", Account: "a1", Range: "99559", Reason: "fraud_hold", Since: now.Add(-time.Minute)},
		{ID: "h2", Account: "a2", Reason: "content", Since: now},
	}
	if len(hs) != len(want) {
		t.Fatalf("holds %+v, want %+v", hs, want)
	}
	for i := range want {
		if hs[i].ID != want[i].ID || hs[i].Account != want[i].Account || hs[i].Range != want[i].Range || hs[i].Reason != want[i].Reason || !hs[i].Since.Equal(want[i].Since) {
			t.Errorf("hold %d: %+v, want %+v", i, hs[i], want[i])
		}
	}
	if ms, _ := TakeParked(ctx, pg, "op1", "A", 10, time.Minute); !slices.Equal(v2IDs(ms), []string{"q"}) {
		t.Errorf("took %v with two held rows, want [q]", v2IDs(ms))
	}

	drop := func(id string) (Dropped, error) {
		var d Dropped
		b := v2Batch(t, st, "holds")
		err := pgx.BeginFunc(ctx, pg, func(tx pgx.Tx) error {
			var err error
			d, err = DropHold(ctx, tx, b, id)
			return err
		})
		return d, err
	}
	release := func(id string) (Dropped, error) { return Dropped{}, ReleaseHold(ctx, pg, id) }
	steps := []struct {
		name    string
		op      func(string) (Dropped, error)
		id      string
		wantErr error
		want    Dropped
	}{
		{"release h1", release, "h1", nil, Dropped{}},
		{"release h1 again", release, "h1", ErrNotHeld, Dropped{}},
		{"release unknown", release, "nope", ErrNotHeld, Dropped{}},
		{"release sending", release, "s", ErrNotHeld, Dropped{}},
		{"drop queued", drop, "q", ErrNotHeld, Dropped{}},
		{"drop released h1", drop, "h1", ErrNotHeld, Dropped{}},
		{"drop h2", drop, "h2", nil, Dropped{Account: "a2", Reason: "content", Parts: 3, Meta: []byte(`{"c":1}`)}},
		{"drop h2 again", drop, "h2", ErrNotHeld, Dropped{}},
		{"release dropped h2", release, "h2", ErrNotHeld, Dropped{}},
	}
	for _, s := range steps {
		d, err := s.op(s.id)
		if !errors.Is(err, s.wantErr) {
			t.Errorf("%s: err %v, want %v", s.name, err, s.wantErr)
			continue
		}
		if err == nil && (d.Account != s.want.Account || d.Reason != s.want.Reason || d.Parts != s.want.Parts || string(d.Meta) != string(s.want.Meta)) {
			t.Errorf("%s: dropped %+v, want %+v", s.name, d, s.want)
		}
	}
	if r := v2One(t, st, "h1"); r.State != message.Queued || r.Due == nil || r.DueInfinity || r.Due.After(time.Now().Add(2*time.Second)) || r.Reason != nil || r.Detail != nil {
		t.Errorf("released h1: %+v", r)
	}
	if r := v2One(t, st, "h2"); r.State != message.Rejected || r.Due != nil || r.DueInfinity || v2Str(r.Reason) != "content" || v2Str(r.Detail) != "dropped from hold" {
		t.Errorf("dropped h2: %+v", r)
	}
	if hs, err := Holds(ctx, pg, 10); err != nil || len(hs) != 0 {
		t.Errorf("holds after release and drop: %+v %v", hs, err)
	}
	// A released row is due: its operator takes it.
	if ms, _ := TakeParked(ctx, pg, "op1", "B", 10, time.Minute); !slices.Equal(v2IDs(ms), []string{"h1"}) {
		t.Errorf("after release took %v, want [h1]", v2IDs(ms))
	}
}
