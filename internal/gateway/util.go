package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"

	"github.com/smsgate/smsgate/internal/config"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// tlsConfig returns the TLS settings of an operator bind, nil for plain TCP.
func tlsConfig(oc *config.Operator) *tls.Config {
	if !oc.TLS {
		return nil
	}
	name := oc.TLSServerName
	if name == "" {
		name = oc.Host
	}
	// Validate read the CA file already; an error here means it changed
	// since, and a nil pool would silently trust the system roots instead.
	roots, err := oc.CertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	return &tls.Config{ServerName: name, RootCAs: roots, MinVersion: tls.VersionTLS12}
}
