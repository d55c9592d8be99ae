package config

import (
	"crypto/tls"
	"fmt"
)

// LoadKeyPair reads the HTTP server's certificate and key (PEM). The error
// names the files, never their contents.
func LoadKeyPair(certFile, keyFile string) (*tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls_cert %s / tls_key %s: %w", certFile, keyFile, err)
	}
	return &c, nil
}
