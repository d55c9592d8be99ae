package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/smsgate/smsgate/internal/message"
)

// Every column the binary COPY encoders write reads back as written:
// NULLs, timestamps at microsecond precision (before and after 2000),
// arrays, bytes that are not UTF-8 (bytea), negative and large integers.
func TestCopyBinRoundTrip(t *testing.T) {
	st := v2Store(t)
	ctx := context.Background()
	now := v2Now()
	if err := st.EnsurePartitions(ctx, now.Add(-48*time.Hour), now.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	old := time.Date(1999, 12, 31, 23, 59, 59, 123456000, time.UTC)
	err := pgx.BeginFunc(ctx, st.Pool, func(tx pgx.Tx) error {
		b, err := BeginBatch(ctx, tx, "t/copybin")
		if err != nil {
			return err
		}
		if err := AppendAttempts(ctx, tx, b, []AttemptRow{
			{MessageID: "a1", Gen: 7, Part: 2, Attempt: 3, Parts: 4, Operator: "op", Bind: -1, Seq: 4_000_000_000,
				SMSCID: []byte{0xff, 0x00, 'x'}, SMSCKey: "~ff0078", State: message.Submitted, Code: 0x58,
				SubmittedAt: now, RespAt: old, Account: "acme", Destination: "995599", CountryPrefix: "995", Network: "28201",
				Charged: true, Cost: -12, CostCurrency: "EUR", Price: 1 << 40, Currency: "USD", Month: "2026-12"},
			{MessageID: "a2", Gen: 7, Part: 1, Attempt: 1, Parts: 1, Operator: "op", State: message.Unknown, SubmittedAt: now,
				Account: "acme", Destination: "1", CountryPrefix: "", Currency: "", CostCurrency: "", Month: "2026-12"},
		}); err != nil {
			return err
		}
		return AppendReceipts(ctx, tx, b, []ReceiptRow{
			{MessageID: "a1", Part: 2, Attempt: 3, Day: Day(now), Operator: "op", SMSCID: []byte("id\x01"), State: message.Delivered,
				Stat: "DELIVRD", Err: "000", Reason: "r", Code: "c", DoneAt: old, ReceivedAt: now},
			{MessageID: "a2", Part: 1, Attempt: 1, Day: Day(now), Operator: "op", State: message.Expired, ReceivedAt: now},
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	str := func(q string, args ...any) string {
		var s string
		if err := st.Pool.QueryRow(ctx, q, args...).Scan(&s); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return s
	}
	got := str(`SELECT string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s',
		message_id, gen, day, part, attempt, parts, operator, coalesce(bind::text, 'N'), seq, coalesce(encode(smsc_id, 'hex'), 'N'),
		coalesce(smsc_key, 'N'), state, coalesce(code::text, 'N'), submitted_at = $1, coalesce((resp_at AT TIME ZONE 'UTC')::text, 'N'), account,
		destination, country_prefix, network, charged, cost, cost_currency, price, currency, month), ' / ' ORDER BY message_id) FROM attempts`, now)
	want := fmt.Sprintf("a1|7|%d|2|3|4|op|-1|-294967296|ff0078|~ff0078|2|88|t|1999-12-31 23:59:59.123456|acme|995599|995|28201|t|-12|EUR|1099511627776|USD|2026-12 / "+
		"a2|7|%d|1|1|1|op|0|0|N|N|3|N|t|N|acme|1|||f|0||0||2026-12", Day(now), Day(now))
	if got != want {
		t.Errorf("attempts:\n got %s\nwant %s", got, want)
	}
	got = str(`SELECT string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s', message_id, part, attempt, day = $2, operator,
		coalesce(encode(smsc_id, 'hex'), 'N'), state, stat, coalesce(err, 'N'), coalesce(reason, 'N'), coalesce(code, 'N'),
		coalesce((done_at AT TIME ZONE 'UTC')::text, 'N'), received_at = $1), ' / ' ORDER BY message_id) FROM receipts`, now, Day(now))
	want = "a1|2|3|t|op|696401|4|DELIVRD|000|r|c|1999-12-31 23:59:59.123456|t / a2|1|1|t|op|N|6||N|N|N|N|t"
	if got != want {
		t.Errorf("receipts:\n got %s\nwant %s", got, want)
	}
}
