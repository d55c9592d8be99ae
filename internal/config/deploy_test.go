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

// What compose and Kubernetes need to work on the first `up`, checked
// offline (no container engine runs here): health checks on Postgres and
// the broker, smsgate started only once they are healthy, restart
// policies, the image `make image` builds, probes, resources, a
// disruption budget, config from a ConfigMap and secrets from a Secret.
func TestDeployShapes(t *testing.T) {
	root := filepath.Join("..", "..", "deploy")
	var compose struct {
		Services map[string]struct {
			Image       string         `yaml:"image"`
			Healthcheck map[string]any `yaml:"healthcheck"`
			DependsOn   map[string]struct {
				Condition string `yaml:"condition"`
			} `yaml:"depends_on"`
			Restart string `yaml:"restart"`
		} `yaml:"services"`
	}
	b, err := os.ReadFile(filepath.Join(root, "compose", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &compose); err != nil {
		t.Fatalf("compose: %v", err)
	}
	for _, svc := range []string{"postgres", "redpanda"} {
		if len(compose.Services[svc].Healthcheck) == 0 {
			t.Errorf("compose: %s has no healthcheck", svc)
		}
		if c := compose.Services["smsgate"].DependsOn[svc].Condition; c != "service_healthy" {
			t.Errorf("compose: smsgate depends on %s with condition %q, want service_healthy", svc, c)
		}
	}
	for name, svc := range compose.Services {
		if svc.Restart == "" {
			t.Errorf("compose: %s has no restart policy", name)
		}
	}
	if img := compose.Services["smsgate"].Image; img != "smsgate:local" {
		t.Errorf("compose: smsgate image %q, want smsgate:local (what make image builds)", img)
	}

	k8s, err := os.ReadFile(filepath.Join(root, "kubernetes", "smsgate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(k8s, []byte("planned")) || bytes.Contains(k8s, []byte("smsgate:latest")) {
		t.Error("kubernetes: a stale comment or the unbuilt smsgate:latest image")
	}
	kinds := map[string]bool{}
	dec := yaml.NewDecoder(bytes.NewReader(k8s))
	for {
		var doc struct {
			Kind string `yaml:"kind"`
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct {
							ReadinessProbe map[string]any `yaml:"readinessProbe"`
							LivenessProbe  map[string]any `yaml:"livenessProbe"`
							Resources      map[string]any `yaml:"resources"`
							EnvFrom        []any          `yaml:"envFrom"`
						} `yaml:"containers"`
						Volumes []struct {
							ConfigMap map[string]any `yaml:"configMap"`
						} `yaml:"volumes"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		}
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("kubernetes: %v", err)
		}
		kinds[doc.Kind] = true
		if doc.Kind == "Deployment" {
			c := doc.Spec.Template.Spec.Containers
			if len(c) != 1 || c[0].ReadinessProbe == nil || c[0].LivenessProbe == nil || c[0].Resources == nil || len(c[0].EnvFrom) == 0 {
				t.Errorf("kubernetes: the container lacks probes, resources or its Secret: %+v", c)
			}
			if v := doc.Spec.Template.Spec.Volumes; len(v) == 0 || v[0].ConfigMap == nil {
				t.Error("kubernetes: the config is not mounted from a ConfigMap")
			}
		}
	}
	for _, k := range []string{"ConfigMap", "Secret", "Deployment", "Service", "PodDisruptionBudget"} {
		if !kinds[k] {
			t.Errorf("kubernetes: no %s", k)
		}
	}

	df, err := os.ReadFile(filepath.Join(root, "compose", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"AS build", "CGO_ENABLED=0", "distroless/static", "USER nonroot"} {
		if !bytes.Contains(df, []byte(want)) {
			t.Errorf("Dockerfile lacks %q (multi-stage, static, non-root)", want)
		}
	}
}
