package chaos

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/artifact/artifacttest"
	"github.com/faultline/faultline/internal/influxstore"
	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/servers"
	"github.com/faultline/faultline/internal/telemetry"
	"github.com/faultline/faultline/internal/testenv"
)

// binDir holds the programs TestMain built from this module.
var binDir string

func TestMain(m *testing.M) { os.Exit(RunWithPrograms(m, &binDir, "ingest", "infer")) }

// longMode is `make chaos`: the full-size run.
func longMode() bool { return os.Getenv("FAULTLINE_CHAOS") == "long" }

var topics = telemetry.MustTopics("")

// brokerExtra lifts Mosquitto's per-client queue to the production value in
// deploy/mosquitto/mosquitto-tls.conf: the default 1,000 would drop messages while
// ingest is down at 1,000 msgs/s.
const brokerExtra = "max_queued_messages 100000\nmax_inflight_messages 100\n"

type rig struct {
	t      *testing.T
	dir    string
	broker *servers.Mosquitto
	influx *servers.Influx
	store  *influxstore.Store
}

func newRig(t *testing.T, brokerConf string) *rig {
	t.Helper()
	testenv.Integration(t)
	r := &rig{t: t, dir: t.TempDir()}
	r.broker = testenv.Mosquitto(t, servers.MosquittoOptions{Extra: brokerConf})
	r.influx = testenv.Influx(t)
	st, err := influxstore.New(influxstore.Config{URL: r.influx.URL, Bucket: "factory", Timeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := st.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	r.store = st
	return r
}

// proc prepares a program of binDir with a /metrics address; it is not started.
func (r *rig) proc(name string, args ...string) *Proc {
	r.t.Helper()
	addr, err := servers.FreeAddr()
	if err != nil {
		r.t.Fatal(err)
	}
	prog := strings.Fields(name)[0]
	p := NewProc(name, filepath.Join(binDir, prog), addr, filepath.Join(r.dir, strings.ReplaceAll(name, " ", "-")+".log"),
		nil, append(args, "--http-addr", addr, "--log-format", "json")...)
	r.t.Cleanup(func() {
		p.Stop(15 * time.Second)
		if r.t.Failed() {
			r.t.Logf("%s log (tail):\n%s", name, tail(p.Log(), 30))
		}
	})
	return p
}

// ingest prepares bin/ingest against the rig's servers with a persistent session.
func (r *rig) ingest(extra ...string) *Proc {
	args := append([]string{"--mqtt-url", r.broker.URL, "--influx-url", r.influx.URL,
		"--client-id", "chaos-ingest", "--spool-dir", filepath.Join(r.dir, "spool"),
		"--flush-interval", "200ms"}, extra...)
	return r.proc("ingest", args...)
}

// infer prepares `bin/infer run` with an artifacttest anomaly model over the sensors.
func (r *rig) infer(model string, extra ...string) *Proc {
	args := append([]string{"run", "--mqtt-url", r.broker.URL, "--model", model,
		"--queue-dir", filepath.Join(r.dir, "infer-queue"), "--instance", "chaos"}, extra...)
	p := r.proc("infer", args...)
	return p
}

// anomalyModel writes artifacttest's zero network (score = window mean of the
// residuals) over s0..s(n-1), window w, to dir.
func anomalyModel(t *testing.T, dir string, sensors, w int) string {
	t.Helper()
	var names []string
	for s := range sensors {
		names = append(names, SensorName(s))
	}
	a := artifacttest.Anomaly(names, w)
	p := filepath.Join(dir, "anomaly.model")
	if err := a.Save(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustStart(t *testing.T, ctx context.Context, p *Proc) {
	t.Helper()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p.Ready(ctx); err != nil {
		t.Fatalf("%s not ready: %v\n%s", p.Name, err, tail(p.Log(), 20))
	}
}

func (r *rig) mqttConfig() mqttclient.Config {
	c := mqttclient.DefaultConfig()
	c.URL = r.broker.URL
	return c
}

// countSensor counts the stored values of one sensor of site in the plan's range.
func (r *rig) countSensor(ctx context.Context, p *Plan, sensor string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	q := influxstore.SeriesQuery{Site: p.Site, Start: p.T0.Add(-time.Second), Stop: p.T0.Add(time.Duration(p.Seconds+1) * time.Second)}
	return r.store.CountPoints(ctx, q, sensor)
}

// waitStored polls the count of s0 until want or until it stops moving for idle.
func (r *rig) waitStored(ctx context.Context, p *Plan, want int64, idle time.Duration) int64 {
	var last int64 = -1
	changed := time.Now()
	for ctx.Err() == nil {
		n, err := r.countSensor(ctx, p, "s0")
		if err == nil && n != last {
			last, changed = n, time.Now()
		}
		if last >= want || time.Since(changed) > idle {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	return last
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func newClient(cfg mqttclient.Config) (*mqttclient.Client, error) {
	return mqttclient.New(cfg, zerolog.Nop())
}

func listen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
