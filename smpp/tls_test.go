package smpp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
	"time"

	"github.com/smsgate/smsgate/internal/testcert"
	"github.com/smsgate/smsgate/smpp/pdu"
)

// selfSigned returns a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	c := testcert.New(t, "fake smsc", "127.0.0.1")
	return c.TLS, c.Pool
}

func TestTLS(t *testing.T) {
	cert, roots := selfSigned(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeSMSCOn(t, tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}}))
	o := testOptions(f)
	o.TLSConfig = &tls.Config{RootCAs: roots}
	s, c := dial(t, f, o)
	r := make(results, 1)
	submit(t, s, r)
	c.expectID(t, pdu.SubmitSM)
	if res := r.next(t); !res.Accepted() {
		t.Errorf("result %+v", res)
	}

	// An untrusted certificate fails the dial, not the bind.
	o.TLSConfig = &tls.Config{}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s, err := Dial(ctx, o); err == nil {
		s.Close(ctx)
		t.Error("Dial trusted an unknown certificate")
	}
}
