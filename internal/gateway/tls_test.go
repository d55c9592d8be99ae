package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smsgate/smsgate/internal/config"
)

// An operator's tls_ca_file and tls_server_name reach the bind's TLS
// settings: a certificate from that private CA is trusted, by name; the
// system roots alone do not trust it.
func TestOperatorTLSWithPrivateCA(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "smsc.operator.test"},
		DNSNames: []string{"smsc.operator.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "operator-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
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
