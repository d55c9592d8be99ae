package web

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smsgate/smsgate/internal/testcert"
)

// writeCert writes a self-signed certificate for 127.0.0.1 named cn.
func writeCert(t *testing.T, dir, cn string) (certFile, keyFile string) {
	t.Helper()
	c := testcert.New(t, cn, "127.0.0.1")
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, c.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, c.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// HTTPS only, TLS 1.2 or later, and a new certificate is served after
// ReloadTLS (what SIGHUP calls).
func TestHTTPS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeCert(t, dir, "first")
	addr := make(chan string, 1)
	srv := New(Options{Listen: "127.0.0.1:0", TLSCert: certFile, TLSKey: keyFile, Addr: addr})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	host := <-addr

	served := func(maxVersion uint16) (string, error) {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", host,
			&tls.Config{InsecureSkipVerify: true, MaxVersion: maxVersion}) //nolint:gosec // the test inspects the served certificate itself
		if err != nil {
			return "", err
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
	}
	if cn, err := served(0); err != nil || cn != "first" {
		t.Fatalf("TLS: %q %v", cn, err)
	}
	if _, err := served(tls.VersionTLS11); err == nil {
		t.Error("TLS 1.1 accepted")
	}
	// Plain HTTP gets no answer it can use.
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Timeout: 2 * time.Second, Transport: tr}
	if resp, err := c.Get("http://" + host + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP served /healthz")
		}
	}
	// Rotate: a broken pair keeps the old one; a good pair replaces it.
	if err := os.WriteFile(keyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := srv.ReloadTLS(); err == nil {
		t.Error("ReloadTLS accepted a broken key")
	}
	if cn, err := served(0); err != nil || cn != "first" {
		t.Fatalf("after a failed reload: %q %v", cn, err)
	}
	writeCert(t, dir, "second")
	if err := srv.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	if cn, err := served(0); err != nil || cn != "second" {
		t.Fatalf("after reload: %q %v", cn, err)
	}
}
