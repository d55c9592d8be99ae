package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"time"
)

// profiler records a runtime trace and/or a CPU profile for a while from
// the window's start (both off when the paths are empty).
type profiler struct {
	tracePath, cpuPath string
	dur                time.Duration
	stopAt             time.Time
	files              []*os.File
}

func (p *profiler) start() {
	if p.tracePath == "" && p.cpuPath == "" {
		return
	}
	p.stopAt = time.Now().Add(p.dur)
	if p.tracePath != "" {
		if f, err := os.Create(p.tracePath); err == nil {
			if err := trace.Start(f); err == nil {
				p.files = append(p.files, f)
			} else {
				f.Close()
				fmt.Fprintln(os.Stderr, "scale: trace:", err)
			}
		}
	}
	if p.cpuPath != "" {
		if f, err := os.Create(p.cpuPath); err == nil {
			if err := pprof.StartCPUProfile(f); err == nil {
				p.files = append(p.files, f)
			} else {
				f.Close()
				fmt.Fprintln(os.Stderr, "scale: cpu profile:", err)
			}
		}
	}
}

// tick stops the recordings once their time is up (or when final).
func (p *profiler) tick(final bool) {
	if len(p.files) == 0 || (!final && time.Now().Before(p.stopAt)) {
		return
	}
	if p.tracePath != "" {
		trace.Stop()
	}
	if p.cpuPath != "" {
		pprof.StopCPUProfile()
	}
	for _, f := range p.files {
		_ = f.Close()
	}
	p.files = nil
	fmt.Fprintln(os.Stderr, "scale: profile written")
}
