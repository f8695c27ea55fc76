package sparkplug_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/artifact/artifacttest"
	"github.com/faultline/faultline/internal/infer"
	"github.com/faultline/faultline/internal/influxstore"
	"github.com/faultline/faultline/internal/ingest"
	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/servers"
	"github.com/faultline/faultline/internal/telemetry"
	"github.com/faultline/faultline/internal/testenv"
)

const (
	group  = "plant7"
	node   = "line-a"
	steps  = 60 // DDATA per device
	gapAt  = 30 // the Tahu side skips a seq number here
	window = 5
)

var devices = []string{"press-1", "press-2", "press-3"}

// Sensor names as Faultline stores them ("Temp/Bearing" -> "Temp-Bearing").
var sensors = []string{"Temp-Bearing", "vib_rms", "rpm", "load", "count", "running"}

// tahu returns the node binary and the directory holding the Tahu packages,
// installing them with scripts/ensure-tahu.sh when missing.
func tahu(t *testing.T) (nodeBin, dir string) {
	t.Helper()
	testenv.Integration(t)
	root, _ := filepath.Abs("../..")
	dir = os.Getenv("FAULTLINE_TAHU_DIR")
	if dir == "" {
		dir = filepath.Join(root, ".cache", "tahu")
	}
	if _, err := os.Stat(filepath.Join(dir, ".installed")); err != nil {
		cmd := exec.Command(filepath.Join(root, "scripts", "ensure-tahu.sh"))
		cmd.Env = append(os.Environ(), "FAULTLINE_TAHU_DIR="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			missing(t, fmt.Sprintf("installing the Tahu npm packages failed: %v\n%s", err, out))
		}
	}
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node (Node.js) is not installed: run `make test-tools`")
	}
	return nodeBin, dir
}

