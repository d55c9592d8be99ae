package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// MO by id and by number over a time range: status or finance scope,
// the subscriber's number masked unless it was the search, text masked.
func TestMOLookup(t *testing.T) {
	st := testStore(t)
	srv := newTestServer(t, Options{Tokens: scopedTokens(), Store: st})
	code, body := do(t, "GET", srv.URL+"/api/v1/mo/mo-1", "noc-token")
	if code != http.StatusOK {
		t.Fatalf("by id: %d %s", code, body)
	}
	var m moView
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	if m.ID != "mo-1" || m.Operator != "magti" || m.To != "4422" || m.From == "995599000009" || !strings.HasPrefix(m.From, "9955") || m.Text != "•••" {
		t.Errorf("by id: %+v (number and text must be masked)", m)
	}
	if code, _ := do(t, "GET", srv.URL+"/api/v1/mo/nope", "noc-token"); code != http.StatusNotFound {
		t.Errorf("unknown id: %d", code)
	}
	code, body = do(t, "GET", srv.URL+"/api/v1/mo?number=995599000009&from=2026-11-01&to=2026-12-01", "fin-token")
	if code != http.StatusOK {
		t.Fatalf("search: %d %s", code, body)
	}
	var found []moView
	if err := json.Unmarshal([]byte(body), &found); err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].ID != "mo-1" || found[0].From != "995599000009" {
		t.Errorf("search: %+v", found)
	}
	code, body = do(t, "GET", srv.URL+"/api/v1/mo?number=995599000009&from=2026-12-01&to=2026-12-31", "noc-token")
	if code != http.StatusOK || strings.TrimSpace(body) != "[]" {
		t.Errorf("search outside the range: %d %s", code, body)
	}
	for _, q := range []string{"number=&from=2026-11-01&to=2026-12-01", "number=1&from=2026-01-01&to=2026-12-01", "number=1&from=x&to=y", "number=1&from=2026-11-01&to=2026-12-01&limit=0"} {
		if code, _ := do(t, "GET", srv.URL+"/api/v1/mo?"+q, "noc-token"); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, code)
		}
	}
	if code, _ := do(t, "GET", srv.URL+"/api/v1/mo/mo-1", "ops-token"); code != http.StatusOK {
		t.Errorf("ops token (status scope): %d", code)
	}
	if code, _ := do(t, "GET", srv.URL+"/api/v1/mo/mo-1", ""); code != http.StatusUnauthorized {
		t.Errorf("no token: %d", code)
	}
}
