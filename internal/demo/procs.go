package demo

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// child is a Faultline program the demo started; it is stopped by PID with SIGTERM
// (the programs flush on SIGTERM), then SIGKILL after a grace period.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan error
	log  string
}

func (d *Demo) start(ctx context.Context, name string, env []string, args ...string) (*child, error) {
	bin := filepath.Join(d.cfg.BinDir, name)
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%s not built (run `make build`): %w", bin, err)
	}
	logPath := filepath.Join(d.cfg.OutDir, "logs", name+".log")
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		logPath = filepath.Join(d.cfg.OutDir, "logs", name+"-"+args[0]+".log")
	}
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), "FAULTLINE_LOG_FORMAT=json"), env...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, done: make(chan error, 1), log: logPath}
	go func() { c.done <- cmd.Wait(); lf.Close() }()
	d.children = append(d.children, c)
	return c, nil
}

// exec starts a program and waits for it to exit successfully.
func (d *Demo) exec(ctx context.Context, name string, env []string, args ...string) error {
	c, err := d.start(ctx, name, env, args...)
	if err != nil {
		return err
	}
	select {
	case err := <-c.done:
		c.done <- err
		if err != nil {
			return fmt.Errorf("%s %s failed: %w; see %s", name, strings.Join(args, " "), err, c.log)
		}
		return nil
	case <-ctx.Done():
		c.stop()
		return ctx.Err()
	}
}

func (c *child) stop() {
	select {
	case err := <-c.done:
		c.done <- err
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-c.done:
		c.done <- err
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
	}
}

func (c *child) exited() bool {
	select {
	case err := <-c.done:
		c.done <- err
		return true
	default:
		return false
	}
}

// waitHTTP waits until a program's /healthz answers.
func waitHTTP(ctx context.Context, c *child, addr string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c.exited() {
			return fmt.Errorf("%s exited during start-up; see %s", c.name, c.log)
		}
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s /healthz on %s not up after 30s; see %s", c.name, addr, c.log)
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:0"
	}
	defer l.Close()
	return l.Addr().String()
}
