package deploy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/faultline/faultline/internal/influxstore"
	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/servers"
	"github.com/faultline/faultline/internal/testenv"
)

// TestDeploymentsRunIntegration is the acceptance test of the shipped deployments: it
// reads docker-compose.yml, the systemd units and the Kubernetes manifests, and runs
// every Faultline command line they contain as a local process, in the documented order
// (simulate, ingest, train, infer), until alerts arrive. Real Mosquitto (the shipped
// mosquitto.conf and acl, with passwords) and InfluxDB stand in for the images and the
// plant's servers. What is changed, and only that:
//   - paths: /var/lib/faultline (shared by a deployment's processes, like its volumes)
//     and /run/secrets, /etc/faultline, systemd's credentials directory (per process)
//     are mapped into a temp dir; each password or token file gets the local secret;
//   - the server URLs (FAULTLINE_MQTT_URL, FAULTLINE_INFLUX_URL) point at the local
//     servers, the broker CA file is dropped (the local broker is plain MQTT), and every
//     --http-addr / FAULTLINE_HTTP_ADDR gets a free loopback port;
//   - flags appended after the shipped ones (the later one wins) make it short: a small
//     plant, a sped-up simulation of a healthy history and then of scheduled faults,
//     training on that history (see testSim*, testTrain).
//
// Parsing the command lines alone would not catch a flag the program lacks, a flag
// combination it refuses, or a model file nobody writes: running them does.
func TestDeploymentsRunIntegration(t *testing.T) {
	testenv.Integration(t)
	if _, err := servers.InfluxdBinary(); err != nil {
		if os.Getenv("FAULTLINE_REQUIRE_SERVERS") == "1" {
			t.Fatal(err)
		}
		t.Skipf("influxd not available: %v (run `make test`)", err)
	}
	r := newDeployRig(t)

	// Docker Compose: every program comes from docker-compose.yml.
	compose := r.composeCommands()
	r.run("compose", func(f *flavour) {
		f.start(compose["ingest"])
		f.exec(compose["simulate"], r.testSimHealthy()...)
		f.waitStored(compose["ingest"])
		f.exec(compose["train"], r.testTrain()...)
		f.start(compose["infer"])
		f.waitAlert(compose["simulate"])
		f.checkDashboard()
	})

	// Kubernetes: ingest, the training CronJob and the edge DaemonSet from deploy/k8s/base;
	// the plant's telemetry comes from the Compose simulator (k8s ships none).
	k8s := r.k8sCommands()
	r.run("k8s", func(f *flavour) {
		f.start(k8s["ingest"])
		f.exec(k8s["train"], r.testTrain()...)
		f.start(k8s["infer"])
		f.waitAlert(compose["simulate"])
		f.waitStored(k8s["ingest"])
	})

	// systemd gateways: ingest and infer units with their env files; the model is the
	// file faultline-fetch-model.service would have fetched (a model trained above).
	sd := r.systemdCommands()
	r.run("systemd", func(f *flavour) {
		f.start(sd["ingest"])
		f.install("/var/lib/faultline/models/default.model", filepath.Join(r.root, "k8s", "var/lib/faultline/models/pump.model"))
		f.start(sd["infer"])
		f.waitAlert(compose["simulate"])
		f.waitStored(sd["ingest"])
	})
}

// command is one program invocation as a deployment file gives it.
type command struct {
	source string   // file and unit/service/container
	argv   []string // argv[0] is the program (a path or a bare name)
	env    []string // KEY=VALUE, in the order the deployment applies them
}

func (c command) program() string { return filepath.Base(c.argv[0]) }

type deployRig struct {
	t      *testing.T
	bin    string
	root   string
	influx *servers.Influx // shared: k8s trains on the history Compose stored
	// t0..t1 is the simulated healthy history; faults are simulated from t1.
	t0, t1 time.Time
}

