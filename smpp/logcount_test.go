package smpp

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/smsgate/smsgate/smpp/pdu"
)

// noDuplicateKeys fails on a log line that carries a field twice.
func noDuplicateKeys(t *testing.T, logs *observer.ObservedLogs) {
	t.Helper()
	for _, e := range logs.All() {
		seen := map[string]bool{}
		for _, f := range e.Context {
			if seen[f.Key] {
				t.Errorf("log line %q carries %q twice: %v", e.Message, f.Key, e.ContextMap())
			}
			seen[f.Key] = true
		}
	}
}

// A burst of responses that match nothing is logged with its full count,
// even when the stream goes quiet right after it, and counted.
func TestUnmatchedBurstCountedAndLogged(t *testing.T) {
	f := newFakeSMSC(t)
	core, logs := observer.New(zapcore.DebugLevel)
	reg := prometheus.NewRegistry()
	o := testOptions(f)
	o.Logger, o.Metrics = zap.New(core), NewMetrics(reg)
	_, c := dial(t, f, o)
	const burst = 20002
	var b []byte
	for i := range burst {
		b = pdu.AppendEmpty(b, pdu.SubmitSMResp, 0, uint32(900000+i))
	}
	if !c.send(b) {
		t.Fatal("send")
	}
	var logged int64
	deadline := time.Now().Add(10 * time.Second)
	for logged < burst && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		logged = 0
		for _, e := range logs.FilterMessage("smpp: responses matching no outstanding request (late or bogus)").All() {
			logged += e.ContextMap()["count"].(int64)
		}
	}
	if logged != burst {
		t.Errorf("logged count %d, want %d", logged, burst)
	}
	if n := logs.FilterMessage("smpp: responses matching no outstanding request (late or bogus)").Len(); n > 3 {
		t.Errorf("%d log lines for one burst", n)
	}
	if got := testutil.ToFloat64(o.Metrics.late.WithLabelValues("test")); got != burst {
		t.Errorf("late_responses_total = %v, want %d", got, burst)
	}
	noDuplicateKeys(t, logs)
}

// Framing errors that end the session are counted: a command_length out
// of range, and a stream that ends inside a header or a body.
func TestFramingErrorsCounted(t *testing.T) {
	cases := map[string]struct {
		bytes []byte
		kind  string
	}{
		"length 0":          {hdr(0, 0x00000005), kindBadLength},
		"length 15":         {hdr(15, 0x00000005), kindBadLength},
		"length 2^31":       {hdr(1<<31, 0x00000005), kindBadLength},
		"inside the header": {hdr(16, 0x00000015)[:9], kindTruncated},
		"inside the body":   {append(hdr(40, 0x00000005), "short"...), kindTruncated},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFakeSMSC(t)
			core, logs := observer.New(zapcore.DebugLevel)
			o := testOptions(f)
			o.Logger, o.Metrics = zap.New(core), NewMetrics(prometheus.NewRegistry())
			s, conn := dial(t, f, o)
			conn.send(c.bytes)
			if c.kind == kindTruncated {
				conn.c.Close() // the stream ends inside the PDU
			}
			waitDone(t, s, 5*time.Second)
			if got := testutil.ToFloat64(o.Metrics.pduErrors.WithLabelValues("test", c.kind)); got != 1 {
				t.Errorf("pdu_errors_total{kind=%s} = %v, want 1 (session error %v)", c.kind, got, s.Err())
			}
			if !strings.Contains(s.Err().Error(), "pdu:") {
				t.Errorf("session error %v does not say why", s.Err())
			}
			noDuplicateKeys(t, logs)
		})
	}
}

func hdr(length uint32, id uint32) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint32(b[0:], length)
	binary.BigEndian.PutUint32(b[4:], id)
	binary.BigEndian.PutUint32(b[12:], 7)
	return b
}
