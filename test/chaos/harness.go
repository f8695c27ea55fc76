package chaos

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/servers"
)

// ModuleRoot walks up from the working directory to the directory holding go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// BuildPrograms builds ./cmd/<name> for each name into dir, from the module root, so
// RunWithPrograms is a TestMain body for packages whose tests run the real programs:
// it builds the named programs into a temporary directory, stores it in *dir, runs the
// tests and removes the directory. In -short mode nothing is built.
func RunWithPrograms(m *testing.M, dir *string, names ...string) int {
	flag.Parse()
	if testing.Short() {
		return m.Run()
	}
	d, err := os.MkdirTemp("", "faultline-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(d)
	if err := BuildPrograms(d, names...); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		return 1
	}
	*dir = d
	return m.Run()
}

// the suite runs the code under test rather than whatever sits in bin/.
func BuildPrograms(dir string, names ...string) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	args := []string{"build", "-o", dir + string(os.PathSeparator)}
	for _, n := range names {
		args = append(args, "./cmd/"+n)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// FreeAddr returns a free loopback address for a /metrics listener.
func FreeAddr() (string, error) {
	p, err := servers.FreePort()
	if err != nil {
		return "", err
	}
	return "127.0.0.1:" + strconv.Itoa(p), nil
}

// Proc is one program run as a subprocess that the suite may SIGKILL and start again.
// Every run appends its stdout and stderr to the same log file.
type Proc struct {
	Name     string
	Bin      string
	Args     []string
	Env      []string // added to a minimal environment (PATH, HOME)
	HTTPAddr string   // its /metrics address, "" when it has none
	LogPath  string

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	exitErr error
	Started time.Time
}

// Start runs the program once more with the same arguments.
func (p *Proc) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s already running", p.Name)
	}
	logf, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.Bin, p.Args...)
	// A clean environment: the services must get their secrets from the files and
	// variables the test hands them, not from the developer's shell.
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}, p.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.Started = cmd, done, time.Now()
	go func() {
		err := cmd.Wait()
		logf.Close()
		p.mu.Lock()
		p.exitErr = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// PID of the running process, 0 when stopped.
func (p *Proc) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Exited reports whether the last run ended on its own, and with what.
func (p *Proc) Exited() (bool, error) {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return true, nil
	}
	select {
	case <-done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return true, p.exitErr
	default:
		return false, nil
	}
}

// Wait waits up to d for the process to exit by itself; exited is false on timeout.
func (p *Proc) Wait(d time.Duration) (exited bool, err error) {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return true, nil
	}
	select {
	case <-done:
		p.mu.Lock()
		defer p.mu.Unlock()
		err := p.exitErr
		p.cmd, p.done = nil, nil
		return true, err
	case <-time.After(d):
		return false, nil
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Proc) Kill() { p.signal(syscall.SIGKILL, 10*time.Second) }

// Stop sends SIGTERM, waits up to grace, then SIGKILLs.
func (p *Proc) Stop(grace time.Duration) { p.signal(syscall.SIGTERM, grace) }

func (p *Proc) signal(sig syscall.Signal, grace time.Duration) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-done
	}
	p.mu.Lock()
	p.cmd, p.done = nil, nil
	p.mu.Unlock()
}

// Log returns everything the program wrote so far, over all its runs.
func (p *Proc) Log() string {
	b, _ := os.ReadFile(p.LogPath)
	return string(b)
}

// Metrics scrapes /metrics into series -> value ("name" or `name{label="v"}`).
func (p *Proc) Metrics() (map[string]float64, error) {
	if p.HTTPAddr == "" {
		return nil, fmt.Errorf("%s has no /metrics address", p.Name)
	}
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + p.HTTPAddr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out, sc.Err()
}

// Metric returns the sum of every series whose name or full key is key (-1 on a
// failed scrape).
func (p *Proc) Metric(key string) float64 {
	m, err := p.Metrics()
	if err != nil {
		return -1
	}
	return Sum(m, key)
}

// Sum adds the series of a scrape named key, or the one series equal to key.
func Sum(m map[string]float64, key string) float64 {
	if v, ok := m[key]; ok {
		return v
	}
	var s float64
	for k, v := range m {
		if strings.HasPrefix(k, key+"{") {
			s += v
		}
	}
	return s
}

// Ready polls /readyz until it answers 200 or ctx ends.
func (p *Proc) Ready(ctx context.Context) error {
	c := http.Client{Timeout: time.Second}
	return Poll(ctx, 100*time.Millisecond, func() bool {
		resp, err := c.Get("http://" + p.HTTPAddr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// Poll calls cond every interval until it holds or ctx ends.
func Poll(ctx context.Context, every time.Duration, cond func() bool) error {
	for {
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
}

// RSSWatch samples the resident set of a process from /proc/PID/status; pid is asked
// on every sample so a restarted process keeps being watched.
type RSSWatch struct {
	peak atomic.Int64 // kB
	stop chan struct{}
	wg   sync.WaitGroup
}

// WatchRSS samples every 100 ms until Stop.
func WatchRSS(pid func() int) *RSSWatch {
	w := &RSSWatch{stop: make(chan struct{})}
	w.wg.Go(func() {
		for {
			if kb := StatusKB(pid(), "VmRSS:"); kb > w.peak.Load() {
				w.peak.Store(kb)
			}
			select {
			case <-w.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
	return w
}

// Stop ends the sampling and returns the peak RSS in MB.
func (w *RSSWatch) Stop() float64 {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	w.wg.Wait()
	return w.PeakMB()
}

// PeakMB is the highest RSS seen so far.
func (w *RSSWatch) PeakMB() float64 { return float64(w.peak.Load()) / 1024 }

// StatusKB reads one kB field (VmRSS:, VmHWM:) of /proc/PID/status; 0 when gone.
func StatusKB(pid int, key string) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			if f := strings.Fields(v); len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}
