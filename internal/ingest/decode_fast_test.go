package ingest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

const fastTestMaxBytes = 1 << 20

// benchSubmitRecord is a typical sms.submit record (~300 bytes).
const benchSubmitRecord = `{"id":"6f1c2a9e-3b7d-4c1e-9a8f-2d5e7b3c1a90","account":"acme-retail","from":"ACME","to":"+447700900123",` +
	`"text":"Your ACME verification code is 482913. It expires in 10 minutes. Never share it with anyone.",` +
	`"kind":"transactional","meta":{"campaign":"otp-login","trace":"00-4bf92f3577b34da6-01"}}`

// rec builds a record from the required fields plus extra members.
func fastRec(extra string) string {
	s := `{"id":"m1","account":"acme","from":"ACME","to":"+447700900123","text":"hi"`
	if extra != "" {
		s += "," + extra
	}
	return s + "}"
}

func fastDeep(open, close string, n int) string {
	return strings.Repeat(open, n) + strings.Repeat(close, n)
}

// fastCases are inputs for the differential test. fast says whether
// decodeSubmitFast decodes it itself (true) or hands it to decodeSubmit.
var fastCases = []struct {
	name     string
	in       string
	maxBytes int // 0: fastTestMaxBytes
	fast     bool
}{
	// Valid records.
	{"minimal", fastRec(""), 0, true},
	{"typical", benchSubmitRecord, 0, true},
	{"every field", `{"id":"m2","account":"acme","from":"ACME","to":"+447700900123","text":"Hello {name}",` +
		`"params":{"name":"Ann","code":"12"},"encoding":"ucs2","dlr":false,"kind":"marketing","priority":9,` +
		`"send_at":"2030-05-01T10:00:00Z","expires_at":"2030-05-01T12:30:00.123456789+02:00","route":"op-a",` +
		`"meta":{"a":[1,2.5e3,{"b":null}],"c":true}}`, 0, true},
	{"whitespace", " \t\r\n{ \"id\" : \"m1\" ,\n\"account\":\"a\" , \"from\" :\"F\",\"to\":\"T\",\"text\":\"x\" , \"meta\" : { \"k\" : [ ] } }\n\t ", 0, true},
	{"empty object", `{}`, 0, true},
	{"empty object spaced", ` { } `, 0, true},
	{"text empty", `{"id":"m1","account":"a","from":"F","to":"T","text":""}`, 0, true},
	{"unknown fields", fastRec(`"x":"y","n":-12.5e-3,"b":true,"f":false,"z":null,"o":{"p":[{},[],""]},"a":[1,"2",null]`), 0, true},
	{"unknown upper-case key", fastRec(`"Foo":1,"ÄÖ":"x","\u0041bc":2`), 0, true},

	// Escapes and surrogates.
	{"simple escapes", fastRec(`"route":"a\"b\\c\/d\be\ff\ng\rh\ti"`), 0, true},
	{"unicode escapes", `{"id":"\u006d\u00e9\u4E2D","account":"a","from":"F","to":"T","text":"caf\u00e9 \u20AC"}`, 0, true},
	{"surrogate pair", fastRec(`"route":"\ud83d\ude00!"`), 0, true},
	{"lone high surrogate", fastRec(`"route":"a\ud83db"`), 0, true},
	{"lone low surrogate", fastRec(`"route":"a\ude00\ude00b"`), 0, true},
	{"high high", fastRec(`"route":"\ud83d\ud83d\ude00"`), 0, true},
	{"high then escape", fastRec(`"route":"\ud83d\n"`), 0, true},
	{"high at end", fastRec(`"route":"\uD83D"`), 0, true},
	{"raw utf8", fastRec(`"route":"日本語 🙂"`), 0, true},
	{"escaped key", `{"\u0069d":"m1","acc\u006funt":"a","from":"F","to":"T","text":"x"}`, 0, true},
	{"case-folded keys", `{"ID":"m1","Account":"a","FROM":"F","tO":"T","Text":"x","\u212aind":"marketing","ſend_at":"2030-01-01T00:00:00Z"}`, 0, true},
	{"kelvin raw", `{"id":"m1","account":"a","from":"F","to":"T","text":"x","` + "\u212a" + `ind":"bogus"}`, 0, true},

	// null.
	{"null fields", fastRec(`"params":null,"encoding":null,"dlr":null,"kind":null,"priority":null,"send_at":null,"expires_at":null,"route":null,"meta":null`), 0, true},
	{"null text", `{"id":"m1","account":"a","from":"F","to":"T","text":null}`, 0, true},
	{"null id", `{"id":null,"account":"a","from":"F","to":"T","text":"x"}`, 0, true},
	{"null top level", `null`, 0, false},

	// Missing fields, id length.
	{"missing id", `{"account":"a","from":"F","to":"T","text":"x"}`, 0, true},
	{"missing all but id", `{"id":"m1"}`, 0, true},
	{"missing to and text", `{"id":"m1","account":"a","from":"F"}`, 0, true},
	{"id 64 runes", `{"id":"` + strings.Repeat("é", 64) + `","account":"a","from":"F","to":"T","text":"x"}`, 0, true},
	{"id 65 runes", `{"id":"` + strings.Repeat("é", 65) + `","account":"a","from":"F","to":"T","text":"x"}`, 0, true},

	// Wrong types.
	{"id number", `{"id":12,"account":"a","from":"F","to":"T","text":"x"}`, 0, false},
	{"text number", `{"id":"m1","account":"a","from":"F","to":"T","text":1}`, 0, false},
	{"text object", `{"id":"m1","account":"a","from":"F","to":"T","text":{}}`, 0, false},
	{"dlr string", fastRec(`"dlr":"true"`), 0, false},
	{"dlr true", fastRec(`"dlr":true`), 0, true},
	{"params array", fastRec(`"params":["a"]`), 0, false},
	{"params number value", fastRec(`"params":{"a":"1","b":2}`), 0, false},
	{"params object value", fastRec(`"params":{"a":{}}`), 0, false},
	{"priority string", fastRec(`"priority":"1"`), 0, false},
	{"send_at number", fastRec(`"send_at":1714557600`), 0, false},

	// params.
	{"params empty", fastRec(`"params":{}`), 0, true},
	{"params null value", fastRec(`"params":{"a":null,"b":"x"}`), 0, true},
	{"params duplicate key", fastRec(`"params":{"a":"1","a":"2","a":null,"b":"3","b":"4"}`), 0, true},
	{"params escapes", fastRec(`"params":{"k\u00e9y":"v\ud83d\ude00\n","":""}`), 0, true},
	{"params NUL", fastRec(`"params":{"a":"\u0000"}`), 0, true},
	{"params many", fastRec(`"params":{` + fastManyParams(40) + `}`), 0, true},

	// priority forms.
	{"priority 0", fastRec(`"priority":0`), 0, true},
	{"priority 1", fastRec(`"priority":1`), 0, true},
	{"priority -0", fastRec(`"priority":-0`), 0, true},
	{"priority 1.0", fastRec(`"priority":1.0`), 0, false},
	{"priority 1e0", fastRec(`"priority":1e0`), 0, false},
	{"priority -1", fastRec(`"priority":-1`), 0, true},
	{"priority 10", fastRec(`"priority":10`), 0, true},
	{"priority 18 digits", fastRec(`"priority":999999999999999999`), 0, true},
	{"priority int64 max", fastRec(`"priority":9223372036854775807`), 0, false},
	{"priority huge", fastRec(`"priority":123456789012345678901234567890`), 0, false},
	{"priority 01", fastRec(`"priority":01`), 0, false},

	// send_at / expires_at forms.
	{"send_at Z", fastRec(`"send_at":"2030-05-01T10:00:00Z"`), 0, true},
	{"send_at offset", fastRec(`"send_at":"2030-05-01T10:00:00-07:30"`), 0, true},
	{"send_at +00:00", fastRec(`"send_at":"2030-05-01T10:00:00+00:00"`), 0, true},
	{"send_at fraction", fastRec(`"send_at":"2030-05-01T10:00:00.5Z","expires_at":"2030-05-01T10:00:00.500000001Z"`), 0, true},
	{"send_at lower z", fastRec(`"send_at":"2030-05-01t10:00:00z"`), 0, false},
	{"send_at date only", fastRec(`"send_at":"2030-05-01"`), 0, false},
	{"send_at bad month", fastRec(`"send_at":"2030-13-01T10:00:00Z"`), 0, false},
	{"send_at escaped", fastRec(`"send_at":"\u0032030-05-01T10:00:00Z"`), 0, false},
	{"send_at empty", fastRec(`"send_at":""`), 0, false},
	{"expires before send", fastRec(`"send_at":"2030-05-01T10:00:00Z","expires_at":"2030-05-01T09:00:00Z"`), 0, true},
	{"expires equals send", fastRec(`"send_at":"2030-05-01T10:00:00Z","expires_at":"2030-05-01T12:00:00+02:00"`), 0, true},

	// Checks after decoding.
	{"kind unknown", fastRec(`"kind":"promo"`), 0, true},
	{"kind marketing", fastRec(`"kind":"marketing"`), 0, true},
	{"meta string", fastRec(`"meta":"x"`), 0, true},
	{"meta array", fastRec(`"meta":[1]`), 0, true},
	{"meta number", fastRec(`"meta": -1.5E+2 `), 0, true},
	{"meta true", fastRec(`"meta":true`), 0, true},
	{"meta escapes kept", fastRec(`"meta":{"k":"\u0000\ud800 \"x\""}`), 0, true},
	{"NUL in text", `{"id":"m1","account":"a","from":"F","to":"T","text":"a\u0000b"}`, 0, true},
	{"NUL in route", fastRec(`"route":"\u0000"`), 0, true},
	{"NUL in id", `{"id":"\u0000","account":"a","from":"F","to":"T","text":"x"}`, 0, true},
	{"priority and kind both bad", fastRec(`"priority":10,"kind":"x","meta":1`), 0, true},

	// Nesting.
	{"meta 100 deep", fastRec(`"meta":{"a":` + fastDeep("[", "]", 100) + `}`), 0, true},
	{"meta 10000 deep", fastRec(`"meta":{"a":` + fastDeep("[", "]", 9999) + `}`), 0, false},
	{"meta 9998 deep", fastRec(`"meta":{"a":` + fastDeep("[", "]", 9997) + `}`), 0, false},
	{"unknown 10000 deep", fastRec(`"x":` + fastDeep(`{"a":`, "}", 10000)), 0, false},
	{"unknown 10000 arrays", fastRec(`"x":` + fastDeep("[", "]", 10000)), 0, false},
	{"unknown 255 deep", fastRec(`"x":` + fastDeep("[", "]", 255)), 0, true},
	{"unknown 256 deep", fastRec(`"x":` + fastDeep("[", "]", 256)), 0, true},
	{"unknown 257 deep", fastRec(`"x":` + fastDeep("[", "]", 257)), 0, false},

	// Numbers in unknown fields.
	{"huge numbers", fastRec(`"x":[123456789012345678901234567890,1e999999,-0.0e-0,0E+1]`), 0, true},
	{"bad number", fastRec(`"x":1.`), 0, false},
	{"bad number exp", fastRec(`"x":1e`), 0, false},
	{"bad number minus", fastRec(`"x":-`), 0, false},
	{"leading zero", fastRec(`"x":012`), 0, false},

	// Trailing data.
	{"trailing garbage", fastRec("") + ` x`, 0, true},
	{"trailing object", fastRec("") + `{}`, 0, true},
	{"trailing brace", fastRec("") + ` }`, 0, true},
	{"trailing bracket", fastRec("") + `]]`, 0, true},
	{"trailing invalid id", `{"id":"` + strings.Repeat("x", 70) + `"} 1`, 0, true},
	{"trailing after bad kind", fastRec(`"kind":"x"`) + `,`, 0, true},
	{"trailing vertical tab", fastRec("") + "\v", 0, true},

	// Syntax errors, duplicates, top level.
	{"empty", ``, 0, false},
	{"spaces", `   `, 0, false},
	{"array", `[]`, 0, false},
	{"string", `"x"`, 0, false},
	{"trailing comma", fastRec("")[:len(fastRec(""))-1] + `,}`, 0, false},
	{"truncated", `{"id":"m1","account":`, 0, false},
	{"missing colon", `{"id" "m1"}`, 0, false},
	{"single quotes", `{'id':'m1'}`, 0, false},
	{"control char", fastRec(`"route":"a` + "\t" + `b"`), 0, false},
	{"bad escape", fastRec(`"route":"\x"`), 0, false},
	{"bad u escape", fastRec(`"route":"\u12g4"`), 0, false},
	{"escaped quote key end", fastRec(`"x\"":1`), 0, true},
	{"duplicate id", `{"id":"a","id":"m1","account":"a","from":"F","to":"T","text":"x"}`, 0, false},
	{"duplicate folded", `{"id":"a","ID":"m1","account":"a","from":"F","to":"T","text":"x"}`, 0, false},
	{"duplicate params", fastRec(`"params":{"a":"1"},"params":{"b":"2"}`), 0, false},
	{"bom", "\ufeff" + fastRec(""), 0, false},
	{"syntax error with id", `{"id":"m1","account":1,}`, 0, false},

	// Checks before decoding.
	{"invalid utf8", fastRec(`"route":"` + "\xff" + `"`), 0, true},
	{"invalid utf8 in unknown", "{\"x\":\"\xc3\x28\"}", 0, true},
	{"oversize", fastRec(""), 10, true},
	{"oversize by one", `{"id":"m1"}`, 10, true},
	{"exact size", `{"id":"m1"}`, 11, true},
}