func missing(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("FAULTLINE_REQUIRE_SERVERS") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// sentValue is one value the Tahu edge node published.
type sentValue struct {
	Device string  `json:"device"`
	Name   string  `json:"name"`
	TS     int64   `json:"ts"`
	Value  float64 `json:"value"`
}

// TestTahuInteropIntegration is the interoperability test of issue 19.
func TestTahuInteropIntegration(t *testing.T) {
	nodeBin, tahuDir := tahu(t)
	broker, influx := testenv.Mosquitto(t), testenv.Influx(t)
	sc := telemetry.DefaultSparkplugConfig()
	sc.Mapping.Site = "group"
	sc.RebirthInterval = time.Second

	ing := startIngest(t, broker, influx, &sc)
	inf, reg := startInfer(t, broker, influx, &sc)

	waitSubscribed(t, broker, ing, reg)
	t0 := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	sentPath := filepath.Join(t.TempDir(), "sent.json")
	lines := runEdgeNode(t, nodeBin, tahuDir, broker.URL, t0, sentPath)
	var sent struct {
		Rebirths int         `json:"rebirths"`
		Sent     []sentValue `json:"sent"`
	}
	b, err := os.ReadFile(sentPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sent); err != nil {
		t.Fatal(err)
	}
	if sent.Rebirths < 1 || !strings.Contains(lines, "REBIRTH 1") {
		t.Fatalf("the Tahu node answered %d rebirth requests; want at least 1 (after the forced seq gap). Output:\n%s", sent.Rebirths, lines)
	}

	want := map[string]float64{}
	for _, v := range sent.Sent {
		machine := v.Device
		if machine == "" {
			machine = node // a node's own metrics: the node as machine
		}
		name, _ := telemetry.SparkplugSensorName(v.Name)
		want[key(machine, name, v.TS)] = v.Value // the same point sent twice is stored once
	}
	got := waitStored(t, influx, t0, len(want))
	compare(t, want, got)

	st := ing.svc.Stats()
	t.Logf("ingest: %d messages, %d values written, %d rebirth requests, rejections %v", st.Messages, st.ValuesWritten, st.Rebirths, nonZero(st.Rejections))
	if st.Rebirths < 1 || st.Rejections[telemetry.ReasonSPSeqGap] < 1 {
		t.Errorf("ingest sent %d rebirths and counted %d seq gaps; want at least one of each", st.Rebirths, st.Rejections[telemetry.ReasonSPSeqGap])
	}
	// The "serial" String metric of every DBIRTH is counted and skipped.
	if st.Rejections[telemetry.ReasonSPUnsupportedType] < int64(len(devices)) {
		t.Errorf("unsupported_type counted %d times, want at least %d (one String per DBIRTH)", st.Rejections[telemetry.ReasonSPUnsupportedType], len(devices))
	}

	// The daemon scored every device: stop it (flushing its scores) and count them.
	if err := inf.stop(); err != nil {
		t.Fatal(err)
	}
	scores := countScores(t, influx, t0)
	for _, dev := range devices {
		// Windows of `window` samples over `steps` DATA plus births: at least one
		// score per DATA sample once the first window is full.
		if scores[dev] < steps-window+1 {
			t.Errorf("daemon wrote %d scores for %s, want at least %d", scores[dev], dev, steps-window+1)
		}
	}
	if off := counter(t, reg, "infer_sparkplug_offline_total"); off < 1 {
		t.Errorf("infer_sparkplug_offline_total = %v after DDEATH and NDEATH, want >= 1", off)
	}
	t.Logf("daemon scores per machine %v", scores)
}

func key(machine, sensor string, ms int64) string {
	return fmt.Sprintf("%s %s @%d", machine, sensor, ms)
}

func nonZero(m map[telemetry.Reason]int64) map[telemetry.Reason]int64 {
	out := map[telemetry.Reason]int64{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

type runningIngest struct{ svc *ingest.Service }

func startIngest(t *testing.T, broker *servers.Mosquitto, influx *servers.Influx, sc *telemetry.SparkplugConfig) *runningIngest {
	t.Helper()
	cfg := ingest.DefaultConfig()
	cfg.ClientID = "ingest-tahu"
	cfg.SpoolDir = t.TempDir()
	cfg.MQTT.URL = broker.URL
	cfg.MQTT.MaxReconnectInterval = 500 * time.Millisecond
	cfg.Influx = influxstore.Config{URL: influx.URL, Bucket: "factory", Timeout: 5 * time.Second}
	cfg.FlushInterval = 50 * time.Millisecond
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.Sparkplug = sc
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
	svc, closeStore, err := ingest.Build(cfg, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("ingest Run: %v", err)
		}
		closeStore()
	})
	waitFor(t, "ingest to connect", 20*time.Second, func() bool { return svc.Ready(context.Background()) == nil })
	return &runningIngest{svc: svc}
}

type runningInfer struct{ stop func() error }

func startInfer(t *testing.T, broker *servers.Mosquitto, influx *servers.Influx, sc *telemetry.SparkplugConfig) (*runningInfer, *prometheus.Registry) {
	t.Helper()
	mdl := artifacttest.Anomaly(sensors, window)
	mdl.Name = "press"
	path := filepath.Join(t.TempDir(), "press.model")
	if err := mdl.Save(path); err != nil {
		t.Fatal(err)
	}
	cfg := infer.DefaultConfig()
	cfg.Model = path
	cfg.MQTT.URL = broker.URL
	cfg.MQTT.MaxReconnectInterval = 500 * time.Millisecond
	cfg.MQTT.ConnectTimeout = 5 * time.Second
	cfg.QueueDir = t.TempDir()
	cfg.ShutdownTimeout = 3 * time.Second
	cfg.Sparkplug = sc
	cfg.Influx = &influxstore.Config{URL: influx.URL, Bucket: "factory", Timeout: 5 * time.Second}
	reg := prometheus.NewRegistry()
	d, closeAdapters, err := infer.Build(cfg, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel), reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeAdapters)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	waitFor(t, "infer to connect", 20*time.Second, func() bool { return d.Ready(context.Background()) == nil })
	return &runningInfer{stop: stop}, reg
}

// runEdgeNode runs the Tahu edge node to its end and returns its output.
func runEdgeNode(t *testing.T, nodeBin, tahuDir, mqttURL string, t0 time.Time, sentPath string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodeBin, "tahu_edge.js")
	cmd.Env = append(os.Environ(), "TAHU_DIR="+tahuDir, "MQTT_URL="+strings.Replace(mqttURL, "tcp://", "mqtt://", 1),
		"GROUP="+group, "NODE="+node, "DEVICES="+strings.Join(devices, ","), fmt.Sprintf("N=%d", steps),
		fmt.Sprintf("GAP_AT=%d", gapAt), fmt.Sprintf("T0=%d", t0.UnixMilli()), "SENT="+sentPath)
	var out strings.Builder
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lines strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		lines.WriteString(sc.Text() + "\n")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("Tahu edge node: %v\nstdout:\n%s\nstderr:\n%s", err, lines.String(), out.String())
	}
	if !strings.Contains(lines.String(), "DONE") {
		t.Fatalf("Tahu edge node did not finish:\n%s\n%s", lines.String(), out.String())
	}
	return lines.String()
}

