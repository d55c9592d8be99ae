package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: no input panics or hangs, and an accepted config prints (with
// secrets masked) to YAML that is accepted again and prints the same.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yml")
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("kafka: &k {<<: *k}\n"))
	f.Add([]byte("operators: [{name: x, <<: [{port: 1}, {port: 2}]}]\n"))
	f.Add([]byte("\xff\xfe"))
	env := func(k string) (string, bool) {
		v, ok := map[string]string{"MAGTI_PASSWORD": "m", "SILKNET_PASSWORD": "s", "SMSGATE_API_TOKEN": "t"}[k]
		return v, ok
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parse(data, "", env)
		if err != nil {
			if c != nil {
				t.Fatal("config returned with an error")
			}
			return
		}
		s := c.String()
		back, err := parse([]byte(s), "", env)
		if err != nil {
			t.Fatalf("printed config rejected: %v\n%s", err, s)
		}
		if s2 := back.String(); s2 != s {
			t.Fatalf("round trip differs:\n%s\n---\n%s", s, s2)
		}
	})
}
