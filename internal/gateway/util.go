package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/internal/config"
)

func jsonMarshal(v any) ([]byte, error)   { return json.Marshal(v) }
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

var zoneCache sync.Map // name -> *time.Location

// loadLocation caches time.LoadLocation, which reads tzdata each call.
func loadLocation(name string) (*time.Location, error) {
	if v, ok := zoneCache.Load(name); ok {
		return v.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zoneCache.Store(name, loc)
	return loc, nil
}

// kafkaLogger adapts zap to kafka-go's logger: errors at warn, the rest at
// debug (kafka-go is chatty about rebalances).
func kafkaLogger(log *zap.Logger, errors bool) kafka.LoggerFunc {
	s := log.Named("kafka").Sugar()
	if errors {
		return func(msg string, args ...any) { s.Warnf(msg, args...) }
	}
	return func(msg string, args ...any) { s.Debugf(msg, args...) }
}

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
