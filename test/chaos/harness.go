package chaos

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/servers"
)

// RunWithPrograms is a TestMain body for packages whose tests run the real programs:
// it builds the named programs (servers.BuildPrograms) into a temporary directory,
// stores it in *dir, runs the tests and removes the directory. In -short mode nothing
// is built.
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
	if err := servers.BuildPrograms(context.Background(), d, names...); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		return 1
	}
	*dir = d
	return m.Run()
}

// Proc is one program run as a subprocess that the suite may SIGKILL and start again
// (servers.Process), with its /metrics address.
type Proc struct {
	*servers.Process
	HTTPAddr string // its /metrics address, "" when it has none
}

// NewProc prepares bin with args, its output appended to logPath; it is not started.
// env is added to a minimal environment (PATH, HOME): the services must get their
// secrets from the files and variables the test hands them, not from the developer's
// shell.
func NewProc(name, bin, httpAddr, logPath string, env []string, args ...string) *Proc {
	return &Proc{HTTPAddr: httpAddr, Process: &servers.Process{Name: name, Path: bin, Args: args, LogPath: logPath,
		Env: append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}, env...)}}
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

// WatchRSS samples a program's resident set every 100 ms until Stop.
func WatchRSS(pid func() int) *servers.MemWatch {
	return servers.WatchMem(pid, "VmRSS:", 100*time.Millisecond)
}