// waitStored reads back every telemetry value of the group until n are stored (or a
// minute passed) and returns them by key.
func waitStored(t *testing.T, influx *servers.Influx, t0 time.Time, n int) map[string]float64 {
	t.Helper()
	st, err := influxstore.New(influxstore.Config{URL: influx.URL, Bucket: "factory"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var got map[string]float64
	deadline := time.Now().Add(time.Minute)
	for {
		got = map[string]float64{}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := st.ReadTelemetry(ctx, influxstore.SeriesQuery{Site: group, Start: t0.Add(-time.Hour), Stop: time.Now().Add(time.Hour)}, func(r influxstore.Row) error {
			if r.Machine.Line != node {
				return fmt.Errorf("row of line %q, want %q (the edge node)", r.Machine.Line, node)
			}
			for s, v := range r.Values {
				got[key(r.Machine.Machine, s, r.Time.UnixMilli())] = v
			}
			return nil
		})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// compare requires the stored values to be exactly the sent ones.
func compare(t *testing.T, want, got map[string]float64) {
	t.Helper()
	var lost, extra, altered []string
	for k, v := range want {
		g, ok := got[k]
		switch {
		case !ok:
			lost = append(lost, k)
		case g != v && !(math.IsNaN(g) && math.IsNaN(v)):
			altered = append(altered, fmt.Sprintf("%s: sent %v stored %v", k, v, g))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(lost)
	sort.Strings(extra)
	sort.Strings(altered)
	t.Logf("Tahu sent %d distinct values; InfluxDB holds %d; lost %d, altered %d, extra %d", len(want), len(got), len(lost), len(altered), len(extra))
	if len(lost)+len(extra)+len(altered) > 0 {
		t.Fatalf("lost %v\naltered %v\nextra %v", head(lost), head(altered), head(extra))
	}
}

func head(s []string) []string {
	if len(s) > 10 {
		return append(s[:10:10], fmt.Sprintf("... %d more", len(s)-10))
	}
	return s
}

func countScores(t *testing.T, influx *servers.Influx, t0 time.Time) map[string]int {
	t.Helper()
	st, err := influxstore.New(influxstore.Config{URL: influx.URL, Bucket: "factory"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	flux := fmt.Sprintf(`from(bucket: "factory/autogen")
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == "scores" and r.site == %q and r._field == "score")
  |> group(columns: ["machine"])
  |> count()`, t0.Add(-time.Hour).UTC().Format(time.RFC3339), time.Now().Add(time.Hour).UTC().Format(time.RFC3339), group)
	out := map[string]int{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = st.Query(ctx, flux, func(r influxstore.Record) error {
		if v, ok := r.Float("_value"); ok {
			out[r.String("machine")] = int(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			var sum float64
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
			return sum
		}
	}
	return 0
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitSubscribed publishes an NDEATH of a node nobody has seen until ingest and the
// daemon have both counted it (stale_death): their Sparkplug subscriptions stand, so
// the Tahu node's first BIRTH cannot be missed. (Ready only says connected; SUBACKs
// come after.)
func waitSubscribed(t *testing.T, broker *servers.Mosquitto, ing *runningIngest, reg *prometheus.Registry) {
	t.Helper()
	cfg := mqttclient.DefaultConfig()
	cfg.URL, cfg.ClientID = broker.URL, "tahu-test-probe"
	cl, err := mqttclient.New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer cl.Disconnect(100 * time.Millisecond)
	waitFor(t, "ingest and infer to take Sparkplug messages", 20*time.Second, func() bool {
		if err := cl.Publish(ctx, "spBv1.0/"+group+"/NDEATH/probe", 1, false, nil); err != nil {
			return false
		}
		time.Sleep(50 * time.Millisecond)
		return ing.svc.Stats().Rejections[telemetry.ReasonSPStaleDeath] > 0 && counterWith(t, reg, "infer_drops_total", "reason", string(telemetry.ReasonSPStaleDeath)) > 0
	})
}

func counterWith(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
