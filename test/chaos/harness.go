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
	"sync"
	"sync/atomic"
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
