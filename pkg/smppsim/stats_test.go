package smppsim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/smsgate/smsgate/smpp/pdu"
)

func TestRecordSubmits(t *testing.T) {
	s := startT(t, Options{RecordSubmits: true, MaxRecorded: 3})
	e := bound(t, s, pdu.BindTransmitter, "acme")
	sm := submitSM("99511", "hello", 1)
	sm.DataCoding = 3
	sm.TLVs = pdu.TLVs{{Tag: pdu.TagUserMessageReference, Value: pdu.U16(9)}}
	_, id := e.submit(sm)
	e.submit(submitSM("99522", "other", 0))
	e.submit(submitSM("99511", "hello", 0))
	e.submit(submitSM("99533", "over the limit", 0))
	subs := s.Submits()
	if len(subs) != 3 {
		t.Fatalf("%d recorded", len(subs))
	}
	g := subs[0]
	if g.MessageID != id || g.SystemID != "acme" || g.Source != "ACME" || g.SourceTON != 5 || g.Dest != "99511" ||
		string(g.ShortMessage) != "hello" || g.DataCoding != 3 || g.RegisteredDelivery != 1 || g.ReceivedAt.IsZero() {
		t.Errorf("record %+v", g)
	}
	if v, _ := g.TLVs.Uint(pdu.TagUserMessageReference); v != 9 || len(g.TLVs) != 1 {
		t.Errorf("TLVs %+v", g.TLVs)
	}
	if r := s.Received("99511"); len(r) != 2 || r[1].RegisteredDelivery != 0 {
		t.Errorf("Received %+v", r)
	}
	if d := s.Duplicates(); len(d) != 1 || d["99511\x00hello"] != 2 {
		t.Errorf("Duplicates %v", d)
	}
	if st := s.Stats(); st.Recorded != 3 || st.RecordDropped != 1 {
		t.Errorf("recorded %d dropped %d", st.Recorded, st.RecordDropped)
	}
	// Off by default.
	s2 := startT(t, Options{})
	bound(t, s2, pdu.BindTransmitter, "acme").submit(submitSM("1", "x", 0))
	if len(s2.Submits()) != 0 {
		t.Error("recorded without RecordSubmits")
	}
}

func TestStatsHandler(t *testing.T) {
	s := startT(t, Options{ThrottleRatio: 1})
	e := bound(t, s, pdu.BindTransmitter, "acme")
	e.submit(submitSM("1", "x", 0))
	rec := httptest.NewRecorder()
	s.StatsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/stats", nil))
	var st Stats
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	if st.Submits != 1 || st.Throttled != 1 || st.Responses["0x00000058"] != 1 || st.Systems["acme"].Current != 1 {
		t.Errorf("stats %s", rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	rec = httptest.NewRecorder()
	s.StatsHandler().ServeHTTP(rec, httptest.NewRequest("POST", "/stats", nil))
	if rec.Code != 405 {
		t.Errorf("POST: %d", rec.Code)
	}
}

// TestCloseEndsEverything closes a server with binds, delayed events, a
// half-read connection and an InjectMO in flight, and checks that every
// goroutine is gone once Close returns.
func TestCloseEndsEverything(t *testing.T) {
	s, err := Start(Options{ReceiptDelay: time.Hour, RespDelay: time.Hour, EnquireLinkInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	a := dial(t, s)
	a.bind(pdu.BindTransceiver, "acme", "")
	a.send(submitSM("1", "x", 1))
	dial(t, s) // connected, never bound
	waitFor(t, "scheduled", func() bool { return s.Stats().Scheduled == 2 })
	errc := make(chan error, 1)
	go func() {
		errc <- s.InjectMO(context.Background(), MO{SystemID: "acme", Text: "hi"})
	}()
	a.expect(pdu.DeliverSM) // sent, never answered
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrConnClosed) && !errors.Is(err, ErrClosed) {
		t.Errorf("InjectMO after Close: %v", err)
	}
	goleak.VerifyNone(t)
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	a.eof()
}
