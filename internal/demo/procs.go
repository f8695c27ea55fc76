package demo

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/faultline/faultline/internal/servers"
)

// childGrace is how long a Faultline program gets to flush after SIGTERM.
const childGrace = 15 * time.Second

// start starts a Faultline program of BinDir as a servers.Process: it is stopped by PID
// with SIGTERM (the programs flush on SIGTERM), then SIGKILL after childGrace.
func (d *Demo) start(name string, env []string, args ...string) (*servers.Process, error) {
	bin := filepath.Join(d.cfg.BinDir, name)
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%s not built (run `make build`): %w", bin, err)
	}
	logPath := filepath.Join(d.cfg.OutDir, "logs", name+".log")
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		logPath = filepath.Join(d.cfg.OutDir, "logs", name+"-"+args[0]+".log")
	}
	p := &servers.Process{Name: name, Path: bin, Args: args, LogPath: logPath,
		Env: append(append(os.Environ(), "FAULTLINE_LOG_FORMAT=json"), env...)}
	if err := p.Start(); err != nil {
		return nil, err
	}
	d.children = append(d.children, p)
	return p, nil
}

// exec starts a program and waits for it to exit successfully.
func (d *Demo) exec(ctx context.Context, name string, env []string, args ...string) error {
	p, err := d.start(name, env, args...)
	if err != nil {
		return err
	}
	if err := p.Wait(ctx); err != nil {
		if ctx.Err() != nil {
			p.Stop(childGrace)
			return ctx.Err()
		}
		return fmt.Errorf("%s %s failed: %w; see %s", name, strings.Join(args, " "), err, p.LogPath)
	}
	return nil
}

// waitHTTP waits until a program's /healthz answers.
func waitHTTP(ctx context.Context, p *servers.Process, addr string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if exited, _ := p.Exited(); exited {
			return fmt.Errorf("%s exited during start-up; see %s", p.Name, p.LogPath)
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
	return fmt.Errorf("%s /healthz on %s not up after 30s; see %s", p.Name, addr, p.LogPath)
}
