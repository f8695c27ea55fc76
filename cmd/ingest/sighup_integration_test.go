package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/servers"
	"github.com/faultline/faultline/internal/testenv"
)

// TestSIGHUPKeepsRunningIntegration: the systemd unit's ExecReload sends SIGHUP. The
// built binary, connected to real servers, must log it and keep serving, then still
// stop cleanly on SIGTERM (before, SIGHUP killed it: exit status 129, no drain).
func TestSIGHUPKeepsRunningIntegration(t *testing.T) {
	m := testenv.Mosquitto(t)
	in := testenv.Influx(t)
	dir := t.TempDir()
	if err := servers.BuildPrograms(t.Context(), dir, "ingest"); err != nil {
		t.Fatal(err)
	}
	addr, err := servers.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	p := &servers.Process{Name: "ingest", Path: filepath.Join(dir, "ingest"), LogPath: filepath.Join(dir, "ingest.log"),
		Args: []string{"--http-addr", addr, "--spool-dir", t.TempDir(), "--client-id", "sighup-test"},
		Env:  append(os.Environ(), "FAULTLINE_MQTT_URL="+m.URL, "FAULTLINE_INFLUX_URL="+in.URL, "FAULTLINE_LOG_FORMAT=json")}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	waitFor(t, "ingest ready", p, func() bool { return httpStatus(addr, "/readyz") == http.StatusOK })

	if err := p.Send(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the SIGHUP log line", p, func() bool { return strings.Contains(p.Log(), "SIGHUP: nothing to reload") })
	if got := httpStatus(addr, "/readyz"); got != http.StatusOK {
		t.Fatalf("/readyz after SIGHUP = %d, want 200", got)
	}

	if err := p.Send(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited, err := p.WaitFor(30 * time.Second)
	if !exited {
		t.Fatalf("no exit within 30 s of SIGTERM\n%s", p.Log())
	}
	if err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.Log())
	}
}

// waitFor polls cond; the process exiting first is a failure with its log.
func waitFor(t *testing.T, what string, p *servers.Process, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if exited, err := p.Exited(); exited {
			t.Fatalf("waiting for %s: ingest exited: %v\n%s", what, err, p.Log())
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 30 s\n%s", what, p.Log())
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
