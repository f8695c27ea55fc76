package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/servers"
	"github.com/faultline/faultline/internal/telemetry"
)

// buildIngest builds cmd/ingest into a temp dir: the kill test needs a real process.
func buildIngest(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ingest")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/faultline/faultline/cmd/ingest")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/ingest: %v\n%s", err, out)
	}
	return bin
}

type proc struct {
	cmd *exec.Cmd
	out *syncBuffer
}

// syncBuffer is written by exec's copying goroutine while the test reads it.
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

func startProc(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), out: &syncBuffer{}}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestKillNineLosesNothingIntegration(t *testing.T) {
	e := newEnv(t)
	bin := buildIngest(t)
	port, _ := servers.FreePort()
	args := []string{"--mqtt-url", e.broker.URL, "--influx-url", e.influx.URL, "--client-id", "ingest-kill",
		"--spool-dir", t.TempDir(), "--http-addr", "127.0.0.1:" + itoa(port), "--log-format", "json",
		// A long flush interval keeps acknowledged data in the spool only, so the kill
		// really tests the replay.
		"--flush-interval", "2s", "--batch-bytes", "4000000"}
	p1 := startProc(t, bin, args...)
	waitReady(t, port)
	pub := newPublisher(t, e.broker.URL, "pub-kill")
	// Slow enough that the broker's default queue (1,000 messages per offline session)
	// holds what arrives while ingest is down: beyond it Mosquitto drops, whoever consumes.
	pub.rate = 500
	const n = 3000
	var wg sync.WaitGroup
	wg.Go(func() { pub.publish(0, n) })
	time.Sleep(1200 * time.Millisecond) // mid-stream
	if err := p1.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = p1.cmd.Wait()
	t.Logf("killed ingest with SIGKILL; %d points stored so far", e.count(t, "a"))
	time.Sleep(500 * time.Millisecond)
	p2 := startProc(t, bin, args...)
	defer func() {
		_ = p2.cmd.Process.Signal(syscall.SIGTERM)
		_ = p2.cmd.Wait()
		if t.Failed() {
			t.Logf("first run:\n%s\nsecond run:\n%s", tail(p1.out.String()), tail(p2.out.String()))
		}
	}()
	wg.Wait()
	e.waitPoints(t, n, 90*time.Second)
	if !strings.Contains(p2.out.String(), "replaying") {
		t.Fatalf("second run did not open the spool:\n%s", tail(p2.out.String()))
	}
}

func waitReady(t *testing.T, port int) {
	waitFor(t, "ingest /readyz", 20*time.Second, func() bool {
		resp, err := httpGet("http://127.0.0.1:" + itoa(port) + "/readyz")
		return err == nil && resp == 200
	})
	time.Sleep(300 * time.Millisecond)
}

func tail(s string) string {
	if len(s) > 3000 {
		return s[len(s)-3000:]
	}
	return s
}

// TestBadPayloadsIntegration: every bad message or value is rejected with its reason and
// dead-lettered; the good values around and inside them are stored.
func TestBadPayloadsIntegration(t *testing.T) {
	e := newEnv(t)
	cfg := e.config(t, "ingest-bad")
	cfg.DeadLetter = true
	cfg.MaxMachines = 10 // m0..m9; "intruder" is one too many
	r := start(t, cfg)

	var mu sync.Mutex
	var dead []map[string]any
	sub := newPublisher(t, e.broker.URL, "dl-watcher")
	sub.cl.Subscribe(topics.DeadLetter("ingest"), 1, func(m mqttclient.Message) {
		var v map[string]any
		if json.Unmarshal(m.Payload(), &v) == nil {
			mu.Lock()
			dead = append(dead, v)
			mu.Unlock()
		}
		m.Ack()
	})
	time.Sleep(300 * time.Millisecond)

	m := telemetry.Machine{Site: "s1", Line: "l1", Machine: "m0"}
	tel := topics.Telemetry(m)
	bad := []struct {
		topic, payload string
		reason         telemetry.Reason
	}{
		{tel, `not json`, telemetry.ReasonBadJSON},
		{tel, ``, telemetry.ReasonEmpty},
		{tel, `{"values":{"a":1}}`, telemetry.ReasonMissingTS},
		{tel, `{"ts":"yesterday","values":{"a":1}}`, telemetry.ReasonBadTS},
		{tel, `{"ts":1,"values":{"a":1}}`, telemetry.ReasonBadTS},
		{tel, `{"ts":"2026-01-01T00:00:00Z","values":{"a":"hot"}}`, telemetry.ReasonWrongType},
		{tel, `{"ts":"2026-01-01T00:00:00Z","values":{"a":1e999}}`, telemetry.ReasonNotFinite},
		{tel, `{"ts":"2026-01-01T00:00:00Z","values":{"bad name":1}}`, telemetry.ReasonInvalidName},
		{tel, `[]`, telemetry.ReasonEmpty},
		{tel, `{"ts":"2026-01-01T00:00:00Z","values":{}}`, telemetry.ReasonEmpty},
		{"factory/s1/l1/m0/sensors/a", `"warm"`, telemetry.ReasonWrongType},
		{topics.Telemetry(telemetry.Machine{Site: "s1", Line: "l1", Machine: "intruder"}), string(mustSample(1)), "too_many_series"},
	}
	pub := newPublisher(t, e.broker.URL, "pub-bad")
	pub.publish(0, 500)
	for _, b := range bad {
		pub.send(b.topic, []byte(b.payload))
	}
	// A partly bad message: the good value is stored, the bad one counted.
	partial := topics.Telemetry(telemetry.Machine{Site: "s1", Line: "l1", Machine: "m1"})
	pub.send(partial, []byte(`{"ts":"`+t0.Format(time.RFC3339)+`","values":{"a":1.5,"b":"x"}}`))
	// Per-sensor topic, good: one more "a" value for machine m0 at a fresh timestamp.
	pub.send("factory/s1/l1/m0/sensors/a", []byte(`{"ts":"`+t0.Add(-time.Second).Format(time.RFC3339Nano)+`","value":7}`))
	pub.publish(500, 1000)

	waitFor(t, "all messages handled", 30*time.Second, func() bool { return r.svc.Stats().Acked == int64(1000+len(bad)+2) })
	waitFor(t, "points written", 30*time.Second, func() bool { return e.count(t, "a") == 1000+2 })
	if b := e.count(t, "b"); b != 1000 {
		t.Fatalf("b: %d points, want 1000 (the partial message's bad b must not be stored)", b)
	}
	st := r.svc.Stats()
	want := map[telemetry.Reason]int64{}
	for _, b := range bad {
		want[b.reason]++
	}
	want[telemetry.ReasonWrongType]++ // the partial message's "b"
	for reason, n := range want {
		if st.Rejections[reason] != n {
			t.Errorf("reason %s: counted %d, want %d (all: %v)", reason, st.Rejections[reason], n, st.Rejections)
		}
	}
	if st.Rejected != int64(len(bad)) {
		t.Errorf("rejected %d whole messages, want %d", st.Rejected, len(bad))
	}
	waitFor(t, "dead letters", 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(dead) == len(bad)+1 })
	mu.Lock()
	defer mu.Unlock()
	for i, d := range dead[:len(bad)] {
		if d["reason"] != string(bad[i].reason) || d["topic"] != bad[i].topic {
			t.Errorf("dead letter %d = %v, want reason %s topic %s", i, d, bad[i].reason, bad[i].topic)
		}
	}
}

func mustSample(i int) []byte { _, p := sample(i, 10); return p }

func itoa(i int) string { return strconv.Itoa(i) }

func httpGet(url string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
