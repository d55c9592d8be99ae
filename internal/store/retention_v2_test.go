package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smsgate/smsgate/internal/message"
)

func v2Exists(t *testing.T, st *Store, table string) bool {
	t.Helper()
	var ok bool
	if err := st.Pool.QueryRow(context.Background(), `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

// DropExpired: receipts and MO leave after the messages retention (their
// verdicts folded into attempts first), attempts and charges after the
// ledger retention, an old messages generation leaves with its parked
// rows carried into the current one.
func TestV2DropExpired(t *testing.T) {
	st := v2Store(t)
	ctx := context.Background()
	pg := st.Pool
	now := v2Now()
	gen := st.Gen(now)
	day := Day(now)
	oldDay, midDay := day-40, day-20
	oldT, midT := DayStart(oldDay).Add(9*time.Hour), DayStart(midDay).Add(9*time.Hour)
	oldGen, midGen := st.Gen(oldT), st.Gen(midT)
	for _, t0 := range []time.Time{oldT, midT} {
		if err := st.EnsurePartitions(ctx, t0, t0); err != nil {
			t.Fatal(err)
		}
	}
	inf := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

	// The old generation: sent, rejected and parked rows.
	v2Insert(t, st, oldT,
		IntentRow{M: v2Msg("oldsent", func(m *message.Message) { m.Parts = 2 }), State: message.Sending},
		IntentRow{M: v2Msg("oldrej"), State: message.Rejected, Reason: "invalid"},
		IntentRow{M: v2Msg("oldq", func(m *message.Message) { m.Tried, m.Attempt = []string{"op0"}, 2 }), State: message.Queued, Due: oldT},
		IntentRow{M: v2Msg("oldheld"), State: message.Held, Due: inf, Reason: "fraud_hold", Detail: "pumping", HoldRange: "99559"},
		IntentRow{M: v2Msg("oldsched"), State: message.Scheduled, Due: now.Add(time.Hour)})
	v2Insert(t, st, midT, IntentRow{M: v2Msg("midsent"), State: message.Sending})
	before := map[string]v2MsgRow{}
	for _, id := range []string{"oldq", "oldheld", "oldsched"} {
		before[id] = v2One(t, st, id)
	}
	b := v2Batch(t, st, "journal")
	att := func(id string, g int32, part int16, at time.Time) AttemptRow {
		r := v2Attempt(id, g, part, 1, "op1", fmt.Sprintf("%s-%d", id, part), message.Submitted, at)
		r.Parts, r.Charged, r.Price, r.Cost = 2, true, 30_000, 12_000
		return r
	}
	v2Tx(t, st, func(tx pgx.Tx) error {
		if err := AppendAttempts(ctx, tx, b, []AttemptRow{
			att("oldsent", oldGen, 1, oldT), att("oldsent", oldGen, 2, oldT), att("midsent", midGen, 1, midT),
		}); err != nil {
			return err
		}
		if err := AppendReceipts(ctx, tx, b, []ReceiptRow{
			{MessageID: "oldsent", Part: 1, Attempt: 1, Day: oldDay, Operator: "op1", State: message.Submitted, Stat: "ENROUTE", ReceivedAt: oldT.Add(time.Minute)},
			{MessageID: "oldsent", Part: 1, Attempt: 1, Day: oldDay, Operator: "op1", State: message.Delivered, Stat: "DELIVRD", ReceivedAt: oldT.Add(2 * time.Minute)},
			{MessageID: "oldsent", Part: 1, Attempt: 1, Day: oldDay, Operator: "op1", State: message.Undeliverable, Stat: "UNDELIV", ReceivedAt: oldT.Add(3 * time.Minute)},
			{MessageID: "oldsent", Part: 2, Attempt: 1, Day: oldDay, Operator: "op1", State: message.Submitted, Stat: "ENROUTE", ReceivedAt: oldT.Add(time.Minute)},
			{MessageID: "midsent", Part: 1, Attempt: 1, Day: midDay, Operator: "op1", State: message.Delivered, Stat: "DELIVRD", ReceivedAt: midT.Add(time.Minute)},
		}); err != nil {
			return err
		}
		if _, err := AppendCharges(ctx, tx, b, []ChargeRow{{MessageID: "oldsent", Part: 1, Attempt: 1, Day: oldDay, Kind: ChargeCostOnDeliv,
			Account: "acme", Operator: "op1", Destination: "995599000001", CountryPrefix: "995", SubmittedAt: oldT, Status: "delivered",
			Cost: 500, CostCurrency: "EUR", Currency: "EUR", Month: oldT.Format("2006-01")}}); err != nil {
			return err
		}
		if _, err := InsertMO(ctx, tx, b, []MORow{
			{ID: "mo-old", Operator: "op1", From: "995599000001", To: "1234", Text: "old", Parts: 1, ReceivedAt: oldT},
			{ID: "mo-mid", Operator: "op1", From: "995599000001", To: "1234", Text: "mid", Parts: 1, ReceivedAt: midT},
		}, []string{"", ""}); err != nil {
			return err
		}
		_, err := InsertEarly(ctx, tx, []EarlyReceipt{
			{Operator: "op1", Keys: []string{"e1"}, SMSCID: "E1", State: message.Delivered, DoneAt: oldT, ReceivedAt: oldT},
			{Operator: "op1", Keys: []string{"e2"}, SMSCID: "E2", State: message.Delivered, DoneAt: now, ReceivedAt: now},
		})
		return err
	})
	for _, l := range []string{"rec-old", "rec-new", "live-old"} {
		if err := RegisterLane(ctx, pg, l, "x", "intents"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pg.Exec(ctx, `UPDATE lanes SET recovered = id LIKE 'rec-%', created = CASE WHEN id LIKE '%-old' THEN $1 ELSE created END`, oldT); err != nil {
		t.Fatal(err)
	}
	// A receipts partition before its drop holds the verdicts.
	if n := v2Count(t, st, `SELECT count(*) FROM attempts WHERE final_state IS NOT NULL`); n != 0 {
		t.Fatalf("%d attempts have a final_state before retention", n)
	}

	name := func(parent string, lo int32) string { return fmt.Sprintf("%s_%d", parent, lo) }
	steps := []struct {
		name             string
		messages, ledger time.Duration
		dropped          []string
		moved            int64
		check            func(t *testing.T)
	}{
		{"messages retention passed", 30 * 24 * time.Hour, 90 * 24 * time.Hour,
			[]string{name("messages", oldGen), name("mo", oldDay), name("receipts", oldDay)}, 3, func(t *testing.T) {
				// Receipts folded: the first final receipt decided.
				rows, _ := pg.Query(ctx, `SELECT final_state FROM attempts WHERE message_id = 'oldsent' ORDER BY part`)
				fs, err := pgx.CollectRows(rows, pgx.RowTo[*int16])
				if err != nil || len(fs) != 2 || fs[0] == nil || *fs[0] != int16(message.Delivered) || fs[1] != nil {
					t.Errorf("oldsent final states %v (%v), want [4 NULL]", v2Deref(fs), err)
				}
				var status string
				if err := pg.QueryRow(ctx, `SELECT status FROM ledger WHERE message_id = 'oldsent' AND part = 1`).Scan(&status); err != nil || status != "delivered" {
					t.Errorf("ledger status of oldsent part 1: %q %v, want delivered", status, err)
				}
				if n := v2Count(t, st, `SELECT count(*) FROM charges WHERE message_id = 'oldsent'`); n != 1 {
					t.Errorf("charges of oldsent: %d, want 1 (ledger retention not passed)", n)
				}
				if n := v2Count(t, st, `SELECT count(*) FROM receipts WHERE message_id = 'midsent'`); n != 1 {
					t.Errorf("receipts of midsent: %d, want 1", n)
				}
				if n := v2Count(t, st, `SELECT count(*) FROM mo`); n != 1 {
					t.Errorf("%d mo rows, want 1 (mo-mid)", n)
				}
				for _, id := range []string{"oldsent", "oldrej"} {
					if rs := v2Rows(t, st, id); len(rs) != 0 {
						t.Errorf("%s still stored: %+v", id, rs)
					}
				}
				if rs := v2Rows(t, st, "midsent"); len(rs) != 1 {
					t.Errorf("midsent rows %+v", rs)
				}
				// Parked rows carried into the current generation as they were.
				for id, was := range before {
					r := v2One(t, st, id)
					if r.Gen != gen {
						t.Errorf("%s in gen %d, want %d", id, r.Gen, gen)
					}
					r.Gen, was.Gen = 0, 0
					if v2Describe(r) != v2Describe(was) {
						t.Errorf("%s carried as\n%s\nwas\n%s", id, v2Describe(r), v2Describe(was))
					}
				}
				if n := v2Count(t, st, `SELECT count(*) FROM early_receipts`); n != 1 {
					t.Errorf("%d early receipts, want 1", n)
				}
				var lanes []string
				rows, _ = pg.Query(ctx, `SELECT id FROM lanes ORDER BY id`)
				lanes, _ = pgx.CollectRows(rows, pgx.RowTo[string])
				if !slices.Equal(lanes, []string{"live-old", "rec-new"}) {
					t.Errorf("lanes %v, want [live-old rec-new]", lanes)
				}
				// The dedupe window moved: an expired id is new again, a
				// carried one is not.
				res, _ := v2Insert(t, st, now, IntentRow{M: v2Msg("oldrej"), State: message.Sending}, IntentRow{M: v2Msg("oldq"), State: message.Sending})
				if !res[0].New || res[1].New || res[1].Existing.Gen != gen {
					t.Errorf("after retention: %+v", res)
				}
				ms, err := TakeParked(ctx, pg, "op1", "A", 10, time.Minute)
				if err != nil || !slices.Equal(v2IDs(ms), []string{"oldq"}) {
					t.Errorf("took %v (%v), want [oldq]", v2IDs(ms), err)
				} else if ms[0].Attempt != 2 || !slices.Equal(ms[0].Tried, []string{"op0"}) {
					t.Errorf("carried oldq %+v", ms[0])
				}
			}},
		{"ledger retention passed", 30 * 24 * time.Hour, 35 * 24 * time.Hour,
			[]string{name("attempts", oldDay), name("charges", oldDay)}, 0, func(t *testing.T) {
				if n := v2Count(t, st, `SELECT count(*) FROM attempts`); n != 1 {
					t.Errorf("%d attempts rows, want 1 (midsent)", n)
				}
				if n := v2Count(t, st, `SELECT count(*) FROM ledger`); n != 1 {
					t.Errorf("%d ledger rows, want 1 (midsent)", n)
				}
			}},
		{"nothing more", 30 * 24 * time.Hour, 35 * 24 * time.Hour, nil, 0, func(t *testing.T) {}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			got, err := st.DropExpired(ctx, now, s.messages, s.ledger)
			if err != nil {
				t.Fatal(err)
			}
			if g := v2Sorted(got.Partitions); !slices.Equal(g, v2Sorted(s.dropped)) && !(len(g) == 0 && len(s.dropped) == 0) {
				t.Errorf("dropped %v, want %v", g, v2Sorted(s.dropped))
			}
			if got.Moved != s.moved {
				t.Errorf("moved %d, want %d", got.Moved, s.moved)
			}
			for _, p := range s.dropped {
				if v2Exists(t, st, p) {
					t.Errorf("%s still exists", p)
				}
			}
			for _, p := range []string{name("messages", midGen), name("receipts", midDay), name("mo", midDay), name("attempts", midDay), name("messages", gen)} {
				if !v2Exists(t, st, p) {
					t.Errorf("%s dropped", p)
				}
			}
			s.check(t)
		})
	}
}

func v2Deref(ps []*int16) []any {
	out := make([]any, len(ps))
	for i, p := range ps {
		if p == nil {
			out[i] = nil
		} else {
			out[i] = *p
		}
	}
	return out
}
