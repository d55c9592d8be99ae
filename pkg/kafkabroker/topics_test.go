package kafkabroker

import (
	"errors"
	"maps"
	"net"
	"strconv"
	"strings"
	"testing"
)

func TestParseTopics(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]int
		wantErr bool
	}{
		{in: "", want: map[string]int{}},
		{in: "  ", want: map[string]int{}},
		{in: "sms.submit:4,sms.status:4,sms.mo:1,sms.dlq:1", want: map[string]int{"sms.submit": 4, "sms.status": 4, "sms.mo": 1, "sms.dlq": 1}},
		{in: " a:2 , b ", want: map[string]int{"a": 2, "b": 1}},
		{in: "A_b-9.x:1024", want: map[string]int{"A_b-9.x": 1024}},
		{in: "a:1025", wantErr: true},
		{in: "a:0", wantErr: true},
		{in: "a:-1", wantErr: true},
		{in: "a:x", wantErr: true},
		{in: "a:", wantErr: true},
		{in: ":3", wantErr: true},
		{in: "a,,b", wantErr: true},
		{in: "a,a:2", wantErr: true},
		{in: "a b:1", wantErr: true},
		{in: "a/b:1", wantErr: true},
		{in: "..:1", wantErr: true},
		{in: "a:1:2", wantErr: true},
		{in: strings.Repeat("x", 250), wantErr: true},
		{in: strings.Repeat("x", 249), want: map[string]int{strings.Repeat("x", 249): 1}},
	}
	for _, tc := range tests {
		got, err := ParseTopics(tc.in)
		if tc.wantErr {
			if err == nil || !errors.Is(err, ErrBadTopic) {
				t.Errorf("ParseTopics(%q) = %v, %v; want ErrBadTopic", tc.in, got, err)
			}
			continue
		}
		if err != nil || !maps.Equal(got, tc.want) {
			t.Errorf("ParseTopics(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestFormatTopics(t *testing.T) {
	got := FormatTopics(map[string]int{"sms.submit": 4, "sms.dlq": 1, "sms.mo": 1})
	if want := "sms.dlq:1,sms.mo:1,sms.submit:4"; got != want {
		t.Fatalf("FormatTopics = %q, want %q", got, want)
	}
	if got := FormatTopics(nil); got != "" {
		t.Fatalf("FormatTopics(nil) = %q", got)
	}
}

// FuzzParseTopics: no panic; anything accepted is valid and survives a
// FormatTopics round trip.
func FuzzParseTopics(f *testing.F) {
	for _, s := range []string{"", "sms.submit:4,sms.status:4,sms.mo:1,sms.dlq:1", "a", "a:+3", "a:1,a:1", " x : 2", "a:99999999999999999999", "\xff:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTopics(s)
		if err != nil {
			if !errors.Is(err, ErrBadTopic) {
				t.Fatalf("ParseTopics(%q) error %v is not ErrBadTopic", s, err)
			}
			return
		}
		for name, n := range got {
			if err := checkTopic(name, n); err != nil {
				t.Fatalf("ParseTopics(%q) accepted %q:%d: %v", s, name, n, err)
			}
		}
		again, err := ParseTopics(FormatTopics(got))
		if err != nil || !maps.Equal(again, got) {
			t.Fatalf("round trip of %q: %v, %v; want %v", s, again, err, got)
		}
	})
}

// FuzzLoopbackHostPort: no panic; an accepted address is loopback, has a
// valid port, and is accepted again unchanged when rebuilt.
func FuzzLoopbackHostPort(f *testing.F) {
	for _, s := range []string{"127.0.0.1:0", ":9092", "localhost:1", "[::1]:9092", "0.0.0.0:1", "[::ffff:127.0.0.1]:5", "127.1:2", "x", "[::1%lo]:3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		host, port, err := loopbackHostPort(s)
		if err != nil {
			return
		}
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() || port < 0 || port > 65535 {
			t.Fatalf("loopbackHostPort(%q) = %q, %d", s, host, port)
		}
		h2, p2, err := loopbackHostPort(net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil || h2 != host || p2 != port {
			t.Fatalf("rebuilt %q: %q, %d, %v", s, h2, p2, err)
		}
	})
}