func newDeployRig(t *testing.T) *deployRig {
	r := &deployRig{t: t, bin: t.TempDir(), root: t.TempDir()}
	if err := servers.BuildPrograms(t.Context(), r.bin, "ingest", "train", "infer", "simulate"); err != nil {
		t.Fatal(err)
	}
	r.influx = testenv.Influx(t)
	r.t0 = time.Now().UTC().Add(-200 * time.Hour).Truncate(time.Hour)
	r.t1 = r.t0.Add(testHealthy)
	return r
}

// The small, sped-up plant: 3 machines (one per type), a sample a minute, 96 hours of
// healthy history (what the demo's --short run trains on), then faults.
const testHealthy = 96 * time.Hour

func (r *deployRig) testSimHealthy() []string {
	return []string{"--machines", "3", "--rate", "0.0166667", "--speed", "40000", "--duration", testHealthy.String(),
		"--start", r.t0.Format(time.RFC3339), "--fault-rate", "0", "--seed", "1"}
}

func (r *deployRig) testSimFaulty() []string {
	return []string{"--machines", "3", "--rate", "0.0166667", "--speed", "8640", "--duration", "48h",
		"--start", r.t1.Format(time.RFC3339), "--fault-rate", "0", "--seed", "2",
		"--schedule", "pump-0001=bearing_wear@4h+30h,motor-0001=overheating@10h+12h,compressor-0001=bearing_wear@6h+30h"}
}

func (r *deployRig) testTrain() []string {
	return []string{"--start", r.t0.Format(time.RFC3339), "--stop", r.t1.Format(time.RFC3339),
		"--context", "speed_rpm,flow_m3h,load_pct,production_pct,ambient_temp_c"}
}

// flavour is one deployment's run: its processes share /var/lib/faultline and a
// broker of their own (a persistent session left by another deployment's ingest in
// the same shared-subscription group would take its share of the messages).
type flavour struct {
	r      *deployRig
	t      *testing.T
	name   string
	procs  map[string]*runningProc
	broker *aclBroker
	alerts *alertInbox
}

type runningProc struct {
	*servers.Process
	log  string
	addr string // its --http-addr
}

func (r *deployRig) run(name string, body func(f *flavour)) {
	r.t.Run(name, func(t *testing.T) {
		f := &flavour{r: r, t: t, name: name, procs: map[string]*runningProc{}, alerts: newAlertInbox()}
		f.broker = startACLBroker(t, "mosquitto.conf", map[string]string{"listener": "listener {{PORT}} 127.0.0.1"})
		f.broker.mustClient(t, "viewer").Subscribe("factory/+/+/+/alerts", 1, f.alerts.handle)
		defer f.stopAll()
		body(f)
	})
}

// mapPath moves every absolute deployment path in s (also one after "GLOB=") into the
// flavour's temp tree; per-process paths (secrets, credentials, /etc) go under the
// process's own directory.
func (f *flavour) mapPath(proc, s string) string {
	shared := filepath.Join(f.r.root, f.name)
	private := filepath.Join(f.r.root, f.name, "proc-"+proc)
	return strings.NewReplacer(
		"/var/lib/faultline", shared+"/var/lib/faultline",
		"/run/secrets", private+"/run/secrets",
		"/run/credentials", private+"/run/credentials",
		"/etc/faultline", private+"/etc/faultline",
	).Replace(s)
}

func (f *flavour) install(dst, src string) {
	f.t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		f.t.Fatalf("the model to install: %v", err)
	}
	p := f.mapPath("", dst)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// prepare turns a deployment command into a local one: mapped paths, local servers,
