package servers

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestProcessRestartAndExit: one Process runs, is signalled without waiting, is killed
// and started again with the same command line (its log appended), and reports how a
// run ended.
func TestProcessRestartAndExit(t *testing.T) {
	dir := t.TempDir()
	p := &Process{Path: "/bin/sh", LogPath: filepath.Join(dir, "sh.log"),
		Args: []string{"-c", `echo started; trap 'echo hup' HUP; while :; do sleep 0.05; done`}}
	if exited, _ := p.Exited(); !exited || p.PID() != 0 {
		t.Fatal("a Process not started yet counts as exited, PID 0")
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	pid := p.PID()
	if err := p.Start(); err != nil || p.PID() != pid {
		t.Fatalf("Start on a running Process must do nothing: %v, pid %d -> %d", err, pid, p.PID())
	}
	waitLog(t, p, "started", 1)
	if err := p.Send(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, p, "hup", 1)
	if exited, _ := p.WaitFor(100 * time.Millisecond); exited {
		t.Fatal("SIGHUP is trapped: the shell must still run")
	}
	p.Kill()
	if p.PID() != 0 {
		t.Fatal("PID after Kill must be 0")
	}
	if err := p.Send(syscall.SIGHUP); err == nil {
		t.Fatal("Send to a stopped Process must fail")
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	waitLog(t, p, "started", 2)

	q := &Process{Name: "false", Path: "/bin/sh", Args: []string{"-c", "exit 3"}, LogPath: filepath.Join(dir, "false.log")}
	if err := q.Start(); err != nil {
		t.Fatal(err)
	}
	exited, err := q.WaitFor(10 * time.Second)
	if !exited || err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("WaitFor = %v, %v; want the exit status", exited, err)
	}
}

func waitLog(t *testing.T, p *Process, line string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(p.Log(), line+"\n") < n {
		if time.Now().After(deadline) {
			t.Fatalf("no %d× %q in the log:\n%s", n, line, p.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFreeAddr(t *testing.T) {
	a, err := FreeAddr()
	if err != nil || !strings.HasPrefix(a, "127.0.0.1:") || a == "127.0.0.1:0" {
		t.Fatalf("FreeAddr = %q, %v", a, err)
	}
}

// TestWatchMem: the peak of this test process's own resident set is read from /proc.
func TestWatchMem(t *testing.T) {
	pid := func() int { return os.Getpid() }
	if kb := StatusKB(pid(), "VmRSS:"); kb <= 0 {
		t.Fatalf("VmRSS of this process = %d kB", kb)
	}
	if kb := StatusKB(pid(), "NoSuchField:"); kb != 0 {
		t.Fatalf("a missing field = %d, want 0", kb)
	}
	w := WatchMem(pid, "VmHWM:", 10*time.Millisecond)
	time.Sleep(30 * time.Millisecond)
	if mb := w.Stop(); mb <= 0 {
		t.Fatalf("peak = %.1f MB", mb)
	}
	w.Stop() // a second Stop is harmless
}
