package protect

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smsgate/smsgate/internal/config"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func mustGuard(t testing.TB, r Rules, o Options) *Guard {
	t.Helper()
	g, err := New(r, o)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestSenderRules(t *testing.T) {
	rules := []SenderRule{
		{Country: "995", Operator: "magti", Alphanumeric: false, Numeric: true},                     // 0
		{Country: "995", Alphanumeric: true, Numeric: false, ReplaceWith: "INFO"},                   // 1
		{Country: "995", Alphanumeric: false, Numeric: true},                                        // 2: shadowed by 1
		{Country: "44", Alphanumeric: true, Numeric: false},                                         // 3: reject numeric
		{Country: "7", Operator: "mts", Alphanumeric: true, Numeric: false, ReplaceWith: "MTSINFO"}, // 4
		{Country: "", Alphanumeric: true, Numeric: true},                                            // 5: anything else
	}
	tests := []struct {
		name, dest, op, sender string
		wantOK                 bool
		wantRepl               string
	}{
		{"alnum to 995 allowed by rule 1", "995599123456", "", "ACME", true, ""},
		{"numeric to 995 replaced by rule 1", "995599123456", "", "995599000111", true, "INFO"},
		{"short code counts as numeric", "995599123456", "", "4422", true, "INFO"},
		{"8-digit short code numeric", "995599123456", "", "12345678", true, "INFO"},
		{"+digits numeric", "995599123456", "silknet", "+4420794", true, "INFO"},
		{"operator rule beats earlier generic", "995599123456", "magti", "4422", true, ""},
		{"operator rule rejects alnum", "995599123456", "magti", "ACME", false, ""},
		{"operator rule of other op ignored", "995599123456", "silknet", "ACME", true, ""},
		{"numeric to 44 rejected", "447700900123", "", "4422", false, ""},
		{"alnum to 44 allowed", "447700900123", "", "ACME", true, ""},
		{"digits with letter is alnum", "447700900123", "", "4422A", true, ""},
		{"plus alone is alnum", "447700900123", "", "+", true, ""},
		{"7 without operator: generic rule", "79161234567", "", "4422", true, ""},
		{"7 with mts replaced", "79161234567", "mts", "4422", true, "MTSINFO"},
		{"unknown country uses any-country rule", "12125550100", "", "ACME", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mustGuard(t, Rules{Senders: rules}, Options{})
			v := g.Check(&Message{Account: "acme", Sender: tt.sender, Dest: tt.dest, Operator: tt.op, Text: "hi"}, t0)
			if ok := v.Action == Allow; ok != tt.wantOK || v.ReplacedSender != tt.wantRepl {
				t.Fatalf("verdict %+v; want ok %v replacement %q", v, tt.wantOK, tt.wantRepl)
			}
			if !tt.wantOK && v.Reason != ReasonSenderNotAllowed {
				t.Fatalf("reason %q, want sender_not_allowed", v.Reason)
			}
		})
	}
	// No rule for a country and no catch-all: allowed.
	g := mustGuard(t, Rules{Senders: rules[:2]}, Options{})
	if v := g.Check(&Message{Sender: "4422", Dest: "447700900123"}, t0); v.Action != Allow || v.ReplacedSender != "" {
		t.Errorf("no matching rule: %+v", v)
	}
}

func TestSenderRuleReplacementValidated(t *testing.T) {
	_, err := New(Rules{Senders: []SenderRule{{Country: "995", Alphanumeric: true, Numeric: false, ReplaceWith: "4422"}}}, Options{})
	if err == nil {
		t.Fatal("numeric replacement under a rule that forbids numeric senders was accepted")
	}
}

