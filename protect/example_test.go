package protect_test

import (
	"fmt"
	"slices"
	"time"

	"github.com/smsgate/smsgate/protect"
)

// The integrator's wiring in short: rules from the config, the blocklist
// from Postgres, holds reported to a bounded queue, Check at ingest,
// Recheck at dispatch, receipts fed back.
func Example() {
	holds := make(chan protect.RangeHold, 1024) // bounded; a full queue counts a drop
	g, err := protect.New(protect.Rules{
		Blocklist: true,
		Senders:   []protect.SenderRule{{Country: "995", Alphanumeric: true, Numeric: false, ReplaceWith: "INFO"}},
		Content:   []protect.ContentRule{{Pattern: `bit\.ly/`, Action: protect.Reject}},
		Loop:      &protect.LoopRules{Max: 30, Per: 30 * time.Second},
		Pumping: &protect.PumpingRules{PrefixDigits: 4, MaxPerMinute: 2, MinDeliveryRate: 0.2, MinSamples: 50,
			HoldFor: 30 * time.Minute, Default: protect.ModeBlock},
	}, protect.Options{OnHold: func(h protect.RangeHold) {
		select {
		case holds <- h:
		default: // count the drop
		}
	}})
	if err != nil {
		panic(err)
	}
	g.Blocklist().Replace(slices.Values([]string{"995599000001"}))

	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, m := range []protect.Message{
		{Account: "acme", Sender: "ACME", Dest: "995599000001", Text: "hi"},
		{Account: "acme", Sender: "4422", Dest: "995599000002", Text: "hi"},
		{Account: "acme", Sender: "ACME", Dest: "995599000003", Text: "see bit.ly/x"},
		{Account: "acme", Sender: "ACME", Dest: "995599000004", Text: "hi"},
		{Account: "acme", Sender: "ACME", Dest: "995599000005", Text: "hi"},
	} {
		v := g.Check(&m, now)
		fmt.Printf("%s %s %s %q\n", m.Dest, v.Action, v.Reason, v.ReplacedSender)
	}
	h := <-holds
	fmt.Println("held", h.Account, h.Range, h.Cause, h.Until.Sub(h.Since))
	// Output:
	// 995599000001 reject blocked ""
	// 995599000002 allow  "INFO"
	// 995599000003 reject content ""
	// 995599000004 allow  ""
	// 995599000005 hold fraud_hold ""
	// held acme 99559900 velocity 30m0s
}
