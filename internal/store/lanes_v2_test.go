package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smsgate/smsgate/internal/message"
)

func v2Published(t *testing.T, st *Store, lane string) int64 {
	t.Helper()
	return v2Count(t, st, `SELECT published FROM lanes WHERE id = $1`, lane)
}

// BeginBatch: increasing ids, the published watermark only moves up;
// LaneBatches lists a lane's batches after a watermark.
func TestV2LaneBatches(t *testing.T) {
	st := v2Store(t)
	ctx := context.Background()
	for _, l := range []string{"i1-intents", "i1-outcomes"} {
		if err := RegisterLane(ctx, st.Pool, l, "i1", "intents"); err != nil {
			t.Fatal(err)
		}
	}
	begin := func(lane string, published int64) int64 {
		var id int64
		v2Tx(t, st, func(tx pgx.Tx) error {
			var err error
			if id, err = BeginBatch(ctx, tx, lane); err != nil {
				return err
			}
			if published > 0 {
				return SetPublished(ctx, tx, lane, published)
			}
			return nil
		})
		return id
	}
	var ids []int64
	var other []int64
	prev := int64(0)
	steps := []struct {
		lane          string
		published     func() int64
		wantPublished func() int64
	}{
		{"i1-intents", func() int64 { return 0 }, func() int64 { return 0 }},
		{"i1-intents", func() int64 { return ids[0] }, func() int64 { return ids[0] }},
		{"i1-outcomes", func() int64 { return 0 }, func() int64 { return ids[0] }},
		{"i1-intents", func() int64 { return ids[1] }, func() int64 { return ids[1] }},
		{"i1-intents", func() int64 { return ids[0] }, func() int64 { return ids[1] }}, // never down
		{"i1-intents", func() int64 { return 0 }, func() int64 { return ids[1] }},
		{"i1-outcomes", func() int64 { return 0 }, func() int64 { return ids[1] }},
		{"i1-intents", func() int64 { return ids[3] }, func() int64 { return ids[3] }},
	}
	for i, s := range steps {
		id := begin(s.lane, s.published())
		if id <= prev {
			t.Fatalf("step %d: batch %d after %d", i, id, prev)
		}
		prev = id
		if s.lane == "i1-intents" {
			ids = append(ids, id)
			if got, want := v2Published(t, st, s.lane), s.wantPublished(); got != want {
				t.Errorf("step %d: published %d, want %d", i, got, want)
			}
		} else {
			other = append(other, id)
		}
	}
	if got := v2Published(t, st, "i1-outcomes"); got != 0 {
		t.Errorf("outcomes lane published %d, want 0 (never given one)", got)
	}
	if err := SetPublished(ctx, st.Pool, "i1-intents", ids[2]); err != nil {
		t.Fatal(err)
	}
	if got := v2Published(t, st, "i1-intents"); got != ids[3] {
		t.Errorf("SetPublished moved the watermark down to %d", got)
	}
	if err := SetSettled(ctx, st.Pool, "i1-intents", ids[2]); err != nil {
		t.Fatal(err)
	}
	if err := SetSettled(ctx, st.Pool, "i1-intents", ids[1]); err != nil {
		t.Fatal(err)
	}
	if got := v2Count(t, st, `SELECT settled FROM lanes WHERE id = 'i1-intents'`); got != ids[2] {
		t.Errorf("settled %d, want %d", got, ids[2])
	}

	cases := []struct {
		lane  string
		after int64
		limit int
		want  []int64
	}{
		{"i1-intents", 0, 100, ids},
		{"i1-intents", ids[1], 100, ids[2:]},
		{"i1-intents", ids[1], 2, ids[2:4]},
		{"i1-intents", ids[len(ids)-1], 100, nil},
		{"i1-outcomes", 0, 100, other},
		{"i1-outcomes", other[0], 100, other[1:]},
		{"nobody", 0, 100, nil},
	}
	for _, c := range cases {
		got, err := LaneBatches(ctx, st.Pool, c.lane, c.after, c.limit)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("LaneBatches(%s, %d, %d) = %v, want %v", c.lane, c.after, c.limit, got, c.want)
		}
	}
}