func TestContentRules(t *testing.T) {
	rules := []ContentRule{
		{Pattern: `bit\.ly/`, Action: Reject},
		{Account: "bank", Pattern: `(?i)\bloan\b`, Action: Hold},
		{Pattern: `(?i)casino`, Action: Hold},
		{Pattern: `(?i)\bloan\b`, Action: Reject},
	}
	tests := []struct {
		name, account, text string
		want                Action
		pattern             string
	}{
		{"literal dot", "acme", "see bit.ly/x", Reject, `bit\.ly/`},
		{"dot is literal", "acme", "see bitxly/x", Allow, ""},
		{"case-sensitive unless (?i)", "acme", "see BIT.LY/x", Allow, ""},
		{"account rule first for its account", "bank", "Cheap LOAN today", Hold, `(?i)\bloan\b`},
		{"other account skips account rule", "acme", "Cheap LOAN today", Reject, `(?i)\bloan\b`},
		{"first match wins", "acme", "casino loan bit.ly/", Reject, `bit\.ly/`},
		{"hold", "acme", "Best CASINO", Hold, `(?i)casino`},
		{"word boundary", "acme", "sloany", Allow, ""},
		{"empty text", "acme", "", Allow, ""},
	}
	g := mustGuard(t, Rules{Content: rules}, Options{})
	for _, tt := range tests {
		v := g.Check(&Message{Account: tt.account, Sender: "ACME", Dest: "995599123456", Text: tt.text}, t0)
		if v.Action != tt.want || v.Detail != tt.pattern {
			t.Errorf("%s: %+v, want %v by %q", tt.name, v, tt.want, tt.pattern)
		}
		if tt.want != Allow && v.Reason != ReasonContent {
			t.Errorf("%s: reason %q", tt.name, v.Reason)
		}
	}
	if _, err := New(Rules{Content: []ContentRule{{Pattern: `(`, Action: Reject}}}, Options{}); err == nil {
		t.Error("bad pattern accepted")
	}
	if _, err := New(Rules{Content: []ContentRule{{Pattern: `x`, Action: Monitor}}}, Options{}); err == nil {
		t.Error("action monitor accepted for a content rule")
	}
}

// TestContentNoCatastrophicBacktracking: a pattern that takes exponential
// time in a backtracking engine runs in linear time under RE2; the test
// finishes (go test's timeout is the bound), and the match is correct.
func TestContentNoCatastrophicBacktracking(t *testing.T) {
	g := mustGuard(t, Rules{Content: []ContentRule{{Pattern: `^(a+)+$`, Action: Reject}}}, Options{})
	evil := strings.Repeat("a", 10000) + "!"
	if v := g.Check(&Message{Text: evil, Dest: "995599123456"}, t0); v.Action != Allow {
		t.Errorf("verdict %+v", v)
	}
	if v := g.Check(&Message{Text: strings.Repeat("a", 10000), Dest: "995599123456"}, t0); v.Action != Reject {
		t.Errorf("verdict %+v", v)
	}
}

