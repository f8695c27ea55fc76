package main

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/servers"
	"github.com/faultline/faultline/internal/testenv"
)

// syncBuffer is the child's log, written by exec's copier and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSIGHUPKeepsRunningIntegration: the systemd unit's ExecReload sends SIGHUP. The
// built binary, connected to real servers, must log it and keep serving, then still
// stop cleanly on SIGTERM (before, SIGHUP killed it: exit status 129, no drain).
func TestSIGHUPKeepsRunningIntegration(t *testing.T) {
	m := testenv.Mosquitto(t)
	in := testenv.Influx(t)
	bin := filepath.Join(t.TempDir(), "ingest")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	port, err := servers.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "--http-addr", addr, "--spool-dir", t.TempDir(), "--client-id", "sighup-test")
	cmd.Env = append(os.Environ(), "FAULTLINE_MQTT_URL="+m.URL, "FAULTLINE_INFLUX_URL="+in.URL, "FAULTLINE_LOG_FORMAT=json")
	var log syncBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
	})
	waitFor(t, "ingest ready", done, &log, func() bool { return httpStatus(addr, "/readyz") == http.StatusOK })

	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the SIGHUP log line", done, &log, func() bool { return strings.Contains(log.String(), "SIGHUP: nothing to reload") })
	if got := httpStatus(addr, "/readyz"); got != http.StatusOK {
		t.Fatalf("/readyz after SIGHUP = %d, want 200", got)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, log.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit within 30 s of SIGTERM\n%s", log.String())
	}
}

// waitFor polls cond; the process exiting first is a failure with its log.
func waitFor(t *testing.T, what string, done chan error, log *syncBuffer, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("waiting for %s: ingest exited: %v\n%s", what, err, log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 30 s\n%s", what, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func httpStatus(addr, path string) int {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
