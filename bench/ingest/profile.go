package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// startCPUProfile fetches a CPU profile of ingest covering d (from now) in the
// background and writes it to path; wait returns its error. A no-op without -cpuprofile.
func startCPUProfile(ctx context.Context, r *rig, path string, d time.Duration) (wait func() error) {
	if path == "" || r.pprofAddr == "" {
		return func() error { return nil }
	}
	secs := max(int(d/time.Second), 1)
	errc := make(chan error, 1)
	go func() { errc <- fetchProfile(ctx, r.pprofAddr, secs, path) }()
	return func() error { return <-errc }
}

func fetchProfile(ctx context.Context, addr string, secs int, path string) error {
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("cpu profile: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("cpu profile: %w", err)
	}
	fmt.Fprintf(os.Stderr, "ingest CPU profile (%d s) written to %s; read it with: go tool pprof -top %s\n", secs, path, path)
	return f.Close()
}

// cpuSeconds returns the user+system CPU time a process used so far, from
// /proc/<pid>/stat (fields 14 and 15, in clock ticks of 1/100 s on Linux).
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may contain spaces; fields are counted after its ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100
}