func TestCheckOrder(t *testing.T) {
	r := Rules{
		Blocklist: true,
		Senders:   []SenderRule{{Country: "995", Alphanumeric: true, Numeric: false}},
		Content:   []ContentRule{{Pattern: "spam", Action: Reject}},
		Loop:      &LoopRules{Max: 1, Per: time.Minute},
		Pumping:   &PumpingRules{PrefixDigits: 4, MaxPerMinute: 1, MinSamples: 1, HoldFor: time.Hour},
	}
	g := mustGuard(t, r, Options{})
	g.Blocklist().Add("995599000001")
	m := func(sender, dest, text string) *Message {
		return &Message{Account: "a", Sender: sender, Dest: dest, Text: text}
	}
	steps := []struct {
		msg  *Message
		want Reason
	}{
		// blocklist before sender and content
		{m("4422", "995599000001", "spam"), ReasonBlocked},
		// sender before content
		{m("4422", "995599000002", "spam"), ReasonSenderNotAllowed},
		// content before loop: the rejected message does not use the
		// pair's one allowed message
		{m("ACME", "995599000002", "spam"), ReasonContent},
		{m("ACME", "995599000002", "hi"), ReasonNone},
		// loop before pumping: the loop reject is not counted in the range
		{m("ACME", "995599000002", "hi"), ReasonLoop},
		// the range (99559900) saw one message: the next one is over 1/min
		{m("ACME", "995599000003", "hi"), ReasonFraudHold},
	}
	for i, s := range steps {
		if v := g.Check(s.msg, t0); v.Reason != s.want {
			t.Fatalf("step %d: %+v, want reason %q", i, v, s.want)
		}
	}
	st := g.Stats()
	if st.Blocked != 1 || st.SenderRejected != 1 || st.ContentRejected != 1 || st.Loop != 1 || st.FraudHeld != 1 || st.RangeHolds != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestRecheckAppliesOperatorRules(t *testing.T) {
	g := mustGuard(t, Rules{
		Blocklist: true,
		Senders: []SenderRule{
			{Country: "995", Operator: "magti", Alphanumeric: true, Numeric: false, ReplaceWith: "MAGTI"},
			{Country: "995", Alphanumeric: true, Numeric: true},
		},
		Loop: &LoopRules{Max: 1, Per: time.Minute},
	}, Options{})
	m := &Message{Account: "a", Sender: "4422", Dest: "995599000001"}
	if v := g.Check(m, t0); v.Action != Allow || v.ReplacedSender != "" {
		t.Fatalf("ingest: %+v", v)
	}
	m.Operator = "magti"
	for i := 0; i < 3; i++ { // Recheck counts nothing: no loop reject
		if v := g.Recheck(m); v.Action != Allow || v.ReplacedSender != "MAGTI" {
			t.Fatalf("dispatch: %+v", v)
		}
	}
	g.Blocklist().Add("995599000001")
	if v := g.Recheck(m); v.Reason != ReasonBlocked {
		t.Fatalf("blocklisted after ingest: %+v", v)
	}
	// A message released from a content hold is not held again.
	if err := g.SetRules(Rules{Content: []ContentRule{{Pattern: "casino", Action: Hold}}}); err != nil {
		t.Fatal(err)
	}
	m = &Message{Account: "a", Sender: "4422", Dest: "995599000002", Text: "casino", Operator: "magti"}
	if v := g.Check(m, t0); v.Action != Hold {
		t.Fatalf("ingest: %+v", v)
	}
	if v := g.Recheck(m); v.Action != Allow {
		t.Fatalf("dispatch after release: %+v", v)
	}
}

func TestBlocklistRuleOff(t *testing.T) {
	bl := NewBlocklist()
	bl.Add("995599000001")
	g := mustGuard(t, Rules{}, Options{Blocklist: bl})
	if v := g.Check(&Message{Dest: "995599000001"}, t0); v.Action != Allow {
		t.Errorf("blocklist off: %+v", v)
	}
	if err := g.SetRules(Rules{Blocklist: true}); err != nil {
		t.Fatal(err)
	}
	if v := g.Check(&Message{Dest: "+995599000001"}, t0); v.Reason != ReasonBlocked {
		t.Errorf("blocklist on: %+v", v)
	}
}

func TestSetRulesKeepsState(t *testing.T) {
	g := mustGuard(t, Rules{Loop: &LoopRules{Max: 2, Per: time.Minute}}, Options{})
	m := &Message{Account: "a", Sender: "S", Dest: "995599000001"}
	g.Check(m, t0)
	g.Check(m, t0)
	if err := g.SetRules(Rules{Loop: &LoopRules{Max: 2, Per: time.Minute}, Content: []ContentRule{{Pattern: "x", Action: Hold}}}); err != nil {
		t.Fatal(err)
	}
	if v := g.Check(m, t0); v.Reason != ReasonLoop {
		t.Errorf("loop state lost on reload: %+v", v)
	}
	if err := g.SetRules(Rules{Content: []ContentRule{{Pattern: "(", Action: Hold}}}); err == nil {
		t.Fatal("bad rules accepted")
	}
	if v := g.Check(&Message{Text: "x", Dest: "995599000002"}, t0); v.Action != Hold {
		t.Errorf("old rules not kept after a failed reload: %+v", v)
	}
}

func TestRulesFromConfig(t *testing.T) {
	p := &config.Protection{
		Blocklist: true,
		Pumping: &config.Pumping{PrefixDigits: 4, MaxPerMinute: 300, MinDeliveryRate: 0.2, MinSamples: 50,
			HoldFor: 30 * time.Minute, Mode: map[string]string{"default": "block", "44": "monitor", "1": "allow"}, Safe: []string{"995599000"}},
		Content: []config.ContentRule{{Pattern: `bit\.ly/`, Regexp: regexp.MustCompile(`bit\.ly/`), Action: "reject"}, {Pattern: "x", Action: "hold"}},
		Senders: []config.SenderRule{{Country: "995", Alphanumeric: true, Numeric: false, ReplaceWith: "INFO"}},
		Loop:    &config.Loop{Max: 30, Per: 30 * time.Second},
	}
	r, err := RulesFromConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	pp := r.Pumping
	if !r.Blocklist || pp.PrefixDigits != 4 || pp.MaxPerMinute != 300 || pp.MinDeliveryRate != 0.2 || pp.MinSamples != 50 ||
		pp.HoldFor != 30*time.Minute || pp.Default != ModeBlock || pp.Modes["44"] != ModeMonitor || pp.Modes["1"] != ModeAllow ||
		len(pp.Modes) != 2 || pp.Safe[0] != "995599000" {
		t.Errorf("pumping %+v", pp)
	}
	if len(r.Content) != 2 || r.Content[0].Action != Reject || r.Content[1].Action != Hold || r.Content[0].Pattern != `bit\.ly/` {
		t.Errorf("content %+v", r.Content)
	}
	if r.Senders[0] != (SenderRule{Country: "995", Alphanumeric: true, ReplaceWith: "INFO"}) {
		t.Errorf("senders %+v", r.Senders)
	}
	if *r.Loop != (LoopRules{Max: 30, Per: 30 * time.Second}) {
		t.Errorf("loop %+v", r.Loop)
	}
	if _, err := New(r, Options{}); err != nil {
		t.Fatal(err)
	}
	if r, err := RulesFromConfig(nil); err != nil || r.Pumping != nil || r.Blocklist || r.Loop != nil {
		t.Errorf("nil config: %+v %v", r, err)
	}
	p.Pumping.Mode["995"] = "panic"
	if _, err := RulesFromConfig(p); err == nil {
		t.Error("bad mode accepted")
	}
}

// TestRulesFromGoodConfigFile: the config package's example parses into
// rules that behave as the interface's example says.
func TestRulesFromGoodConfigFile(t *testing.T) {
	for _, e := range []string{"MAGTI_PASSWORD", "SILKNET_PASSWORD", "SMSGATE_API_TOKEN"} {
		t.Setenv(e, "x")
	}
	c, err := config.Load("../internal/config/testdata/good.yml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := RulesFromConfig(c.Protection)
	if err != nil {
		t.Fatal(err)
	}
	g := mustGuard(t, r, Options{})
	g.Blocklist().Add("995599111111")
	tests := []struct {
		m    Message
		want Verdict
	}{
		{Message{Sender: "ACME", Dest: "995599111111"}, Verdict{Action: Reject, Reason: ReasonBlocked}},
		{Message{Sender: "4422", Dest: "995599111112"}, Verdict{Action: Allow, ReplacedSender: "INFO"}},
		{Message{Sender: "ACME", Dest: "995599111113", Text: "go to bit.ly/x"}, Verdict{Action: Reject, Reason: ReasonContent}},
		{Message{Sender: "ACME", Dest: "995599111114", Text: "hello"}, Verdict{Action: Allow}},
	}
	for i, tt := range tests {
		v := g.Check(&tt.m, t0)
		v.Detail = ""
		if v != tt.want {
			t.Errorf("%d: %+v, want %+v", i, v, tt.want)
		}
	}
}
