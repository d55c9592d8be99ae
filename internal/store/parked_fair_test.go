package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/smsgate/smsgate/internal/message"
)

// Due rows are handed back with accounts taking turns within a priority
// (each one's oldest first), not one account's backlog ahead of another's;
// priority still comes first, and the result is in due order.
func TestTakeParkedTurnsAcrossAccounts(t *testing.T) {
	st := v2Store(t)
	ctx := context.Background()
	now := v2Now()
	var rows []IntentRow
	for i := 0; i < 100; i++ { // big's backlog, parked first
		rows = append(rows, IntentRow{M: v2Msg(fmt.Sprintf("big%03d", i), func(m *message.Message) { m.Account = "big" }),
			State: message.Queued, Due: now.Add(-time.Hour + time.Duration(i)*time.Second)})
	}
	for i := 0; i < 20; i++ {
		rows = append(rows, IntentRow{M: v2Msg(fmt.Sprintf("small%02d", i), func(m *message.Message) { m.Account = "small" }),
			State: message.Queued, Due: now.Add(-time.Minute + time.Duration(i)*time.Second)})
	}
	rows = append(rows, IntentRow{M: v2Msg("urgent", func(m *message.Message) { m.Account = "big"; m.Priority = 9 }),
		State: message.Queued, Due: now.Add(-time.Second)})
	v2Insert(t, st, now, rows...)

	got, err := TakeParked(ctx, st.Pool, "op1", "me", 41, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 41 || got[0].ID != "urgent" {
		t.Fatalf("took %d, first %s; want 41, urgent first", len(got), got[0].ID)
	}
	next := map[string]int{}
	for _, m := range got[1:] {
		if want := fmt.Sprintf("%s%0*d", m.Account, map[string]int{"big": 3, "small": 2}[m.Account], next[m.Account]); m.ID != want {
			t.Fatalf("took %s, want %s (each account's oldest first, in order)", m.ID, want)
		}
		next[m.Account]++
	}
	if next["small"] != 20 || next["big"] != 20 {
		t.Fatalf("took big %d, small %d; want 20 each", next["big"], next["small"])
	}
}

// BenchmarkTakeParkedLargeSet: one take of 500 due rows with accounts
// taking turns, against 200,000 due rows of one account and 2,000 of
// another (go test -run XXX -bench TakeParkedLargeSet ./internal/store/).
func BenchmarkTakeParkedLargeSet(b *testing.B) {
	st := v2Store(b)
	ctx := context.Background()
	now := v2Now()
	for chunk := 0; chunk < 101; chunk++ {
		rows := make([]IntentRow, 0, 2000)
		acct := "a"
		if chunk == 100 {
			acct = "b"
		}
		for i := 0; i < 2000; i++ {
			rows = append(rows, IntentRow{M: v2Msg(fmt.Sprintf("%s%d-%d", acct, chunk, i), func(m *message.Message) { m.Account = acct }),
				State: message.Queued, Due: now.Add(-time.Hour + time.Duration(chunk*2000+i)*time.Millisecond)})
		}
		v2Insert(b, st, now, rows...)
	}
	if _, err := st.Pool.Exec(ctx, `ANALYZE messages`); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		got, err := TakeParked(ctx, st.Pool, "op1", "me", 500, time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != 500 {
			b.Fatalf("took %d of 500", len(got))
		}
	}
}
