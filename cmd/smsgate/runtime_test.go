package main

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"

	"go.uber.org/zap"

	"github.com/smsgate/smsgate/internal/config"
)

// The config sets the collector's pace; the soft memory limit comes from
// the config or, without one, from the container's memory.max.
func TestApplyRuntime(t *testing.T) {
	// GOGC and GOMEMLIMIT in the environment would win by design: the
	// test runs without them.
	for _, k := range []string{"GOGC", "GOMEMLIMIT"} {
		if v, set := os.LookupEnv(k); set {
			_ = os.Unsetenv(k)
			defer os.Setenv(k, v) //nolint:errcheck // restoring the test's environment
		}
	}
	oldGC := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(-1)
	defer func() { debug.SetGCPercent(oldGC); debug.SetMemoryLimit(oldLimit) }()
	oldPath := cgroupMemoryMax
	defer func() { cgroupMemoryMax = oldPath }()

	dir := t.TempDir()
	cgroupMemoryMax = filepath.Join(dir, "memory.max")
	if err := os.WriteFile(cgroupMemoryMax, []byte("1073741824\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	applyRuntime(config.Runtime{GCPercent: 300}, zap.NewNop())
	if got := debug.SetGCPercent(300); got != 300 {
		t.Errorf("GC percent %d, want 300", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 768<<20 {
		t.Errorf("memory limit %d MiB, want 768 (75%% of 1 GiB)", got>>20)
	}
	applyRuntime(config.Runtime{GCPercent: 200, MemoryLimitMiB: 300}, zap.NewNop())
	if got := debug.SetMemoryLimit(-1); got != 300<<20 {
		t.Errorf("memory limit %d MiB, want 300 from the config", got>>20)
	}
	if err := os.WriteFile(cgroupMemoryMax, []byte("max\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := containerMemory(); got != 0 {
		t.Errorf("memory.max \"max\" read as %d", got)
	}
}
