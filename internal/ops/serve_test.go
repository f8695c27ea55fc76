package ops

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/servers"
)

// fakeService runs until its context ends and returns runErr; Ready fails while
// notReady is set.
type fakeService struct {
	started  chan struct{}
	notReady atomic.Bool
	runs     atomic.Int32
	runErr   error
}

func (s *fakeService) Run(ctx context.Context) error {
	s.runs.Add(1)
	close(s.started)
	<-ctx.Done()
	return s.runErr
}

func (s *fakeService) Ready(context.Context) error {
	if s.notReady.Load() {
		return errors.New("broker away")
	}
	return nil
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServe: while the service runs, /healthz, /readyz (following Ready), /metrics (the
// registry's metrics) and pprof answer, and SIGHUP calls Hangup instead of ending the
// process; when ctx ends Serve returns Run's error and nothing listens any more.
func TestServe(t *testing.T) {
	httpAddr, err := servers.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	pprofAddr, err := servers.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "faultline_test_things_total", Help: "things"})
	reg.MustRegister(c)
	c.Add(3)
	svc := &fakeService{started: make(chan struct{}), runErr: errors.New("run's own error")}
	svc.notReady.Store(true)
	var hups atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, svc, Endpoints{HTTPAddr: httpAddr, PprofAddr: pprofAddr, Registry: reg, Hangup: func() { hups.Add(1) }}, zerolog.Nop())
	}()
	<-svc.started

	if code, body := get(t, "http://"+httpAddr+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get(t, "http://"+httpAddr+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "broker away") {
		t.Errorf("/readyz while not ready = %d %q", code, body)
	}
	svc.notReady.Store(false)
	if code, _ := get(t, "http://"+httpAddr+"/readyz"); code != 200 {
		t.Errorf("/readyz when ready = %d", code)
	}
	if code, body := get(t, "http://"+httpAddr+"/metrics"); code != 200 || !strings.Contains(body, "faultline_test_things_total 3") || !strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics = %d, without the registry's metrics:\n%.500s", code, body)
	}
	if code, _ := get(t, "http://"+pprofAddr+"/debug/pprof/cmdline"); code != 200 {
		t.Errorf("pprof = %d", code)
	}
	for range 2 {
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for hups.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if hups.Load() == 0 {
		t.Error("SIGHUP did not reach Hangup")
	}

	cancel()
	if err := <-done; err == nil || err.Error() != "run's own error" {
		t.Fatalf("Serve = %v, want Run's error", err)
	}
	for _, addr := range []string{httpAddr, pprofAddr} {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			t.Errorf("%s still listens after Serve returned", addr)
		}
	}
}

// TestServeRefusesBusyAddress: an address that cannot be bound is refused, naming the
// flag, before the service runs; the other listener is released.
func TestServeRefusesBusyAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	free, err := servers.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	for flag, e := range map[string]Endpoints{
		"--http-addr":  {HTTPAddr: ln.Addr().String(), Registry: NewRegistry()},
		"--pprof-addr": {HTTPAddr: free, PprofAddr: ln.Addr().String(), Registry: NewRegistry()},
	} {
		svc := &fakeService{started: make(chan struct{})}
		err := Serve(context.Background(), svc, e, zerolog.Nop())
		if err == nil || !strings.Contains(err.Error(), flag+" "+ln.Addr().String()) || svc.runs.Load() != 0 {
			t.Errorf("%s busy: Serve = %v, %d runs; want a refusal naming the flag, no run", flag, err, svc.runs.Load())
		}
	}
	l2, err := net.Listen("tcp", free)
	if err != nil {
		t.Fatalf("the /metrics listener was not released after the pprof refusal: %v", err)
	}
	l2.Close()
}
