package ingest

import "testing"

// A record with bad bytes outside its id still names its id, so that its
// sender gets a rejected event; bad bytes inside the id name none.
func TestNonUTF8RecordKeepsReadableID(t *testing.T) {
	cases := []struct {
		value, id string
	}{
		{"{\"id\":\"nu-1\",\"account\":\"acme\",\"to\":\"995599000001\",\"text\":\"caf\xe9\"}", "nu-1"},
		{"{\"id\":\"nu-2\",\"account\":\"acme\",\"meta\":{\"k\":\"\xff\xfe\"},\"to\":\"995599000001\",\"text\":\"x\"}", "nu-2"},
		{"{\"text\":\"\xc3\",\"id\":\"nu-3\"}", "nu-3"},
		{"{\"id\":\"nu-\xff\",\"to\":\"995599000001\",\"text\":\"x\"}", ""},
		{"\xff{\"id\":\"nu-5\"}", ""}, // not JSON once repaired
	}
	for _, c := range cases {
		for name, decode := range map[string]func([]byte, int) (*submitRecord, string, error){"fast": decodeSubmitFast, "reference": decodeSubmit} {
			rec, id, err := decode([]byte(c.value), 1<<16)
			if err == nil || rec != nil {
				t.Errorf("%s %q: accepted", name, c.value)
				continue
			}
			if id != c.id {
				t.Errorf("%s %q: id %q, want %q (%v)", name, c.value, id, c.id, err)
			}
		}
	}
}
