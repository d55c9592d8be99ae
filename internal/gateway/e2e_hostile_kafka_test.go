package gateway

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/smsgate/smsgate/pkg/smppsim"
)

// What a record of the hostile corpus must end as (interface §1.1, §1.4).
type hostileOutcome int

const (
	sentOK      hostileOutcome = iota // delivered
	invalidID                         // sms.dlq, and rejected/invalid on its id
	dlqOnly                           // sms.dlq; the id cannot be read, so no event
	rejExpired                        // rejected/expired (valid, but too late)
	scheduledAt                       // parked until send_at: no event yet (the contract has no "scheduled" status)
)

func (o hostileOutcome) String() string {
	return [...]string{"delivered", "DLQ + rejected(invalid)", "DLQ only", "rejected(expired)", "scheduled"}[o]
}

type hostileRecord struct {
	name  string
	id    string // the id the outcome is keyed by ("" for dlqOnly)
	value string
	want  hostileOutcome
}

// hostileCorpus builds the attack records; each is keyed "hk-NN" in Kafka.
func hostileCorpus() []hostileRecord {
	var c []hostileRecord
	n := 0
	add := func(name string, want hostileOutcome, build func(id string) string) {
		n++
		id := fmt.Sprintf("hk-%02d", n)
		r := hostileRecord{name: name, id: id, value: build(id), want: want}
		if want == dlqOnly {
			r.id = ""
		}
		c = append(c, r)
	}
	to := func(i int) string { return fmt.Sprintf("99559930%04d", i) }
	valid := func(id string, extra string) string {
		return `{"id":"` + id + `","account":"acme","from":"ACME","to":"` + to(len(id)+len(extra)) + `","text":"hostile corpus"` + extra + `}`
	}
	// Not JSON, or not one object.
	add("empty value", dlqOnly, func(string) string { return `` })
	add("whitespace only", dlqOnly, func(string) string { return "  \n\t " })
	add("truncated object", dlqOnly, func(id string) string { return `{"id":"` + id + `","account":"acme",` })
	add("a JSON array of records", dlqOnly, func(id string) string { return `[` + valid(id, "") + `]` })
	add("a JSON string", dlqOnly, func(string) string { return `"hello"` })
	add("null", dlqOnly, func(string) string { return `null` })
	add("a number", dlqOnly, func(string) string { return `42` })
	add("trailing data after the object", invalidID, func(id string) string { return valid(id, "") + ` {"id":"x"}` })
	add("trailing garbage", invalidID, func(id string) string { return valid(id, "") + `garbage` })
	add("single quotes", dlqOnly, func(id string) string { return `{'id':'` + id + `'}` })
	add("comment", dlqOnly, func(id string) string { return `{"id":"` + id + `" /* x */}` })
	add("BOM before the object", dlqOnly, func(id string) string { return "\ufeff" + valid(id, "") })
	// Missing and mistyped fields.
	add("missing to", invalidID, func(id string) string { return `{"id":"` + id + `","account":"acme","from":"ACME","text":"x"}` })
	add("missing text", invalidID, func(id string) string {
		return `{"id":"` + id + `","account":"acme","from":"ACME","to":"` + to(1) + `"}`
	})
	add("text is a number", invalidID, func(id string) string {
		return strings.Replace(valid(id, ""), `"text":"hostile corpus"`, `"text":12`, 1)
	})
	add("to is an array", invalidID, func(id string) string {
		return `{"id":"` + id + `","account":"acme","from":"ACME","to":["` + to(2) + `"],"text":"x"}`
	})
	add("id is a number", dlqOnly, func(string) string { return `{"id":17,"account":"acme","from":"ACME","to":"` + to(3) + `","text":"x"}` })
	add("id of 65 characters", dlqOnly, func(string) string {
		return `{"id":"` + strings.Repeat("i", 65) + `","account":"acme","from":"ACME","to":"` + to(4) + `","text":"x"}`
	})
	add("params value is an object", invalidID, func(id string) string { return valid(id, `,"params":{"name":{"x":1}}`) })
	add("meta is a string", invalidID, func(id string) string { return valid(id, `,"meta":"x"`) })
	add("unknown encoding", invalidID, func(id string) string { return valid(id, `,"encoding":"ebcdic"`) })
	add("unknown kind", invalidID, func(id string) string { return valid(id, `,"kind":"spam"`) })
	add("placeholder without a value", invalidID, func(id string) string {
		return strings.Replace(valid(id, ""), "hostile corpus", "hi {name}", 1)
	})
	// Oversize and deep.
	add("payload over limits.max_bytes", dlqOnly, func(id string) string { return valid(id, `,"meta":{"pad":"`+strings.Repeat("A", 70<<10)+`"}`) })
	add("text over limits.max_parts", invalidID, func(id string) string {
		return strings.Replace(valid(id, ""), "hostile corpus", strings.Repeat("x", 1700), 1)
	})
	add("meta nested 10,001 deep", dlqOnly, func(id string) string {
		return valid(id, `,"meta":{"d":`+strings.Repeat("[", 10001)+strings.Repeat("]", 10001)+`}`)
	})
	add("meta nested 500 deep (legal JSON)", sentOK, func(id string) string {
		return valid(id, `,"meta":{"d":`+strings.Repeat("[", 500)+strings.Repeat("]", 500)+`}`)
	})
	add("three thousand params", sentOK, func(id string) string {
		var b strings.Builder
		for i := 0; i < 3000; i++ {
			fmt.Fprintf(&b, `,"p%d":"v"`, i)
		}
		return valid(id, `,"params":{"name":"x"`+b.String()+`}`)
	})
	// NUL, lone surrogates and invalid UTF-8 in every field.
	for _, f := range []string{"account", "from", "to", "text", "encoding", "kind", "route"} {
		add("NUL in "+f, invalidID, func(id string) string {
			return `{"id":"` + id + `","account":"acme","from":"ACME","to":"` + to(5) + `","text":"x","` + f + `":"a\u0000b"}`
		})
	}
	add("NUL in id", dlqOnly, func(string) string {
		return `{"id":"hk\u0000nul","account":"acme","from":"ACME","to":"` + to(6) + `","text":"x"}`
	})
	add("NUL in a params value", invalidID, func(id string) string { return valid(id, `,"params":{"name":"a\u0000"}`) })
	add("NUL in a meta value", sentOK, func(id string) string { return valid(id, `,"meta":{"k":"a\u0000b"}`) })
	add("raw NUL byte inside a string (a JSON syntax error)", dlqOnly, func(id string) string {
		return strings.Replace(valid(id, ""), "hostile corpus", "a\x00b", 1)
	})
	for _, f := range []string{"text", "params", "meta"} {
		add("lone surrogate in "+f, sentOK, func(id string) string {
			switch f {
			case "text":
				return strings.Replace(valid(id, ""), "hostile corpus", `a\ud800b`, 1)
			case "params":
				return strings.Replace(valid(id, `,"params":{"name":"x\udc00y"}`), "hostile corpus", "hi {name}", 1)
			}
			return valid(id, `,"meta":{"k":"\udfff"}`)
		})
	}
	for _, f := range []string{"text", "account", "meta"} {
		add("invalid UTF-8 in "+f, invalidID, func(id string) string {
			switch f {
			case "text":
				return strings.Replace(valid(id, ""), "hostile corpus", "caf\xe9", 1)
			case "account":
				return strings.Replace(valid(id, ""), `"account":"acme"`, "\"account\":\"ac\xffme\"", 1)
			}
			return valid(id, ",\"meta\":{\"k\":\"\xc3(\"}")
		})
	}
	add("invalid UTF-8 in id", dlqOnly, func(string) string {
		return "{\"id\":\"hk\xff\",\"account\":\"acme\",\"from\":\"ACME\",\"to\":\"" + to(8) + "\",\"text\":\"x\"}"
	})
	// Numbers in every odd form.
	for _, p := range []struct {
		v    string
		want hostileOutcome
	}{{"5", sentOK}, {"-0", sentOK}, {"5.0", invalidID}, {"5e0", invalidID}, {"1e400", invalidID}, {`"5"`, invalidID},
		{"99999999999999999999", invalidID}, {"10", invalidID}, {"-1", invalidID}, {"null", sentOK}, {"true", invalidID}} {
		add("priority "+p.v, p.want, func(id string) string { return valid(id, `,"priority":`+p.v) })
	}
	add("priority 0x5", dlqOnly, func(id string) string { return valid(id, `,"priority":0x5`) })
	add("priority NaN", dlqOnly, func(id string) string { return valid(id, `,"priority":NaN`) })
	add("dlr as a string", invalidID, func(id string) string { return valid(id, `,"dlr":"true"`) })
	add("dlr as 1", invalidID, func(id string) string { return valid(id, `,"dlr":1`) })
	// Times at the edges.
	add("send_at in the past", sentOK, func(id string) string { return valid(id, `,"send_at":"2000-01-01T00:00:00Z"`) })
	add("send_at in year 9999", scheduledAt, func(id string) string { return valid(id, `,"send_at":"9999-12-31T23:59:59Z"`) })
	add("send_at not a time", invalidID, func(id string) string { return valid(id, `,"send_at":"tomorrow"`) })
	add("send_at without a zone", invalidID, func(id string) string { return valid(id, `,"send_at":"2030-01-01T00:00:00"`) })
	add("send_at as a number", invalidID, func(id string) string { return valid(id, `,"send_at":1700000000`) })
	add("expires_at in the past", rejExpired, func(id string) string { return valid(id, `,"expires_at":"2000-01-01T00:00:00Z"`) })
	add("expires_at the Unix epoch", rejExpired, func(id string) string { return valid(id, `,"expires_at":"1970-01-01T00:00:00Z"`) })
	add("expires_at before send_at", invalidID, func(id string) string {
		return valid(id, `,"send_at":"2031-01-01T00:00:00Z","expires_at":"2030-01-01T00:00:00Z"`)
	})
	add("expires_at year 10000", invalidID, func(id string) string { return valid(id, `,"expires_at":"10000-01-01T00:00:00Z"`) })
	add("expires_at with a leap second", invalidID, func(id string) string { return valid(id, `,"expires_at":"2030-06-30T23:59:60Z"`) })
	// SQL- and formula-looking strings: data, never code.
	add("SQL in text", sentOK, func(id string) string {
		return strings.Replace(valid(id, ""), "hostile corpus", `'); DROP TABLE messages; --`, 1)
	})
	add("SQL in meta", sentOK, func(id string) string { return valid(id, `,"meta":{"q":"1' OR '1'='1"}`) })
	add("SQL in params", sentOK, func(id string) string {
		return strings.Replace(valid(id, `,"params":{"name":"x'; DELETE FROM attempts; --"}`), "hostile corpus", "hi {name}", 1)
	})
	add("SQL in account", invalidID, func(id string) string {
		return strings.Replace(valid(id, ""), `"account":"acme"`, `"account":"acme' OR 1=1 --"`, 1)
	})
	add("SQL in route", invalidID, func(id string) string { return valid(id, `,"route":"magti'; --"`) })
	add("duplicate keys", sentOK, func(id string) string { return valid(id, `,"text":"second text wins"`) })
	return c
}

