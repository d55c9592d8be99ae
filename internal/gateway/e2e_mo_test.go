package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/smsgate/smsgate/pkg/smppsim"
	"github.com/smsgate/smsgate/smpp/coding"
)

func moEvents(e *env) []map[string]any {
	e.events.mu.Lock()
	defer e.events.mu.Unlock()
	return append([]map[string]any{}, e.events.mo...)
}

// A multipart MO whose parts straddle a gateway restart is published once,
// whole; parts that never complete are published after the reassembly
// timeout with incomplete and parts_missing.
func TestMOAcrossRestartAndTimeout(t *testing.T) {
	e := newEnv(t, twoOperators(smppsim.Options{}, smppsim.Options{}), baseRouting+"mo: {reassembly_timeout: 2s, keywords: [VOTE]}\n")
	e.start()
	waitFor(t, 10*time.Second, "bound", func() bool { return e.gw.pools["magti"].Usable() })
	text := "VOTE ✅ ნაწილი პირველი და მეორე და მესამე — a long reply in Georgian with emoji 🎉 that needs three UCS-2 parts to travel whole, so it goes on a little longer here"
	parts, err := coding.Split(text, coding.UCS2, coding.SplitOptions{Concat: coding.UDH8, Ref: 77})
	if err != nil || len(parts) != 3 {
		t.Fatalf("want 3 parts: %d %v", len(parts), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Parts 3 and 1 before the restart, part 2 after it.
	if err := e.sims["magti"].InjectMO(ctx, smppsim.MO{SystemID: "acme", From: "995599222222", To: "4422", Text: text,
		Encoding: coding.UCS2, Ref: 77, Order: []int{3, 1}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "two parts stored", func() bool {
		var n int
		_ = e.st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM mo_parts`).Scan(&n)
		return n == 2
	})
	e.stop()
	e.start()
	waitFor(t, 10*time.Second, "bound again", func() bool { return e.gw.pools["magti"].Usable() })
	if err := e.sims["magti"].InjectMO(ctx, smppsim.MO{SystemID: "acme", From: "995599222222", To: "4422", Text: text,
		Encoding: coding.UCS2, Ref: 77, Order: []int{2}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the whole MO on sms.mo", func() bool { return len(moEvents(e)) >= 1 })
	mo := moEvents(e)[0]
	if mo["text"] != text || mo["parts"].(float64) != 3 || mo["keyword"] != "VOTE" || mo["incomplete"] != nil {
		t.Errorf("reassembled MO: %v", mo)
	}
	// Only part 1 of another message: published incomplete after the timeout.
	if err := e.sims["magti"].InjectMO(ctx, smppsim.MO{SystemID: "acme", From: "995599333333", To: "4422", Text: text,
		Encoding: coding.UCS2, Ref: 78, Order: []int{1}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "incomplete MO", func() bool { return len(moEvents(e)) >= 2 })
	inc := moEvents(e)[1]
	if inc["incomplete"] != true || len(inc["parts_missing"].([]any)) != 2 || inc["from"] != "995599333333" {
		t.Errorf("incomplete MO: %v", inc)
	}
	var stored int
	_ = e.st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM mo`).Scan(&stored)
	if stored != 2 {
		t.Errorf("mo table has %d rows, want 2", stored)
	}
}

// A keyword MO with an auto_reply gets the reply through the pipeline,
// from the number the subscriber wrote to, once.
func TestAutoReply(t *testing.T) {
	e := newEnv(t, twoOperators(smppsim.Options{}, smppsim.Options{}), baseRouting+`marketing:
  stop_keywords: [STOP]
mo:
  auto_reply: {stop: "You are unsubscribed from ACME. Reply START to rejoin."}
`)
	e.start()
	waitFor(t, 10*time.Second, "bound", func() bool { return e.gw.pools["magti"].Usable() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.sims["magti"].InjectMO(ctx, smppsim.MO{SystemID: "acme", From: "995599444444", To: "4422", Text: "Stop"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "reply at the SMSC", func() bool { return submitsTo(e.sims["magti"])["995599444444"] == 1 })
	for _, s := range e.sims["magti"].Submits() {
		if s.Dest == "995599444444" && (s.Source != "4422" || string(s.ShortMessage) != "You are unsubscribed from ACME. Reply START to rejoin.") {
			t.Errorf("reply %q from %q", s.ShortMessage, s.Source)
		}
	}
	time.Sleep(500 * time.Millisecond)
	if n := submitsTo(e.sims["magti"])["995599444444"]; n != 1 {
		t.Errorf("reply sent %d times", n)
	}
}
