package docs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/servers"
)

// programs are what `make build` puts into bin/ (README.md: "bin/simulate, ingest,
// train, infer, eval, demo").
var programs = []string{"simulate", "ingest", "train", "infer", "eval", "demo"}

var (
	repoRoot  string // the checkout
	binDir    string // where TestMain's `make build` put the programs
	buildOnce sync.Once
	buildErr  error
	buildLog  string
)

// TestMain makes the temporary directory the programs are built into, once, the way
// README.md says (`make build`, see needBinaries), rather than the checkout's bin/.
func TestMain(m *testing.M) {
	os.Exit(func() int {
		_, file, _, _ := runtime.Caller(0)
		repoRoot = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
		dir, err := os.MkdirTemp("", "faultline-docs-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binDir = dir
		return m.Run()
	}())
}

// needBinaries builds the programs on first use; it skips in -short mode (building
// everything is the slow tier) and fails when the build failed.
func needBinaries(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs every program; skipped in -short mode")
	}
	buildOnce.Do(func() {
		out, err := exec.Command("make", "-C", repoRoot, "build", "BIN="+binDir).CombinedOutput()
		buildErr, buildLog = err, string(out)
	})
	if buildErr != nil {
		t.Fatalf("make build: %v\n%s", buildErr, buildLog)
	}
}

// workspace is the directory the doc commands run in: it looks like a checkout (bin/
// holds the built programs, ../shared is the shared datasets directory when the
// checkout has one) and lives in a temp dir.
type workspace struct {
	t      *testing.T
	dir    string // the commands' working directory
	shared string // ../shared as seen from dir, "" when absent
	broker *servers.Mosquitto
	influx *servers.Influx
	env    []string
}

func newWorkspace(t *testing.T, broker *servers.Mosquitto, influx *servers.Influx) *workspace {
	t.Helper()
	root := t.TempDir()
	w := &workspace{t: t, dir: filepath.Join(root, "checkout"), broker: broker, influx: influx}
	must(t, os.MkdirAll(w.dir, 0o755))
	must(t, os.Symlink(binDir, filepath.Join(w.dir, "bin")))
	if st, err := os.Stat(filepath.Join(repoRoot, "..", "shared")); err == nil && st.IsDir() {
		src, _ := filepath.Abs(filepath.Join(repoRoot, "..", "shared"))
		must(t, os.Symlink(src, filepath.Join(root, "shared")))
		w.shared = filepath.Join(root, "shared")
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FAULTLINE_") {
			w.env = append(w.env, kv)
		}
	}
	// The commands are run as written; the servers are given through the documented
	// environment fallbacks of the common flags.
	w.env = append(w.env, "FAULTLINE_LOG_FORMAT=json", "FAULTLINE_MQTT_URL="+broker.URL, "FAULTLINE_INFLUX_URL="+influx.URL)
	return w
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// proc is a doc command running in the workspace.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{}
	err            error
	httpAddr       string
}

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

// start runs a command line with bash in the workspace (exec, so that the signal goes
// to the program itself), with its own free ops port.
func (w *workspace) start(line string, setup []string, extraEnv ...string) *proc {
	w.t.Helper()
	port, err := servers.FreePort()
	must(w.t, err)
	p := &proc{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{}), httpAddr: fmt.Sprintf("127.0.0.1:%d", port)}
	script := strings.Join(append(append([]string(nil), setup...), "exec "+line), "\n")
	p.cmd = exec.Command("bash", "-c", script)
	p.cmd.Dir = w.dir
	p.cmd.Env = append(append(append([]string(nil), w.env...), "FAULTLINE_HTTP_ADDR="+p.httpAddr), extraEnv...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	must(w.t, p.cmd.Start())
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	w.t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// run runs a command to completion (bounded by limit) and returns its exit error.
func (w *workspace) run(line string, setup []string, limit time.Duration) (*proc, error) {
	w.t.Helper()
	p := w.start(line, setup)
	select {
	case <-p.done:
		return p, p.err
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-p.done
		return p, fmt.Errorf("still running after %s (killed)", limit)
	}
}

// stop sends SIGINT, as Ctrl-C does, and waits for the exit.
func (p *proc) stop(t *testing.T) error {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
		return p.err
	case <-time.After(60 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return errors.New("did not stop within 60s of SIGINT (killed)")
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) output() string {
	return "stdout:\n" + tail(p.stdout.String()) + "\nstderr:\n" + tail(p.stderr.String())
}

func tail(s string) string {
	if len(s) > 4000 {
		return "..." + s[len(s)-4000:]
	}
	return s
}

// waitUntil polls cond until it holds, the process exits, or the limit passes.
func waitUntil(t *testing.T, p *proc, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if p != nil && p.exited() {
			t.Fatalf("exited (%v) before %s\n%s", p.err, what, p.output())
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s\n%s", what, limit, outputOf(p))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func outputOf(p *proc) string {
	if p == nil {
		return ""
	}
	return p.output()
}

// httpOK reports whether GET url answers 200.
func httpOK(url string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}

// fileHas reports whether path exists with at least n bytes.
func fileHas(path string, n int64) bool {
	st, err := os.Stat(path)
	return err == nil && st.Size() >= n
}

// watcher records the messages of an MQTT subscription on the test broker.
type watcher struct {
	mu   sync.Mutex
	msgs map[string]string // topic -> last payload
	n    map[string]int
}

func (w *workspace) watch(filter string) *watcher {
	w.t.Helper()
	wt := &watcher{msgs: map[string]string{}, n: map[string]int{}}
	cfg := mqttclient.DefaultConfig()
	cfg.URL, cfg.ClientID = w.broker.URL, fmt.Sprintf("docs-watch-%d", time.Now().UnixNano())
	cl, err := mqttclient.New(cfg, zerolog.Nop())
	must(w.t, err)
	cl.Subscribe(filter, 1, func(m mqttclient.Message) {
		wt.mu.Lock()
		wt.msgs[m.Topic()] = string(m.Payload())
		wt.n[m.Topic()]++
		wt.mu.Unlock()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	must(w.t, cl.Connect(ctx))
	w.t.Cleanup(func() { cl.Disconnect(100 * time.Millisecond) })
	return wt
}

// any reports whether a topic with the given suffix (or any, for "") got a message.
func (wt *watcher) any(suffix string) bool {
	wt.mu.Lock()
	defer wt.mu.Unlock()
	for topic := range wt.msgs {
		if strings.HasSuffix(topic, suffix) {
			return true
		}
	}
	return false
}

func (wt *watcher) last(topic string) string {
	wt.mu.Lock()
	defer wt.mu.Unlock()
	return wt.msgs[topic]
}

// publish sends one message to the test broker.
func (w *workspace) publish(topic string, retained bool, payload []byte) {
	w.t.Helper()
	cfg := mqttclient.DefaultConfig()
	cfg.URL, cfg.ClientID = w.broker.URL, fmt.Sprintf("docs-pub-%d", time.Now().UnixNano())
	cl, err := mqttclient.New(cfg, zerolog.Nop())
	must(w.t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	must(w.t, cl.Connect(ctx))
	defer cl.Disconnect(100 * time.Millisecond)
	must(w.t, cl.Publish(ctx, topic, 1, retained, payload))
}
