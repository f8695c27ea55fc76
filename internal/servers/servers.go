// Package servers starts the real Mosquitto and InfluxDB processes that integration
// tests, benchmarks and the demo run against: free loopback ports, temporary directories,
// readiness checks, and stopping exactly the process that was started, by PID. It is
// also the one process supervisor (Process) and free-port helper (FreePort, FreeAddr)
// of the repository: the demo, the chaos and security suites and the benchmarks run
// the Faultline programs through it too.
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
	"time"
)

// waitTCP waits until addr accepts connections, the process exits, or ctx ends.
func waitTCP(ctx context.Context, p *Process, addr string) error {
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if exited, _ := p.Exited(); exited {
			return fmt.Errorf("%s exited before listening on %s; its log:\n%s", p.name(), addr, tail(p.Log(), 2000))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not listening on %s: %w", p.name(), addr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
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

// ModuleRoot walks up from the working directory to the directory holding go.mod, so
// tests in any package find bin/influxd, the programs' sources and deploy/; "" when
// there is none.
func ModuleRoot() string {
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
