package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a child process in its own process group, so that stopping it
// also stops anything it started (node, a shell wrapper).
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// startProc starts name with args; stdout and stderr go to logPath. The
// process is killed when ctx ends (the caller still calls stop to reap it).
func startProc(ctx context.Context, logPath, name string, args ...string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("log of %s: %w", name, err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	// Pdeathsig: a harness killed with SIGKILL takes its children along.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	// The watcher ends with the process: either ctx ends first and the
	// process group is killed, or the process exits on its own.
	go func() {
		select {
		case <-ctx.Done():
			p.signal(syscall.SIGKILL)
		case <-p.done:
		}
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) signal(sig syscall.Signal) {
	// Negative pid: the whole process group.
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the group, waits up to grace, then SIGKILL.
func (p *proc) stop(grace time.Duration) {
	if p == nil {
		return
	}
	p.signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.signal(syscall.SIGKILL)
		<-p.done
	}
}

// wait waits for the process to end on its own, up to d; it is killed after.
func (p *proc) wait(d time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		p.signal(syscall.SIGKILL)
		<-p.done
		return fmt.Errorf("%s: still running after %s, killed", p.name, d)
	}
}

// logTail returns the last n bytes of a log file, for error messages.
func logTail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		_, _ = f.Seek(-n, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	return strings.TrimSpace(string(b))
}

// usage is what /proc says about one process.
type usage struct {
	cpu float64 // user+system seconds
	rss int64   // bytes
}

var errNoProc = errors.New("no such process")

// readUsage reads /proc/<pid>/stat. Fields after the command name (which may
// contain spaces) are counted from the closing parenthesis.
func readUsage(pid int) (usage, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return usage{}, errNoProc
	}
	return parseStat(string(b))
}

// clockTicks is USER_HZ; 100 on every Linux this runs on.
const clockTicks = 100

func parseStat(s string) (usage, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 > len(s) {
		return usage{}, fmt.Errorf("stat: no command name")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime 15, rss 24 (pages).
	if len(f) < 22 {
		return usage{}, fmt.Errorf("stat: %d fields", len(f))
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	rss, err3 := strconv.ParseInt(f[21], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return usage{}, fmt.Errorf("stat: %w", err)
	}
	return usage{cpu: (ut + st) / clockTicks, rss: rss * int64(os.Getpagesize())}, nil
}

// sampler follows a set of processes: the peak of their summed RSS and the
// last CPU seen of each (CPU only grows, so the last reading is the total).
type sampler struct {
	mu      sync.Mutex
	pids    []int
	cpu     map[int]float64
	base    map[int]float64 // at mark: CPU before it is startup, not work
	peakRSS int64
	stopCh  chan struct{}
	done    chan struct{}
}

func newSampler(every time.Duration, pids ...int) *sampler {
	s := &sampler{pids: pids, cpu: map[int]float64{}, stopCh: make(chan struct{}), done: make(chan struct{})}
	s.sample()
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.stopCh:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
	return s
}

func (s *sampler) sample() {
	s.mu.Lock()
	defer s.mu.Unlock()
	var rss int64
	for _, pid := range s.pids {
		u, err := readUsage(pid)
		if err != nil {
			continue
		}
		rss += u.rss
		if u.cpu > s.cpu[pid] {
			s.cpu[pid] = u.cpu
		}
	}
	s.peakRSS = max(s.peakRSS, rss)
}

// mark samples now and makes finish count CPU from here on.
func (s *sampler) mark() {
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.base = map[int]float64{}
	for pid, c := range s.cpu {
		s.base[pid] = c
	}
}

// finish takes a last sample, stops the sampler and returns CPU seconds
// summed over the processes (since mark, and before it) and the peak
// summed RSS.
func (s *sampler) finish() (cpu float64, peakRSS int64) {
	cpu, _, peakRSS = s.finishMarked()
	return cpu, peakRSS
}

func (s *sampler) finishMarked() (cpu, before float64, peakRSS int64) {
	s.sample()
	close(s.stopCh)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	for pid, c := range s.cpu {
		cpu += c - s.base[pid]
		before += s.base[pid]
	}
	return cpu, before, s.peakRSS
}