func fastManyParams(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d":"v%d"`, i, i)
	}
	return b.String()
}

// describe prints a record with its pointer fields dereferenced.
func describeSubmit(r *submitRecord) string {
	if r == nil {
		return "<nil>"
	}
	c := *r
	s := fmt.Sprintf("%+v", c)
	if r.Text != nil {
		s += fmt.Sprintf(" text=%q", *r.Text)
	}
	if r.DLR != nil {
		s += fmt.Sprintf(" dlr=%v", *r.DLR)
	}
	if r.Priority != nil {
		s += fmt.Sprintf(" priority=%d", *r.Priority)
	}
	if r.SendAt != nil {
		s += fmt.Sprintf(" send_at=%v", *r.SendAt)
	}
	if r.ExpiresAt != nil {
		s += fmt.Sprintf(" expires_at=%v", *r.ExpiresAt)
	}
	return s + fmt.Sprintf(" meta=%q", r.Meta)
}

// sameDecode fails t unless decodeSubmitFast returns what decodeSubmit
// returns for in. It reports whether the fast path decoded in itself.
func sameAsDecodeSubmit(t testing.TB, in []byte, maxBytes int) bool {
	t.Helper()
	orig := string(in)
	want, wantID, wantErr := decodeSubmit(in, maxBytes)
	got, gotID, gotErr, fast := decodeSubmitFastPath(in, maxBytes)
	if !fast {
		got, gotID, gotErr = decodeSubmitFast(in, maxBytes)
	}
	if string(in) != orig {
		t.Fatalf("input modified")
	}
	if gotID != wantID {
		t.Errorf("id: fast %q, json %q (fast path: %v)", gotID, wantID, fast)
	}
	switch {
	case (gotErr == nil) != (wantErr == nil):
		t.Errorf("error: fast %v, json %v (fast path: %v)", gotErr, wantErr, fast)
	case wantErr != nil:
		var wi, gi *invalidError
		if !errors.As(wantErr, &wi) || !errors.As(gotErr, &gi) {
			t.Errorf("error types: fast %T, json %T", gotErr, wantErr)
		} else if gi.Detail != wi.Detail {
			t.Errorf("error detail:\nfast %q\njson %q\n(fast path: %v)", gi.Detail, wi.Detail, fast)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("record (fast path: %v):\nfast %s\njson %s", fast, describeSubmit(got), describeSubmit(want))
	}
	return fast
}

func TestDecodeSubmitFast(t *testing.T) {
	for _, tc := range fastCases {
		t.Run(tc.name, func(t *testing.T) {
			maxBytes := tc.maxBytes
			if maxBytes == 0 {
				maxBytes = fastTestMaxBytes
			}
			if fast := sameAsDecodeSubmit(t, []byte(tc.in), maxBytes); fast != tc.fast {
				t.Errorf("fast path used: %v, want %v", fast, tc.fast)
			}
		})
	}
}

// TestDecodeSubmitFastOwnsMemory checks that the record does not share
// memory with the input, which the consumer may reuse.
func TestDecodeSubmitFastOwnsMemory(t *testing.T) {
	in := []byte(fastCases[2].in)
	got, _, err := decodeSubmitFast(in, fastTestMaxBytes)
	if err != nil {
		t.Fatal(err)
	}
	want, _, _ := decodeSubmit([]byte(fastCases[2].in), fastTestMaxBytes)
	for i := range in {
		in[i] = 'x'
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("record changed with its input:\n%s\n%s", describeSubmit(got), describeSubmit(want))
	}
}

// Fragments for randomSubmitRecord.
var (
	fastGenKeys = []string{"id", "account", "from", "to", "text", "params", "encoding", "dlr", "kind", "priority",
		"send_at", "expires_at", "route", "meta", "x", "ID", "Text", `\u0069d`, `t\u0065xt`, `\u212aind`, "\u212aind",
		"\u017fend_at", "Meta", "PARAMS", "Expires_At", "ids", "", `\ud800`, "dlR", `priority\u0000`}
	fastGenValues = []string{`"m1"`, `""`, `"a"`, `"acme"`, `"+4477"`, `"hi {name}"`, `"\u0000"`, `"\ud83d\ude00"`,
		`"\ud83d"`, `"\ude00\ud83d"`, `"\ud83d\u0041"`, `"\"\\\/\b\f\n\r\t"`, `"caf\u00e9"`, `"日本"`,
		`"` + strings.Repeat("x", 65) + `"`, `"` + strings.Repeat("é", 64) + `"`, `"transactional"`, `"marketing"`,
		`0`, `1`, `9`, `10`, `-1`, `-0`, `1.0`, `1e0`, `1E+2`, `-0.5e-3`, `99999999999999999999`, `123456789012345678`,
		`true`, `false`, `null`, `{}`, `[]`, `{"a":"b"}`, `{"a":null,"b":"c"}`, `{"a":1}`, `{"a":{"b":[]}}`,
		`{"\u0061":"\u0000"}`, `{"a":"1","a":"2"}`, `[1,"2",null,{"x":[]}]`, `[[[[[]]]]]`,
		`"2030-05-01T10:00:00Z"`, `"2030-05-01T12:00:00+02:00"`, `"2030-05-01T09:00:00.5-01:00"`,
		`"2030-02-30T10:00:00Z"`, `"2030-05-01T10:00:00"`, `"2030-05-01T24:00:00Z"`, `"2030-05-01T10:00:00+24:00"`}
	fastGenSpaces   = []string{"", "", "", " ", "\n", "\t", " \r\n "}
	fastGenTrailing = []string{"", "", "", " ", "\n", "}", "]", " x", "{}", ",", "\v", "null"}
)

// randomSubmitRecord builds an object from fastGenKeys and fastGenValues, usually with
// the required fields, sometimes with one byte changed.
func randomSubmitRecord(r *rand.Rand) []byte {
	var b strings.Builder
	sp := func() { b.WriteString(fastGenSpaces[r.IntN(len(fastGenSpaces))]) }
	sp()
	b.WriteByte('{')
	n := 0
	member := func(k, v string) {
		if n > 0 {
			sp()
			b.WriteByte(',')
		}
		n++
		sp()
		b.WriteString(`"` + k + `"`)
		sp()
		b.WriteByte(':')
		sp()
		b.WriteString(v)
	}
	if r.IntN(4) > 0 {
		for _, m := range [][2]string{{"id", `"m1"`}, {"account", `"acme"`}, {"from", `"ACME"`}, {"to", `"+4477"`}, {"text", `"hi"`}} {
			if r.IntN(10) > 0 {
				member(m[0], m[1])
			}
		}
	}
	for range r.IntN(5) {
		member(fastGenKeys[r.IntN(len(fastGenKeys))], fastGenValues[r.IntN(len(fastGenValues))])
	}
	sp()
	b.WriteByte('}')
	b.WriteString(fastGenTrailing[r.IntN(len(fastGenTrailing))])
	out := []byte(b.String())
	if r.IntN(8) == 0 && len(out) > 0 {
		i := r.IntN(len(out))
		switch r.IntN(3) {
		case 0:
			out = append(out[:i], out[i+1:]...)
		case 1:
			out[i] = "{}[]\",:\\0123456789.-eEnul \x00\x7f\xc3"[r.IntN(25)]
		default:
			out = append(out[:i], append([]byte{out[r.IntN(len(out))]}, out[i:]...)...)
		}
	}
	return out
}

// TestDecodeSubmitFastRandom compares the decoders on generated records;
// DECODE_FAST_ITERATIONS sets how many (default 20000).
func TestDecodeSubmitFastRandom(t *testing.T) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("DECODE_FAST_ITERATIONS")); err == nil {
		n = v
	}
	seed := uint64(time.Now().UnixNano())
	r := rand.New(rand.NewPCG(seed, 1))
	fast := 0
	for range n {
		in := randomSubmitRecord(r)
		if sameAsDecodeSubmit(t, in, fastTestMaxBytes) {
			fast++
		}
		if t.Failed() {
			t.Fatalf("seed %d, input %q", seed, in)
		}
	}
	t.Logf("%d of %d decoded without fallback", fast, n)
}

func FuzzDecodeSubmitFast(f *testing.F) {
	for _, tc := range fastCases {
		f.Add([]byte(tc.in))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100 {
		f.Add(randomSubmitRecord(r))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		sameAsDecodeSubmit(t, in, fastTestMaxBytes)
	})
}

func BenchmarkDecodeSubmit(b *testing.B) {
	in := []byte(benchSubmitRecord)
	for _, bc := range []struct {
		name string
		fn   func([]byte, int) (*submitRecord, string, error)
	}{{"json", decodeSubmit}, {"fast", decodeSubmitFast}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if _, _, err := bc.fn(in, 4096); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
