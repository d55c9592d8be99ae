package gateway

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/testcert"
)

// An operator's tls_ca_file and tls_server_name reach the bind's TLS
// settings: a certificate from that private CA is trusted, by name; the
// system roots alone do not trust it.
func TestOperatorTLSWithPrivateCA(t *testing.T) {
	ca := testcert.New(t, "smsc.operator.test", "smsc.operator.test")
	caFile := filepath.Join(t.TempDir(), "operator-ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{ca.TLS}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	handshake := func(cfg *tls.Config) error {
		d := &net.Dialer{Timeout: 5 * time.Second}
		c, err := tls.DialWithDialer(d, "tcp", ln.Addr().String(), cfg)
		if err == nil {
			c.Close()
		}
		return err
	}
	op := &config.Operator{Host: "127.0.0.1", TLS: true, TLSCAFile: caFile, TLSServerName: "smsc.operator.test"}
	if err := handshake(tlsConfig(op)); err != nil {
		t.Errorf("private CA and server name: %v", err)
	}
	op.TLSServerName = "" // the certificate does not name 127.0.0.1
	if err := handshake(tlsConfig(op)); err == nil {
		t.Error("a certificate for another name was accepted")
	}
	op.TLSServerName, op.TLSCAFile = "smsc.operator.test", ""
	if err := handshake(tlsConfig(op)); err == nil {
		t.Error("the system roots trusted a private CA's certificate")
	}
	if tlsConfig(&config.Operator{Host: "x"}) != nil {
		t.Error("tls: false must give plain TCP")
	}
}