// free ports, secret files written.
func (f *flavour) prepare(c command, extra []string) (argv, env []string, addr string) {
	f.t.Helper()
	if len(c.argv) == 0 {
		f.t.Fatalf("%s: no command line", c.source)
	}
	proc := c.program()
	port, err := servers.FreePort()
	if err != nil {
		f.t.Fatal(err)
	}
	addr = "127.0.0.1:" + strconv.Itoa(port)
	vals := map[string]string{}
	var order []string
	for _, kv := range c.env {
		k, v, _ := strings.Cut(kv, "=")
		if _, seen := vals[k]; !seen {
			order = append(order, k)
		}
		vals[k] = f.mapPath(proc, v)
	}
	set := func(k, v string) {
		if _, seen := vals[k]; !seen {
			order = append(order, k)
		}
		vals[k] = v
	}
	set("FAULTLINE_MQTT_URL", f.broker.url)
	set("FAULTLINE_INFLUX_URL", f.r.influx.URL)
	set("FAULTLINE_HTTP_ADDR", addr)
	delete(vals, "FAULTLINE_MQTT_CA_FILE")
	if p := vals["FAULTLINE_MQTT_PASSWORD_FILE"]; p != "" {
		pw, ok := f.broker.passwords[vals["FAULTLINE_MQTT_USERNAME"]]
		if !ok {
			f.t.Fatalf("%s: MQTT user %q is not in deploy/mosquitto/acl", c.source, vals["FAULTLINE_MQTT_USERNAME"])
		}
		writeSecret(f.t, p, pw)
	}
	if p := vals["FAULTLINE_INFLUX_TOKEN_FILE"]; p != "" {
		writeSecret(f.t, p, "local-influxdb-1.8-needs-no-token")
	}
	for _, k := range order {
		if v, ok := vals[k]; ok {
			env = append(env, k+"="+v)
		}
	}
	argv = []string{filepath.Join(f.r.bin, proc)}
	for i := 1; i < len(c.argv); i++ {
		a := c.argv[i]
		switch {
		case strings.HasPrefix(a, "--http-addr="):
			a = "--http-addr=" + addr
		case a == "--http-addr" && i+1 < len(c.argv):
			argv = append(argv, a, addr)
			i++
			continue
		}
		argv = append(argv, f.mapPath(proc, a))
	}
	// Directories a volume or StateDirectory= would provide.
	for _, d := range []string{"spool", "queue", "models"} {
		_ = os.MkdirAll(f.mapPath(proc, "/var/lib/faultline/"+d), 0o750)
	}
	return append(argv, extra...), env, addr
}

func writeSecret(t *testing.T, path, val string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(val), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (f *flavour) newProc(c command, extra []string, tag string) *runningProc {
	f.t.Helper()
	argv, env, addr := f.prepare(c, extra)
	logPath := filepath.Join(f.r.root, f.name, tag+".log")
	// Only the deployment's environment (plus PATH/HOME): nothing leaks in from the
	// test's own environment.
	p := &runningProc{log: logPath, addr: addr, Process: &servers.Process{Path: argv[0], Args: argv[1:], LogPath: logPath,
		Env: append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + f.r.root}, env...)}}
	f.t.Logf("%s: %s (from %s)", f.name, strings.Join(argv, " "), c.source)
	if err := p.Start(); err != nil {
		f.t.Fatalf("%s: %v", c.source, err)
	}
	return p
}

