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
	"strings"
	"sync"
	"syscall"
	"time"
)

// FreePort asks the kernel for a free loopback TCP port. A tiny race remains between
// closing the listener and the server binding it; the servers here retry on bind failure.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreeAddr is FreePort as a "127.0.0.1:port" address, the form --http-addr and
// --pprof-addr take.
func FreeAddr() (string, error) {
	p, err := FreePort()
	if err != nil {
		return "", err
	}
	return "127.0.0.1:" + strconv.Itoa(p), nil
}

// Process is one program run as a child process that is stopped by its PID (never by
// name) and may be started again with the same command line, so tests can kill or
// restart a server or a Faultline program mid-stream. Every run appends its stdout and
// stderr to LogPath. The child runs in its own process group, so a Ctrl-C on the
// terminal reaches the parent first and it stops the child itself, and it gets SIGKILL
// if the parent dies.
type Process struct {
	Name    string   // used in messages; the base name of Path when empty
	Path    string   // the binary
	Args    []string // its arguments
	Env     []string // the child's whole environment; nil inherits this process's
	LogPath string

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	exitErr error
}

func (p *Process) name() string {
	if p.Name != "" {
		return p.Name
	}
	return filepath.Base(p.Path)
}

// Start runs the program once more; it does nothing while the program is running.
func (p *Process) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return nil
	}
	logf, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open %s log %s: %w", p.name(), p.LogPath, err)
	}
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Env = p.Env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", p.name(), err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.exitErr = cmd, done, nil
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

// PID of the running program, 0 when stopped.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Exited reports whether the last run ended (true also when never started or
// stopped), and with what error.
func (p *Process) Exited() (bool, error) {
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

// Wait waits until the program exits by itself or ctx ends; on ctx's end it returns
// ctx's error and leaves the program running.
func (p *Process) Wait(ctx context.Context) error {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		p.mu.Lock()
		defer p.mu.Unlock()
		err := p.exitErr
		if p.done == done {
			p.cmd, p.done = nil, nil
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WaitFor waits up to d for the program to exit by itself; exited is false on timeout.
func (p *Process) WaitFor(d time.Duration) (exited bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	err = p.Wait(ctx)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		return false, nil
	}
	return true, err
}

// Send sends sig to the running program and does not wait (a SIGHUP that must not
// stop it, for example); it is an error when the program is not running.
func (p *Process) Send(sig os.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return fmt.Errorf("signal %s: %s is not running", sig, p.name())
	}
	return p.cmd.Process.Signal(sig)
}

// Signal sends sig, waits up to grace for the exit, then sends SIGKILL and waits.
func (p *Process) Signal(sig syscall.Signal, grace time.Duration) {
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
	if p.done == done {
		p.cmd, p.done = nil, nil
	}
	p.mu.Unlock()
}

// Stop sends SIGTERM (every program here drains on it), waits up to grace, then kills.
func (p *Process) Stop(grace time.Duration) { p.Signal(syscall.SIGTERM, grace) }

// Kill sends SIGKILL and waits for the program to be gone.
func (p *Process) Kill() { p.Signal(syscall.SIGKILL, 10*time.Second) }

// Log returns everything the program wrote so far, over all its runs.
func (p *Process) Log() string {
	b, _ := os.ReadFile(p.LogPath)
	return string(b)
}

// BuildPrograms builds ./cmd/<name> for each name into dir from the module root
// (static, CGO_ENABLED=0), so a test or benchmark runs the code under test rather than
// whatever sits in bin/.
func BuildPrograms(ctx context.Context, dir string, names ...string) error {
	root := ModuleRoot()
	if root == "" {
		return fmt.Errorf("build %v: go.mod not found above the working directory", names)
	}
	args := []string{"build", "-o", dir + string(os.PathSeparator)}
	for _, n := range names {
		args = append(args, "./cmd/"+n)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}
