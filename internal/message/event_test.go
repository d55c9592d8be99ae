package message

import (
	"encoding/json"
	"testing"
	"time"
)

func TestStatusEventJSON(t *testing.T) {
	e := Event{ID: "a1", Account: "acme", Status: "delivered", Operator: "magti", Parts: 2, PartsDone: 2,
		SMSCIDs: []string{"5F3A01", "5F3A02"}, Cost: 24000, Price: 60000, Currency: "EUR",
		At: time.Date(2026, 11, 23, 10, 0, 1, 120e6, time.UTC), Meta: []byte(`{"campaign":"nov"}`)}
	got := string(e.AppendJSON(nil))
	want := `{"id":"a1","account":"acme","status":"delivered","operator":"magti","parts":2,"parts_done":2,"smsc_ids":["5F3A01","5F3A02"],"error":null,"cost":0.024,"price":0.06,"currency":"EUR","at":"2026-11-23T10:00:01.120Z","meta":{"campaign":"nov"}}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	e2 := Event{ID: "q\"\n\x01\xff", Status: "rejected", Reason: "invalid", Detail: "bad \u2028 text", Duplicate: true}
	var v map[string]any
	if err := json.Unmarshal(e2.AppendJSON(nil), &v); err != nil {
		t.Fatalf("invalid JSON: %v: %s", err, e2.AppendJSON(nil))
	}
	if v["id"] != "q\"\n\x01\ufffd" || v["duplicate"] != true || v["error"].(map[string]any)["reason"] != "invalid" {
		t.Fatalf("decoded %v", v)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("plain")
	f.Add("\x00\xff\u2028\"\\")
	f.Fuzz(func(t *testing.T, s string) {
		var out string
		if err := json.Unmarshal(AppendJSONString(nil, s), &out); err != nil {
			t.Fatalf("invalid JSON for %q: %v", s, err)
		}
	})
}
