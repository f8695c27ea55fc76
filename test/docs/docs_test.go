package docs

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/servers"
	"github.com/faultline/faultline/internal/testenv"
)

// brokerConf is the queue bound of deploy/mosquitto's broker: with Mosquitto's default
// (1000 queued messages per client) a simulator at full speed outruns ingest and the
// broker drops QoS 1 messages, as it would in any deployment configured so.
const brokerConf = "max_queued_messages 100000\nmax_inflight_messages 100\n"

// TestDocCommands runs every shell command of README.md and docs/*.md in the order a
// reader meets them (README first), in one workspace, so later commands find what
// earlier ones wrote (models, history.csv), as they would for the reader.
func TestDocCommands(t *testing.T) {
	needBinaries(t)
	broker, influx := testenv.Mosquitto(t, servers.MosquittoOptions{Extra: brokerConf}), testenv.Influx(t)
	w := newWorkspace(t, broker, influx)
	var all []command
	for _, f := range docFiles(t, repoRoot) {
		cmds, err := extract(repoRoot, f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, cmds...)
	}
	used := map[string]bool{}
	ran, skipped := 0, 0
	for _, c := range all {
		name := c.file + ":" + strconv.Itoa(c.line) + " " + c.text
		ck, hasCheck := checks[c.text]
		used[c.text] = used[c.text] || hasCheck
		reason := c.skip
		if r, ok := ownedElsewhere[c.file]; ok && reason == "" {
			reason = r
		}
		for _, d := range ck.needs {
			if reason == "" && (w.shared == "" || !fileHas(filepath.Join(w.shared, "datasets", d), 0)) {
				reason = "needs ../shared/datasets/" + d + ", absent in this checkout"
			}
		}
		t.Run(name, func(t *testing.T) {
			if reason != "" {
				skipped++
				t.Skip(reason)
			}
			if !hasCheck {
				t.Fatalf("%s has no check: add one to checks (checks_test.go) or mark it in the doc with <!-- docs-test: skip REASON -->", c)
			}
			ran++
			runCommand(t, w, c, ck)
		})
	}
	for text := range checks {
		if !used[text] {
			t.Errorf("check for %q matches no command in the docs: the doc changed, update the check", text)
		}
	}
	t.Logf("%d doc commands: %d run, %d skipped with a reason", len(all), ran, skipped)
}

func runCommand(t *testing.T, w *workspace, c command, ck check) {
	text := c.text
	for i := 0; i+1 < len(ck.rewrite); i += 2 {
		if !strings.Contains(text, ck.rewrite[i]) {
			t.Fatalf("rewrite %q does not apply", ck.rewrite[i])
		}
		text = strings.ReplaceAll(text, ck.rewrite[i], ck.rewrite[i+1])
	}
	if text != c.text {
		t.Logf("run as %q (%s)", text, ck.why)
	}
	if ck.built {
		for _, p := range programs {
			if !fileHas(filepath.Join(binDir, p), 1) {
				t.Errorf("make build made no bin/%s", p)
			}
		}
		return
	}
	if ck.before != nil {
		ck.before(t, w)
	}
	var p *proc
	if ck.daemon {
		p = w.start(text, c.setup)
		if ck.running != nil {
			ck.running(t, w, p)
		}
		if err := p.stop(t); err != nil {
			t.Fatalf("after SIGINT: %v\n%s", err, p.output())
		}
	} else {
		limit := ck.limit
		if limit == 0 {
			limit = 2 * time.Minute
		}
		var err error
		if p, err = w.run(text, c.setup, limit); err != nil {
			t.Fatalf("%v\n%s", err, p.output())
		}
	}
	if ck.after != nil {
		ck.after(t, w, p)
	}
}

// metric reads one unlabelled sample from a Prometheus /metrics page (-1 when absent).
func metric(url, name string) float64 {
	resp, err := http.Get(url)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

// help runs `bin/PROGRAM args... --help` and returns its output and exit error.
func help(t *testing.T, program string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, program), append(args, "--help")...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var httpAddrDefault = regexp.MustCompile(`-http-addr string\n.*\(default "([^"]*)"\)`)

// TestDefaultOpsPortsDistinct: README.md runs simulate and then infer on one machine;
// both served /metrics on 9103 by default and infer stopped with "address already in
// use". Every long-running program has its own default port, on loopback.
func TestDefaultOpsPortsDistinct(t *testing.T) {
	needBinaries(t)
	seen := map[string]string{}
	for _, p := range [][]string{{"ingest"}, {"infer", "run"}, {"simulate"}, {"simulate", "replay"}} {
		out, err := help(t, p[0], p[1:]...)
		if err != nil {
			t.Fatalf("%v --help: %v\n%s", p, err, out)
		}
		m := httpAddrDefault.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("%v --help shows no -http-addr default:\n%s", p, out)
		}
		addr := m[1]
		if !strings.HasPrefix(addr, "127.0.0.1:") {
			t.Errorf("%v: default --http-addr %q is not loopback", p, addr)
		}
		_, port, _ := strings.Cut(addr, ":")
		if other, ok := seen[port]; ok && other != p[0] {
			t.Errorf("%v and %s both default to port %s", p, other, port)
		}
		seen[port] = p[0]
	}
}

// TestVersionAndHelp: every program answers --version (program, commit, Go version)
// and --help with exit status 0 (demo --help exited 1, none had --version).
func TestVersionAndHelp(t *testing.T) {
	needBinaries(t)
	// make build stamps the commit from git; a tree without git has none to give.
	hasGit := exec.Command("git", "-C", repoRoot, "rev-parse", "HEAD").Run() == nil
	for _, p := range programs {
		out, err := exec.Command(filepath.Join(binDir, p), "--version").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), p+" ") || !strings.Contains(string(out), "commit ") || !strings.Contains(string(out), " go1.") {
			t.Errorf("%s --version: %v, %q; want exit 0 and the program, commit and Go version", p, err, out)
		}
		if hasGit && strings.Contains(string(out), "commit unknown") {
			t.Errorf("%s --version: %q; make build stamps the commit", p, out)
		}
		if out, err := help(t, p); err != nil {
			t.Errorf("%s --help: %v\n%s", p, err, out)
		}
	}
}

// commonFlags are the flags README.md says the programs it names all take.
var commonFlags = []string{"-mqtt-url", "-mqtt-username", "-mqtt-password-file", "-influx-url", "-influx-org",
	"-influx-bucket", "-influx-token-file", "-topic-root", "-log-format"}

// TestCommonFlagsAsDocumented: README.md said "every program takes the common flags";
// eval, infer score and demo do not. It names the programs that do, and they do.
func TestCommonFlagsAsDocumented(t *testing.T) {
	needBinaries(t)
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	must(t, err)
	const claim = "`ingest`, `simulate`, `train`, `infer run` and `infer watch` take the common flags"
	if !strings.Contains(strings.Join(strings.Fields(string(readme)), " "), claim) {
		t.Fatalf("README.md no longer says %q: update this test with it", claim)
	}
	for _, p := range [][]string{{"ingest"}, {"simulate"}, {"train"}, {"infer", "run"}, {"infer", "watch"}} {
		out, err := help(t, p[0], p[1:]...)
		if err != nil {
			t.Fatalf("%v --help: %v", p, err)
		}
		for _, f := range commonFlags {
			if !slices.ContainsFunc(strings.Split(out, "\n"), func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), f+" ") }) {
				t.Errorf("%v has no %s", p, f)
			}
		}
	}
}