// start runs a long-lived program and waits until its /readyz answers 200.
func (f *flavour) start(c command) {
	f.t.Helper()
	p := f.newProc(c, nil, c.program())
	f.procs[c.program()] = p
	deadline := time.Now().Add(60 * time.Second)
	for {
		if exited, err := p.Exited(); exited {
			f.t.Fatalf("%s: %s exited at start: %v\n%s", c.source, c.program(), err, readTail(p.log))
		}
		if resp, err := http.Get("http://" + p.addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%s: %s not ready in 60 s\n%s", c.source, c.program(), readTail(p.log))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// exec runs a program to completion; it must exit 0.
func (f *flavour) exec(c command, extra ...string) *runningProc {
	f.t.Helper()
	p := f.newProc(c, extra, c.program()+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	exited, err := p.WaitFor(6 * time.Minute)
	if !exited {
		p.Kill()
		f.t.Fatalf("%s: %s still running after 6 minutes\n%s", c.source, c.program(), readTail(p.log))
	}
	if err != nil {
		f.t.Fatalf("%s: %s: %v\n%s", c.source, c.program(), err, readTail(p.log))
	}
	if c.program() == "simulate" {
		f.procs["simulate-last"] = p
	}
	return p
}

// waitStored waits until the running ingest has written at least what the last
// simulate run published, with nothing left in its spool.
func (f *flavour) waitStored(ingest command) {
	f.t.Helper()
	sim := f.procs["simulate-last"]
	ing := f.procs["ingest"]
	if sim == nil || ing == nil {
		f.t.Fatal("waitStored needs a simulate run and a running ingest")
	}
	published := loggedSamples(f.t, sim.log)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		m := scrapeMetrics(ing.addr)
		if m["faultline_ingest_points_written_total"] >= published && m["faultline_ingest_spool_pending_bytes"] == 0 {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%s: ingest wrote %.0f of %.0f points in 3 minutes\n%s", ingest.source, m["faultline_ingest_points_written_total"], published, readTail(ing.log))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitAlert simulates the scheduled faults and waits until the running infer has
// published an alert since it started.
func (f *flavour) waitAlert(sim command) {
	f.t.Helper()
	before := f.alerts.count()
	f.exec(sim, f.r.testSimFaulty()...)
	inf := f.procs["infer"]
	deadline := time.Now().Add(30 * time.Second) // last windows in flight
	for f.alerts.count() == before {
		if time.Now().After(deadline) {
			f.t.Fatalf("%s: no alert from infer after the simulated faults\n%s", f.name, readTail(inf.log))
		}
		time.Sleep(100 * time.Millisecond)
	}
	f.t.Logf("%s: %d alerts, e.g. %s", f.name, f.alerts.count()-before, f.alerts.last())
}

// checkDashboard runs every panel query of the Grafana dashboard against the InfluxDB
// the deployment wrote to, with Grafana's variables filled in (all sites, lines and
// machines; the simulated period), and waits until each returns rows (issue 16.17:
// before, the alert panels queried a measurement nothing wrote).
func (f *flavour) checkDashboard() {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join("grafana", "dashboards", "faultline.json"))
	if err != nil {
		f.t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Query string `json:"query"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		f.t.Fatalf("faultline.json: %v", err)
	}
	st, err := influxstore.New(influxstore.Config{URL: f.r.influx.URL, Bucket: "factory"})
	if err != nil {
		f.t.Fatal(err)
	}
	defer st.Close()
	vars := strings.NewReplacer("v.defaultBucket", `"factory/autogen"`,
		"v.timeRangeStart", f.r.t0.Format(time.RFC3339), "v.timeRangeStop", time.Now().UTC().Add(time.Hour).Format(time.RFC3339),
		"v.windowPeriod", "1h", "${site:regex}", ".*", "${line:regex}", ".*", "${machine:regex}", ".*")
	queries := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Query) == "" {
				continue
			}
			queries++
			q := vars.Replace(tg.Query)
			deadline := time.Now().Add(60 * time.Second)
			for {
				rows, qerr := 0, error(nil)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				qerr = st.Query(ctx, q, func(influxstore.Record) error { rows++; return nil })
				cancel()
				if qerr == nil && rows > 0 {
					f.t.Logf("dashboard panel %q: %d rows", p.Title, rows)
					break
				}
				if time.Now().After(deadline) {
					f.t.Fatalf("dashboard panel %q returns no rows (err %v):\n%s", p.Title, qerr, q)
				}
				time.Sleep(500 * time.Millisecond)
			}
		}
	}
	if queries < 4 {
		f.t.Fatalf("the dashboard has %d panel queries; expected at least 4", queries)
	}
}

// stopAll stops the flavour's long-lived programs with SIGTERM (as every deployment
// does) and checks they exit cleanly.
func (f *flavour) stopAll() {
	for name, p := range f.procs {
		if exited, _ := p.Exited(); exited {
			continue
		}
		_ = p.Send(syscall.SIGTERM)
		exited, err := p.WaitFor(30 * time.Second)
		switch {
		case !exited:
			p.Kill()
			f.t.Errorf("%s: %s did not stop within 30 s of SIGTERM", f.name, name)
		case err != nil:
			f.t.Errorf("%s: %s exited with %v on SIGTERM\n%s", f.name, name, err, readTail(p.log))
		}
	}
}

func readTail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func loggedSamples(t *testing.T, logPath string) float64 {
	t.Helper()
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := -1.0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec struct {
			Message string   `json:"message"`
			Samples *float64 `json:"samples"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Message == "stopped" && rec.Samples != nil {
			n = *rec.Samples
		}
	}
	if n <= 0 {
		t.Fatalf("no sample count in %s", logPath)
	}
	return n
}

func scrapeMetrics(addr string) map[string]float64 {
	out := map[string]float64{}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		name, val, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(val, 64); err == nil {
			out[name] = v
		}
	}
	return out
}

type alertInbox struct {
	mu   sync.Mutex
	msgs []string
}

func newAlertInbox() *alertInbox { return &alertInbox{} }

func (a *alertInbox) handle(m mqttclient.Message) {
	a.mu.Lock()
	a.msgs = append(a.msgs, m.Topic()+" "+string(m.Payload()))
	a.mu.Unlock()
	m.Ack()
}

func (a *alertInbox) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.msgs)
}

func (a *alertInbox) last() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.msgs) == 0 {
		return ""
	}
	return a.msgs[len(a.msgs)-1]
}