// DeadLanes: lanes of instances without a (recent) heartbeat and this
// instance's own lanes of an earlier life, never recovered ones.
func TestV2DeadLanes(t *testing.T) {
	st := v2Store(t)
	ctx := context.Background()
	pg := st.Pool
	for _, id := range []string{"me", "alive", "stale"} {
		if err := Heartbeat(ctx, pg, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pg.Exec(ctx, `UPDATE instances SET heartbeat = now() - interval '10 minutes' WHERE id = 'stale'`); err != nil {
		t.Fatal(err)
	}
	lanes := [][3]string{
		{"me-intents", "me", "intents"}, {"me-old", "me", "intents"},
		{"alive-intents", "alive", "intents"},
		{"stale-intents", "stale", "intents"}, {"stale-outcomes", "stale", "outcomes"}, {"stale-done", "stale", "intents"},
		{"gone-intents", "gone", "intents"},
	}
	for _, l := range lanes {
		if err := RegisterLane(ctx, pg, l[0], l[1], l[2]); err != nil {
			t.Fatal(err)
		}
	}
	if err := MarkRecovered(ctx, pg, "stale-done"); err != nil {
		t.Fatal(err)
	}
	if err := SetSettled(ctx, pg, "stale-intents", 7); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		self    string
		current []string
		after   time.Duration
		want    []string
	}{
		{"from me", "me", []string{"me-intents"}, time.Minute, []string{"gone-intents", "me-old", "stale-intents", "stale-outcomes"}},
		{"all mine current", "me", []string{"me-intents", "me-old"}, time.Minute, []string{"gone-intents", "stale-intents", "stale-outcomes"}},
		{"longer patience", "me", []string{"me-intents", "me-old"}, time.Hour, []string{"gone-intents"}},
		{"from alive", "alive", []string{"alive-intents"}, time.Minute, []string{"gone-intents", "stale-intents", "stale-outcomes"}},
		// At start no lane of this life exists yet (the gateway passes nil):
		// every lane of this instance id is from an earlier life.
		{"restart, no current lanes (nil)", "me", nil, time.Minute, []string{"gone-intents", "me-intents", "me-old", "stale-intents", "stale-outcomes"}},
		{"restart, no current lanes (empty)", "me", []string{}, time.Minute, []string{"gone-intents", "me-intents", "me-old", "stale-intents", "stale-outcomes"}},
	}
	for _, c := range cases {
		got, err := DeadLanes(ctx, pg, c.self, c.current, c.after)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, l := range got {
			ids = append(ids, l.ID)
			if l.ID == "stale-intents" && (l.Instance != "stale" || l.Kind != "intents" || l.Settled != 7) {
				t.Errorf("%s: lane %+v", c.name, l)
			}
		}
		if got := v2Sorted(ids); !slices.Equal(got, c.want) {
			t.Errorf("%s: dead lanes %v, want %v", c.name, got, c.want)
		}
	}
	// Registering a lane again (a restart) takes it over: not recovered.
	if err := RegisterLane(ctx, pg, "stale-done", "stale", "intents"); err != nil {
		t.Fatal(err)
	}
	got, err := DeadLanes(ctx, pg, "me", []string{"me-intents", "me-old"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, l := range got {
		ids = append(ids, l.ID)
	}
	if !slices.Contains(ids, "stale-done") {
		t.Errorf("re-registered lane not dead again: %v", ids)
	}
}

// IntentsWithoutOutcome: journaled rows of the batches whose current
// attempt has no attempt rows.
func TestV2IntentsWithoutOutcome(t *testing.T) {
	st := v2Store(t)
	ctx := context.Background()
	now := v2Now()
	gen := st.Gen(now)
	att2 := func(m *message.Message) { m.Attempt, m.Tried, m.Operator = 2, []string{"op0"}, "op1" }
	parts3 := func(m *message.Message) { m.Parts = 3; m.Network = "28201" }
	_, b1 := v2Insert(t, st, now,
		IntentRow{M: v2Msg("bare", parts3), State: message.Sending},
		IntentRow{M: v2Msg("answered"), State: message.Sending},
		IntentRow{M: v2Msg("partial", parts3), State: message.Sending},
		IntentRow{M: v2Msg("retry", att2), State: message.Sending},
		IntentRow{M: v2Msg("retried", att2), State: message.Sending},
		IntentRow{M: v2Msg("parked"), State: message.Queued, Due: now},
		IntentRow{M: v2Msg("rejected"), State: message.Rejected, Reason: "invalid"})
	_, b2 := v2Insert(t, st, now, IntentRow{M: v2Msg("later"), State: message.Sending})
	_, b3 := v2Insert(t, st, now, IntentRow{M: v2Msg("elsewhere"), State: message.Sending})
	ob := v2Batch(t, st, "outcomes")
	v2Tx(t, st, func(tx pgx.Tx) error {
		return AppendAttempts(ctx, tx, ob, []AttemptRow{
			v2Attempt("answered", gen, 1, 1, "op1", "a1", message.Submitted, now),
			v2Attempt("partial", gen, 1, 1, "op1", "p1", message.Unknown, now),
			v2Attempt("retry", gen, 1, 1, "op0", "r1", message.Undeliverable, now),
			v2Attempt("retried", gen, 1, 1, "op0", "d1", message.Undeliverable, now),
			v2Attempt("retried", gen, 1, 2, "op1", "d2", message.Submitted, now),
		})
	})
	cases := []struct {
		batches []int64
		want    []string
	}{
		{[]int64{b1}, []string{"bare", "retry"}},
		{[]int64{b1, b2}, []string{"bare", "later", "retry"}},
		{[]int64{b3}, []string{"elsewhere"}},
		{[]int64{ob}, nil},
		{nil, nil},
	}
	for _, c := range cases {
		got, err := IntentsWithoutOutcome(ctx, st.Pool, c.batches)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, u := range got {
			ids = append(ids, u.ID)
			switch u.ID {
			case "bare":
				if u.Gen != gen || u.Attempt != 1 || u.Parts != 3 || u.Operator != "op1" || u.Account != "acme" || u.Dest != "995599000001" || u.Network != "28201" {
					t.Errorf("bare: %+v", u)
				}
			case "retry":
				if u.Attempt != 2 || u.Operator != "op1" {
					t.Errorf("retry: %+v", u)
				}
			}
		}
		if got := v2Sorted(ids); !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("batches %v: %v, want %v", c.batches, got, c.want)
		}
	}
}