// Issue #16: a corpus of hostile sms.submit records, each followed by a
// valid one. Every hostile record reaches its contract outcome, and every
// valid record behind it is delivered: nothing in the input stops the
// pipeline.
func TestHostileKafkaCorpus(t *testing.T) {
	corpus := hostileCorpus()
	if len(corpus) < 60 {
		t.Fatalf("corpus has %d records, want at least 60", len(corpus))
	}
	e := newEnv(t, twoOperators(smppsim.Options{}, smppsim.Options{}), baseRouting)
	e.start()
	var recs []kafka.Message
	for i, r := range corpus {
		recs = append(recs, kafka.Message{Key: []byte(fmt.Sprintf("hk-%02d", i+1)), Value: []byte(r.value)})
		recs = append(recs, kafka.Message{Key: []byte(fmt.Sprintf("hv-%02d", i+1)),
			Value: []byte(fmt.Sprintf(`{"id":"hv-%02d","account":"acme","from":"ACME","to":"9955994%05d","text":"behind %d"}`, i+1, i, i))})
	}
	e.produce(recs...)

	dlqKeys := func() map[string]int {
		e.events.mu.Lock()
		defer e.events.mu.Unlock()
		out := map[string]int{}
		for _, d := range e.events.dlq {
			k, _ := d["key"].(string)
			out[k]++
		}
		return out
	}
	reached := func(r hostileRecord, key string, dlq map[string]int) bool {
		last := e.events.last(r.id)
		switch r.want {
		case sentOK:
			return last != nil && last["status"] == "delivered"
		case invalidID:
			return dlq[key] == 1 && last != nil && last["status"] == "rejected"
		case dlqOnly:
			return dlq[key] == 1
		case rejExpired:
			return last != nil && last["status"] == "rejected"
		case scheduledAt:
			return last == nil && strings.HasPrefix(e.dbState(r.id), "row=scheduled ")
		}
		return false
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		dlq := dlqKeys()
		done := true
		for i, r := range corpus {
			if !reached(r, fmt.Sprintf("hk-%02d", i+1), dlq) {
				done = false
			}
			if l := e.events.last(fmt.Sprintf("hv-%02d", i+1)); l == nil || l["status"] != "delivered" {
				done = false
			}
		}
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	dlq := dlqKeys()
	for i, r := range corpus {
		key := fmt.Sprintf("hk-%02d", i+1)
		if !reached(r, key, dlq) {
			t.Errorf("%s (%s): want %s; DLQ records %d, statuses %v; %s", key, r.name, r.want, dlq[key], e.events.statuses(r.id), e.dbState(r.id))
		}
		if r.want == invalidID {
			if l := e.events.last(r.id); l != nil {
				if er, _ := l["error"].(map[string]any); er == nil || er["reason"] != "invalid" || er["detail"] == "" {
					t.Errorf("%s (%s): rejected without reason invalid and a detail: %v", key, r.name, l)
				}
			}
		}
		if r.want == rejExpired {
			if l := e.events.last(r.id); l != nil {
				if er, _ := l["error"].(map[string]any); er == nil || er["reason"] != "expired" {
					t.Errorf("%s (%s): rejected without reason expired: %v", key, r.name, l)
				}
			}
		}
		if r.want != invalidID && r.want != dlqOnly && dlq[key] != 0 {
			t.Errorf("%s (%s): a valid record went to the DLQ", key, r.name)
		}
		if v := fmt.Sprintf("hv-%02d", i+1); e.events.last(v) == nil || e.events.last(v)["status"] != "delivered" {
			t.Errorf("the valid record behind %s (%s) was not delivered: %v", key, r.name, e.events.statuses(v))
		}
	}
	t.Logf("%d hostile records, %d valid records behind them; DLQ holds %d", len(corpus), len(corpus), len(e.events.dlq))
	// Every DLQ record is counted under a named reason, none as "other".
	if n := e.metric("smsgate_dlq_reasons_total", map[string]string{"reason": "other"}); n != 0 {
		for _, d := range e.events.dlq {
			t.Logf("DLQ reason %q", d["reason"])
		}
		t.Errorf("%v DLQ records counted as reason other", n)
	}
}
