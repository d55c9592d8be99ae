package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/smsgate/smsgate/internal/message"
)

// InsertIntents: the dedupe on id (current and older generations, within
// one batch, replays vs duplicates) and the rows it writes (parked, held
// and rejected rows keep their state, due and reason), on both the COPY
// path and the INSERT … ON CONFLICT fallback.
func TestV2InsertIntents(t *testing.T) {
	st := v2Store(t)
	ctx := context.Background()
	now := v2Now()
	gen := st.Gen(now)
	inf := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

	// An older generation holding ids old1 and oldX.
	past := now.Add(-15 * 24 * time.Hour)
	oldGen := st.Gen(past)
	if oldGen >= gen {
		t.Fatalf("gen of %v is %d, not older than %d", past, oldGen, gen)
	}
	if err := st.EnsurePartitions(ctx, past, past); err != nil {
		t.Fatal(err)
	}
	res, _ := v2Insert(t, st, past,
		IntentRow{M: v2Msg("old1", v2Src(4, 40)), State: message.Sending},
		IntentRow{M: v2Msg("oldX", v2Src(4, 200)), State: message.Sending})
	if !res[0].New || !res[1].New {
		t.Fatalf("old rows not written: %+v", res)
	}

	type want struct {
		new, replay bool
		gen         int32 // of the stored row, when not new
		state       message.State
	}
	type row struct {
		r IntentRow
		w want
	}
	w := func(new, replay bool, g int32, s message.State) want { return want{new, replay, g, s} }
	steps := []struct {
		name string
		rows []row
	}{
		{"fresh rows, one id twice in the batch", []row{
			{IntentRow{M: v2Msg("m1", v2Src(0, 1)), State: message.Sending}, w(true, false, 0, 0)},
			{IntentRow{M: v2Msg("m2", v2Src(0, 2)), State: message.Queued, Due: now.Add(-time.Minute)}, w(true, false, 0, 0)},
			{IntentRow{M: v2Msg("m3", v2Src(0, 3)), State: message.Held, Due: inf, Reason: "fraud_hold", Detail: "pumping", HoldRange: "99559"}, w(true, false, 0, 0)},
			{IntentRow{M: v2Msg("m4", v2Src(0, 4)), State: message.Rejected, Reason: "invalid", Detail: "bad destination"}, w(true, false, 0, 0)},
			{IntentRow{M: v2Msg("m5", v2Src(0, 5)), State: message.Scheduled, Due: now.Add(time.Hour)}, w(true, false, 0, 0)},
			{IntentRow{M: v2Msg("m6", v2Src(0, 6)), State: message.Sending}, w(true, false, 0, 0)},
			{IntentRow{M: v2Msg("m6", v2Src(0, 7)), State: message.Sending}, w(false, false, gen, message.Sending)},
		}},
		{"replay, duplicate and new rows (conflict fallback)", []row{
			{IntentRow{M: v2Msg("m1", v2Src(0, 1)), State: message.Sending}, w(false, true, gen, message.Sending)},
			{IntentRow{M: v2Msg("m2", v2Src(1, 99)), State: message.Sending}, w(false, false, gen, message.Queued)},
			{IntentRow{M: v2Msg("m7", v2Src(0, 8)), State: message.Held, Due: inf, Reason: "content", Detail: "spam words"}, w(true, false, 0, 0)},
			{IntentRow{M: v2Msg("m8", v2Src(0, 9)), State: message.Rejected, Reason: "opted_out", Detail: "opted out"}, w(true, false, 0, 0)},
			{IntentRow{M: v2Msg("m9", v2Src(0, 10), func(m *message.Message) {
				m.Tried, m.Attempt, m.Meta, m.Network = []string{"opa", "opb"}, 3, []byte(`{"k":"v"}`), "28201"
			}), State: message.Scheduled, Due: now.Add(2 * time.Hour)}, w(true, false, 0, 0)},
		}},
		{"only stored ids", []row{
			{IntentRow{M: v2Msg("m4", v2Src(0, 4)), State: message.Sending}, w(false, true, gen, message.Rejected)},
			{IntentRow{M: v2Msg("m3", v2Src(2, 5)), State: message.Sending}, w(false, false, gen, message.Held)},
		}},
		{"id stored in an older generation, replayed", []row{
			{IntentRow{M: v2Msg("old1", v2Src(4, 40)), State: message.Sending}, w(false, true, oldGen, message.Sending)},
			{IntentRow{M: v2Msg("m10", v2Src(0, 11)), State: message.Sending}, w(true, false, 0, 0)},
		}},
		{"id stored in an older generation, duplicated", []row{
			{IntentRow{M: v2Msg("old1", v2Src(5, 41)), State: message.Queued, Due: now}, w(false, false, oldGen, message.Sending)},
		}},
		// The second row of an id in one batch conflicts with the stored
		// row, not with the batch's first row.
		{"in-batch repeat of an id stored in an older generation", []row{
			{IntentRow{M: v2Msg("oldX", v2Src(4, 200)), State: message.Sending}, w(false, true, oldGen, message.Sending)},
			{IntentRow{M: v2Msg("oldX", v2Src(4, 201)), State: message.Sending}, w(false, false, oldGen, message.Sending)},
		}},
		{"in-batch duplicate then the stored record replayed", []row{
			{IntentRow{M: v2Msg("m5", v2Src(3, 50)), State: message.Sending}, w(false, false, gen, message.Scheduled)},
			{IntentRow{M: v2Msg("m5", v2Src(0, 5)), State: message.Sending}, w(false, true, gen, message.Scheduled)},
		}},
	}
	batches := map[string]int64{}
	for _, step := range steps {
		rows := make([]IntentRow, len(step.rows))
		for i, r := range step.rows {
			rows[i] = r.r
		}
		res, batch := v2Insert(t, st, now, rows...)
		for i, r := range step.rows {
			got := res[i]
			if got.New {
				batches[r.r.M.ID] = batch
			}
			if got.New != r.w.new {
				t.Errorf("%s: row %d (%s %d/%d): New=%v, want %v", step.name, i, r.r.M.ID, r.r.M.Partition, r.r.M.Offset, got.New, r.w.new)
				continue
			}
			if r.w.new {
				continue
			}
			if rp := got.Existing.Replay(r.r.M); rp != r.w.replay {
				t.Errorf("%s: row %d (%s %d/%d): Replay=%v, want %v (existing %+v)", step.name, i, r.r.M.ID, r.r.M.Partition, r.r.M.Offset, rp, r.w.replay, got.Existing)
			}
			if got.Existing.Gen != r.w.gen {
				t.Errorf("%s: row %d (%s %d/%d): Existing.Gen=%d, want %d (the stored row's)", step.name, i, r.r.M.ID, r.r.M.Partition, r.r.M.Offset, got.Existing.Gen, r.w.gen)
			}
			if got.Existing.State != r.w.state {
				t.Errorf("%s: row %d (%s): Existing.State=%v, want %v", step.name, i, r.r.M.ID, got.Existing.State, r.w.state)
			}
		}
	}

	// What is stored: one row per id, as first written.
	type stored struct {
		id                     string
		gen                    int32
		state                  message.State
		due                    time.Time
		dueInf                 bool
		reason, detail, hrange string
		held                   bool
		src                    [2]int64
	}
	for _, c := range []stored{
		{id: "m1", gen: gen, state: message.Sending, src: [2]int64{0, 1}},
		{id: "m2", gen: gen, state: message.Queued, due: now.Add(-time.Minute), src: [2]int64{0, 2}},
		{id: "m3", gen: gen, state: message.Held, due: inf, reason: "fraud_hold", detail: "pumping", hrange: "99559", held: true, src: [2]int64{0, 3}},
		{id: "m4", gen: gen, state: message.Rejected, reason: "invalid", detail: "bad destination", src: [2]int64{0, 4}},
		{id: "m5", gen: gen, state: message.Scheduled, due: now.Add(time.Hour), src: [2]int64{0, 5}},
		{id: "m6", gen: gen, state: message.Sending, src: [2]int64{0, 6}},
		{id: "m7", gen: gen, state: message.Held, due: inf, reason: "content", detail: "spam words", held: true, src: [2]int64{0, 8}},
		{id: "m8", gen: gen, state: message.Rejected, reason: "opted_out", detail: "opted out", src: [2]int64{0, 9}},
		{id: "m9", gen: gen, state: message.Scheduled, due: now.Add(2 * time.Hour), src: [2]int64{0, 10}},
		{id: "m10", gen: gen, state: message.Sending, src: [2]int64{0, 11}},
		{id: "old1", gen: oldGen, state: message.Sending, src: [2]int64{4, 40}},
		{id: "oldX", gen: oldGen, state: message.Sending, src: [2]int64{4, 200}},
	} {
		t.Run("stored "+c.id, func(t *testing.T) {
			r := v2One(t, st, c.id)
			if r.Gen != c.gen || r.State != c.state {
				t.Errorf("gen %d state %v, want %d %v", r.Gen, r.State, c.gen, c.state)
			}
			if !v2SameTime(r.Due, c.due) {
				t.Errorf("due %v, want %v", r.Due, c.due)
			}
			if v2Str(r.Reason) != orNil(c.reason) || v2Str(r.Detail) != orNil(c.detail) || v2Str(r.HoldRange) != orNil(c.hrange) {
				t.Errorf("reason %q detail %q range %q, want %q %q %q", v2Str(r.Reason), v2Str(r.Detail), v2Str(r.HoldRange), c.reason, c.detail, c.hrange)
			}
			if (r.HeldAt != nil) != c.held {
				t.Errorf("held_at %v, want set=%v", r.HeldAt, c.held)
			}
			if r.Owner != nil {
				t.Errorf("owner %q on a fresh row", *r.Owner)
			}
			if int64(r.SrcPartition) != c.src[0] || r.SrcOffset != c.src[1] {
				t.Errorf("src %d/%d, want %v", r.SrcPartition, r.SrcOffset, c.src)
			}
			if b, ok := batches[c.id]; ok && r.Batch != b {
				t.Errorf("batch %d, want %d", r.Batch, b)
			}
		})
	}
	// The row written by the fallback path carries the message's fields.
	m9 := v2One(t, st, "m9")
	if !slices.Equal(m9.Tried, []string{"opa", "opb"}) || m9.Attempt != 3 || v2Str(m9.Meta) != `{"k":"v"}` || m9.Netwk != "28201" ||
		v2Str(m9.Operator) != "op1" || m9.Account != "acme" || m9.Dest != "995599000001" || m9.Priority != 5 {
		t.Errorf("m9 stored as %+v", m9)
	}
	if n := v2Count(t, st, `SELECT count(*) FROM messages`); n != 12 {
		t.Errorf("%d messages rows, want 12", n)
	}
}

func orNil(s string) string {
	if s == "" {
		return "<nil>"
	}
	return s
}