// --- reading the deployment files ---

// composeService is the part of a docker-compose.yml service that makes a process.
type composeService struct {
	Command     []string          `json:"command"`
	EnvFile     string            `json:"env_file"`
	Environment map[string]string `json:"environment"`
	Secrets     []string          `json:"secrets"`
}

// composeCommands reads the Faultline services of docker-compose.yml. A service's
// command runs in the image with /usr/local/bin on PATH; env_file applies before
// environment (Compose's precedence).
func (r *deployRig) composeCommands() map[string]command {
	t := r.t
	b, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]composeService `json:"services"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	out := map[string]command{}
	for _, name := range []string{"simulate", "ingest", "train", "infer"} {
		s, ok := c.Services[name]
		if !ok || len(s.Command) == 0 {
			t.Fatalf("docker-compose.yml: service %s has no command", name)
		}
		cmd := command{source: "docker-compose.yml service " + name, argv: s.Command}
		if s.EnvFile != "" {
			cmd.env = append(cmd.env, envFileVars(t, filepath.Join("..", s.EnvFile))...)
		}
		for k, v := range s.Environment {
			cmd.env = append(cmd.env, k+"="+v)
		}
		out[name] = cmd
	}
	return out
}

// envFileVars gives an env file's active assignments as KEY=VALUE (readEnvFile in
// envfiles_test.go parses and checks the syntax).
func envFileVars(t *testing.T, path string) []string {
	t.Helper()
	var env []string
	for _, v := range readEnvFile(t, path) {
		if !v.commented {
			env = append(env, v.name+"="+v.val)
		}
	}
	return env
}

// systemdCommands reads ExecStart, Environment and EnvironmentFile of the ingest and
// infer units. EnvironmentFile=/etc/faultline/X.env is deploy/gateway/X.env (what
// install.sh copies there); %H is the host name and %d the credentials directory.
func (r *deployRig) systemdCommands() map[string]command {
	out := map[string]command{}
	for _, name := range []string{"ingest", "infer"} {
		unit := filepath.Join("systemd", "faultline-"+name+".service")
		b, err := os.ReadFile(unit)
		if err != nil {
			r.t.Fatal(err)
		}
		text := strings.ReplaceAll(string(b), "\\\n", " ")
		spec := strings.NewReplacer("%H", "gw-line1", "%d", "/run/credentials/faultline-"+name+".service", "%%", "%")
		cmd := command{source: unit}
		for _, line := range strings.Split(text, "\n") {
			key, val, ok := strings.Cut(strings.TrimSpace(line), "=")
			if !ok {
				continue
			}
			val = spec.Replace(val)
			switch key {
			case "ExecStart":
				cmd.argv = strings.Fields(val)
			case "EnvironmentFile":
				cmd.env = append(cmd.env, envFileVars(r.t, filepath.Join("gateway", filepath.Base(strings.TrimPrefix(val, "-"))))...)
			case "Environment":
				cmd.env = append(cmd.env, strings.Fields(val)...)
			}
		}
		out[name] = cmd
	}
	return out
}

// k8sCommands reads the containers of deploy/k8s/base: command+args with $(VAR)
// expanded from the container's env (values, ConfigMap keys, the pod's fields) as the
// kubelet does.
func (r *deployRig) k8sCommands() map[string]command {
	t := r.t
	configMaps := map[string]map[string]string{}
	var pods = map[string]*corev1.PodSpec{}
	files, _ := filepath.Glob(filepath.Join("k8s", "base", "*.yaml"))
	for _, file := range files {
		if filepath.Base(file) == "kustomization.yaml" {
			continue
		}
		data, _ := os.ReadFile(file)
		objs, err := decodeStrict(data)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, o := range objs {
			if cm, ok := o.(*corev1.ConfigMap); ok {
				configMaps[cm.Name] = cm.Data
			}
			if spec := podSpecOf(o); spec != nil {
				pods[filepath.Base(file)] = spec
			}
		}
	}
	fields := map[string]string{"spec.nodeName": "gw-line1", "metadata.name": "ingest-7d9f8-x2x4q"}
	out := map[string]command{}
	for file, spec := range pods {
		for _, c := range spec.Containers {
			env := map[string]string{}
			var list []string
			add := func(k, v string) { env[k] = v; list = append(list, k+"="+v) }
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef == nil {
					t.Fatalf("%s: envFrom other than a ConfigMap", file)
				}
				data, ok := configMaps[ef.ConfigMapRef.Name]
				if !ok {
					t.Fatalf("%s: ConfigMap %s not in base", file, ef.ConfigMapRef.Name)
				}
				for k, v := range data {
					add(k, v)
				}
			}
			for _, e := range c.Env {
				switch {
				case e.ValueFrom == nil:
					add(e.Name, e.Value)
				case e.ValueFrom.FieldRef != nil:
					add(e.Name, fields[e.ValueFrom.FieldRef.FieldPath])
				case e.ValueFrom.ConfigMapKeyRef != nil:
					v, ok := configMaps[e.ValueFrom.ConfigMapKeyRef.Name][e.ValueFrom.ConfigMapKeyRef.Key]
					if !ok {
						t.Fatalf("%s: %s refers to a missing ConfigMap key %s", file, e.Name, e.ValueFrom.ConfigMapKeyRef.Key)
					}
					add(e.Name, v)
				default:
					t.Fatalf("%s: env %s from an unsupported source", file, e.Name)
				}
			}
			var argv []string
			for _, a := range append(append([]string{}, c.Command...), c.Args...) {
				argv = append(argv, expandK8s(a, env))
			}
			out[c.Name] = command{source: "deploy/k8s/base/" + file + " container " + c.Name, argv: argv, env: list}
		}
	}
	for _, want := range []string{"ingest", "train", "infer"} {
		if _, ok := out[want]; !ok {
			t.Fatalf("deploy/k8s/base has no %s container", want)
		}
	}
	return out
}

var k8sVarRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// expandK8s replaces $(VAR) by the container's env value; an undefined one stays as
// written, as the kubelet leaves it.
func expandK8s(s string, env map[string]string) string {
	return k8sVarRef.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := env[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// podSpecOf returns the pod template of a workload object, or nil.
func podSpecOf(obj any) *corev1.PodSpec {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return &o.Spec.Template.Spec
	case *appsv1.DaemonSet:
		return &o.Spec.Template.Spec
	case *appsv1.StatefulSet:
		return &o.Spec.Template.Spec
	case *batchv1.Job:
		return &o.Spec.Template.Spec
	case *batchv1.CronJob:
		return &o.Spec.JobTemplate.Spec.Template.Spec
	}
	return nil
}
