// Package servers starts the real Mosquitto and InfluxDB processes that integration
// tests, benchmarks and the demo run against: free loopback ports, temporary directories,
// readiness checks, and stopping exactly the process that was started, by PID.
package servers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// FreePort asks the kernel for a free loopback TCP port. A tiny race remains between
// closing the listener and the server binding it; Start retries on bind failure.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// proc is one child process that can be stopped and started again with the same
// command line, so tests can restart a server mid-stream.
type proc struct {
	mu      sync.Mutex
	name    string
	args    []string
	env     []string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return nil
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open server log %s: %w", p.logPath, err)
	}
	cmd := exec.Command(p.name, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Own process group: a Ctrl-C on the terminal reaches us first, and we stop the
	// server ourselves after flushing clients.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	p.cmd, p.done = cmd, done
	return nil
}

// stop sends sig and waits up to grace, then kills.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd, p.done = nil, nil
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
}

func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

func (p *proc) exited() bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return true
	}
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// waitTCP waits until addr accepts connections, the process exits, or ctx ends.
func waitTCP(ctx context.Context, p *proc, addr string) error {
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if p.exited() {
			log, _ := os.ReadFile(p.logPath)
			return fmt.Errorf("%s exited before listening on %s; its log:\n%s", filepath.Base(p.name), addr, tail(log, 2000))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not listening on %s: %w", filepath.Base(p.name), addr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// ErrNotFound says a server binary is missing; callers turn it into a skip or an
// instruction to run `make servers`.
var ErrNotFound = errors.New("server binary not found")

// findBinary returns the first candidate that exists and is executable.
func findBinary(envVar string, candidates ...string) (string, error) {
	if v := os.Getenv(envVar); v != "" {
		candidates = append([]string{v}, candidates...)
	}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if filepath.Base(c) == c {
			if p, err := exec.LookPath(c); err == nil {
				return p, nil
			}
			continue
		}
		if st, err := os.Stat(c); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return c, nil
		}
	}
	return "", fmt.Errorf("%w: set %s or install it (tried %v)", ErrNotFound, envVar, candidates)
}

// moduleRoot walks up from the working directory to the directory holding go.mod, so
// tests in any package find bin/influxd.
func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
