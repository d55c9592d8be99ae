package config

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

// The deployment files stay valid: every YAML document parses, and the
// smsgate configs they ship pass Validate (with their secrets from the
// environment, as in production).
func TestDeployFiles(t *testing.T) {
	root := filepath.Join("..", "..", "deploy")
	for _, f := range []string{"compose/docker-compose.yml", "compose/smsgate.yml", "kubernetes/smsgate.yaml",
		"prometheus/prometheus.yml", "grafana/provisioning/datasources/prometheus.yml", "grafana/provisioning/dashboards/smsgate.yml"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		docs := 0
		for {
			var v any
			if err := dec.Decode(&v); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Errorf("%s: %v", f, err)
				break
			}
			docs++
		}
		if docs == 0 {
			t.Errorf("%s: no YAML document", f)
		}
	}
	t.Setenv("SMSGATE_POSTGRES_DSN", "postgres://smsgate@postgres:5432/smsgate")
	t.Setenv("SMSGATE_API_TOKEN", "t")
	t.Setenv("SIM_PASSWORD", "p")
	t.Setenv("MAGTI_PASSWORD", "p")
	if _, err := Load(filepath.Join(root, "compose", "smsgate.yml")); err != nil {
		t.Errorf("compose smsgate.yml: %v", err)
	}
	// The Kubernetes ConfigMap embeds a config too.
	b, _ := os.ReadFile(filepath.Join(root, "kubernetes", "smsgate.yaml"))
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	if err := yaml.NewDecoder(bytes.NewReader(b)).Decode(&cm); err != nil || cm.Data["smsgate.yml"] == "" {
		t.Fatalf("ConfigMap: %v", err)
	}
	if _, err := Parse([]byte(cm.Data["smsgate.yml"]), "."); err != nil {
		t.Errorf("Kubernetes ConfigMap smsgate.yml: %v", err)
	}
}
