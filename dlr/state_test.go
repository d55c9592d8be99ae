package dlr

import "testing"

func TestParseState(t *testing.T) {
	tests := []struct {
		in   string
		want State
		ok   bool
	}{
		{"DELIVRD", StateDelivered, true},
		{"delivrd", StateDelivered, true},
		{"Delivered", StateDelivered, true},
		{"UNDELIV", StateUndeliverable, true},
		{"UNDELIVERABLE", StateUndeliverable, true},
		{"undelivered", StateUndeliverable, true},
		{"REJECTD", StateRejected, true},
		{"REJECTED", StateRejected, true},
		{"EXPIRED", StateExpired, true},
		{"DELETED", StateDeleted, true},
		{"ACCEPTD", StateAccepted, true},
		{"accepted", StateAccepted, true},
		{"UNKNOWN", StateUnknown, true},
		{"ENROUTE", StateEnroute, true},
		{" DELIVRD\x00", StateDelivered, true},
		{"2", StateDelivered, true},
		{"8", StateRejected, true},
		{"0", StateNone, false},
		{"9", StateNone, false},
		{"", StateNone, false},
		{"SENT", StateNone, false},
		{"DELIVRDX", StateNone, false},
		{"DELIVEREDDELIVEREDDELIVERED", StateNone, false},
	}
	for _, tc := range tests {
		got, ok := ParseState(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseState(%q) = %v,%v want %v,%v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestStateRoundTripAndMessageState(t *testing.T) {
	want := map[byte]State{1: StateEnroute, 2: StateDelivered, 3: StateExpired, 4: StateDeleted,
		5: StateUndeliverable, 6: StateAccepted, 7: StateUnknown, 8: StateRejected}
	for v := 0; v < 256; v++ {
		st, ok := FromMessageState(byte(v))
		w, wok := want[byte(v)]
		if st != w || ok != wok {
			t.Fatalf("FromMessageState(%d) = %v,%v want %v,%v", v, st, ok, w, wok)
		}
		if ok {
			back, ok := ParseState(st.String())
			if !ok || back != st {
				t.Errorf("ParseState(%q) = %v,%v", st.String(), back, ok)
			}
		}
	}
	if StateNone.String() != "" || State(200).String() != "" {
		t.Error("String of invalid state not empty")
	}
}

func TestStateFinalAndPartStatus(t *testing.T) {
	tests := []struct {
		s     State
		final bool
		part  PartStatus
		ok    bool
	}{
		{StateNone, false, PartPending, false},
		{StateEnroute, false, PartSubmitted, true},
		{StateAccepted, false, PartSubmitted, true},
		{StateUnknown, false, PartUnknown, true},
		{StateDelivered, true, PartDelivered, true},
		{StateUndeliverable, true, PartUndeliverable, true},
		{StateRejected, true, PartUndeliverable, true},
		{StateDeleted, true, PartUndeliverable, true},
		{StateExpired, true, PartExpired, true},
	}
	for _, tc := range tests {
		if got := tc.s.Final(); got != tc.final {
			t.Errorf("%v.Final() = %v", tc.s, got)
		}
		p, ok := tc.s.PartStatus()
		if p != tc.part || ok != tc.ok {
			t.Errorf("%v.PartStatus() = %v,%v want %v,%v", tc.s, p, ok, tc.part, tc.ok)
		}
		if ok && p.Final() != tc.final {
			t.Errorf("%v: part status finality %v differs from state's %v", tc.s, p.Final(), tc.final)
		}
	}
}
