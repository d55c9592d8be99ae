package dlr

import "testing"

func TestKeyword(t *testing.T) {
	known := KeywordSet([]string{"stop", "START ", ""}, []string{"вихід", "გაჩერება", "Yes"})
	tests := []struct{ text, want string }{
		{"stop", "STOP"},
		{"Stop!", "STOP"},
		{" STOP please", "STOP"},
		{"\t\n...STOP", "STOP"},
		{"STOP,please", "STOP"},
		{"¡Stop¡", "STOP"},
		{"🙏stop🙏", "STOP"},
		{"ВИХІД", "ВИХІД"},
		{"вихід зараз", "ВИХІД"},
		{"გაჩერება", "ᲒᲐᲩᲔᲠᲔᲑᲐ"},
		{"yes", "YES"},
		{"STOPP", ""},
		{"please stop", ""},
		{"", ""},
		{"!!!", ""},
		{"sto p", ""},
	}
	for _, tc := range tests {
		if got := Keyword(tc.text, known); got != tc.want {
			t.Errorf("Keyword(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
	if got := Keyword("STOP", nil); got != "" {
		t.Errorf("no keywords: got %q", got)
	}
	if len(known) != 5 {
		t.Errorf("KeywordSet kept %d words, want 5: %v", len(known), known)
	}
}
