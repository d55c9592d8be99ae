package billing

import (
	"errors"
	"math"
	"testing"
)

func TestShouldBill(t *testing.T) {
	// Every policy × every event, including values outside the enums.
	want := map[ChargeOn]map[PartEvent]bool{
		ChargeOnSubmit: {
			EventAccepted:         true,
			EventUnknown:          false, // not until a receipt proves acceptance
			EventReceiptDelivered: true,
			EventReceiptFailed:    true, // any receipt proves the SMSC took it
			EventRejected:         false,
			"bogus":               false,
		},
		ChargeOnDelivered: {
			EventAccepted:         false,
			EventUnknown:          false,
			EventReceiptDelivered: true,
			EventReceiptFailed:    false,
			EventRejected:         false,
			"bogus":               false,
		},
		"":      {EventAccepted: false, EventUnknown: false, EventReceiptDelivered: false, EventReceiptFailed: false, EventRejected: false, "bogus": false},
		"bogus": {EventAccepted: false, EventUnknown: false, EventReceiptDelivered: false, EventReceiptFailed: false, EventRejected: false, "bogus": false},
	}
	for policy, events := range want {
		for ev, w := range events {
			if got := ShouldBill(policy, ev); got != w {
				t.Errorf("ShouldBill(%q, %q) = %v, want %v", policy, ev, got, w)
			}
		}
	}
}

func TestParseChargeOn(t *testing.T) {
	good := map[string]ChargeOn{"": ChargeOnSubmit, "submit": ChargeOnSubmit, "delivered": ChargeOnDelivered}
	for in, w := range good {
		if got, err := ParseChargeOn(in); err != nil || got != w {
			t.Errorf("ParseChargeOn(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"Submit", "delivery", " submit"} {
		if _, err := ParseChargeOn(in); err == nil {
			t.Errorf("ParseChargeOn(%q): want error", in)
		}
	}
}

func TestEntryRow(t *testing.T) {
	e := Entry{MessageID: "a1", Part: 2, Attempt: 3, Account: "acme", Operator: "magti", Destination: "995599123456",
		CountryPrefix: "995", Network: "28202", SubmittedAt: ts("2026-11-23T10:00:01.12Z"), Status: "delivered",
		Cost: 12000, Price: 30000, Currency: "EUR", CostCurrency: "USD"}
	want := BillingRow{MessageID: "a1", Part: 2, Account: "acme", Operator: "magti", Destination: "995599123456",
		CountryPrefix: "995", SubmittedAt: e.SubmittedAt, Status: "delivered", Cost: 12000, Price: 30000, Currency: "EUR"}
	if got := e.Row(); got != want {
		t.Errorf("Row() = %+v, want %+v", got, want)
	}
}

func TestMoney(t *testing.T) {
	a := Money{mustAmount(t, "0.012"), "EUR"}
	b := Money{mustAmount(t, "0.018"), "EUR"}
	s, err := a.Add(b)
	if err != nil || s.String() != "0.03 EUR" {
		t.Errorf("0.012 + 0.018 = %v, %v", s, err)
	}
	if _, err := a.Add(Money{1, "USD"}); !errors.Is(err, ErrCurrencyMismatch) {
		t.Errorf("EUR + USD: err = %v", err)
	}
	if _, err := (Money{math.MaxInt64, "EUR"}).Add(Money{1, "EUR"}); !errors.Is(err, ErrOverflow) {
		t.Errorf("overflow: err = %v", err)
	}
	if _, err := (Money{math.MinInt64, "EUR"}).Add(Money{-1, "EUR"}); !errors.Is(err, ErrOverflow) {
		t.Errorf("negative overflow: err = %v", err)
	}
	if s, err := (Money{math.MaxInt64, "EUR"}).Add(Money{math.MinInt64, "EUR"}); err != nil || s.Amount != -1 {
		t.Errorf("mixed signs: %v, %v", s, err)
	}

	tot := Totals{}
	for _, m := range []Money{a, b, {mustAmount(t, "2"), "USD"}, {mustAmount(t, "0.5"), "GEL"}} {
		if err := tot.Add(m); err != nil {
			t.Fatal(err)
		}
	}
	if got := tot.String(); got != "0.03 EUR, 0.5 GEL, 2 USD" {
		t.Errorf("Totals not sorted by currency: %q", got)
	}
	if err := tot.Add(Money{math.MaxInt64, "EUR"}); !errors.Is(err, ErrOverflow) {
		t.Errorf("totals overflow: %v", err)
	}
	if tot["EUR"] != 30000 {
		t.Errorf("failed add changed the total: %s", tot["EUR"])
	}
}
