// Package demo runs the whole Faultline pipeline on one machine: it starts InfluxDB
// and a broker, simulates a healthy plant, ingests it, trains one model per machine
// type from what InfluxDB holds, starts the edge daemon, then simulates faults and
// prints alerts as they arrive and a summary against the simulator's truth. Every
// process it starts it stops again, also on Ctrl-C.
package demo

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/eval"
	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/servers"
	"github.com/faultline/faultline/internal/telemetry"
	"github.com/faultline/faultline/simulators"
)

// Config of a demo run.
type Config struct {
	BinDir          string
	OutDir          string
	MachinesPerType int
	Rate            float64       // samples per second of simulated time
	Healthy         time.Duration // simulated healthy period used for training
	Faulty          time.Duration // simulated period with scheduled faults
	Speed           float64       // simulated seconds per wall second in the faulty period
	Seed            int
	Endless         bool // keep simulating (random faults) until Ctrl-C
	// Sparkplug runs the pipeline on Sparkplug B: the simulator publishes an edge node
	// per line, ingest and infer consume spBv1.0 with --sparkplug.
	Sparkplug bool
	Out       io.Writer
	Log       zerolog.Logger
}

// Demo is one run.
type Demo struct {
	cfg      Config
	children []*servers.Process
	stops    []func()

	mu     sync.Mutex // alerts, and every write to cfg.Out (alerts print from MQTT callbacks)
	alerts []telemetry.Alert
}

// Run executes the demo and stops everything it started before returning.
func Run(ctx context.Context, cfg Config) error {
	d := &Demo{cfg: cfg}
	defer d.shutdown()
	return d.run(ctx)
}

func (d *Demo) say(format string, a ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.cfg.Out, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
}

func (d *Demo) shutdown() {
	for i := len(d.children) - 1; i >= 0; i-- {
		d.children[i].Stop(childGrace)
	}
	for i := len(d.stops) - 1; i >= 0; i-- {
		d.stops[i]()
	}
}

// schedule injects life-ending and other faults across machine types, at offsets into
// the faulty period that leave each one time to develop.
func schedule(perType int, faulty time.Duration) string {
	h := faulty.Hours()
	at := func(f float64) string { return fmt.Sprintf("%dh", int(f*h)) }
	var s []string
	add := func(m, kind, when, dur string) { s = append(s, fmt.Sprintf("%s=%s@%s+%s", m, kind, when, dur)) }
	dur := func(f float64) string { return fmt.Sprintf("%dh", max(2, int(f*h))) }
	add("pump-0001", telemetry.FaultBearingWear, at(0.15), dur(0.5))
	add("motor-0001", telemetry.FaultOverheating, at(0.4), dur(0.15))
	add("compressor-0001", telemetry.FaultBearingWear, at(0.25), dur(0.45))
	if perType > 1 {
		add("pump-0002", telemetry.FaultCavitation, at(0.3), dur(0.1))
		add("motor-0002", telemetry.FaultBearingWear, at(0.2), dur(0.5))
	}
	return strings.Join(s, ",")
}

func (d *Demo) run(ctx context.Context) error {
	c := d.cfg
	for _, sub := range []string{"logs", "models", "reports", "influx", "broker", "spool", "queue"} {
		if err := os.MkdirAll(filepath.Join(c.OutDir, sub), 0o755); err != nil {
			return err
		}
	}
	d.say("Faultline demo: output in %s", c.OutDir)
	influx, err := servers.StartInflux(ctx, filepath.Join(c.OutDir, "influx"), servers.InfluxOptions{})
	if err != nil {
		return fmt.Errorf("start InfluxDB (run `make servers` to build bin/influxd): %w", err)
	}
	d.stops = append(d.stops, influx.Stop)
	if err := influx.CreateDatabase(ctx, "factory"); err != nil {
		return err
	}
	d.say("InfluxDB %s (pid %d)", influx.URL, influx.PID())
	brokerURL, err := d.startBroker(ctx)
	if err != nil {
		return err
	}
	env := []string{"FAULTLINE_MQTT_URL=" + brokerURL, "FAULTLINE_INFLUX_URL=" + influx.URL}

	ingestAddr, err := servers.FreeAddr()
	if err != nil {
		return err
	}
	ing, err := d.start("ingest", env, append([]string{"--http-addr", ingestAddr, "--spool-dir", filepath.Join(c.OutDir, "spool"), "--client-id", "faultline-demo-ingest"}, d.sparkplugArgs("ingest")...)...)
	if err != nil {
		return err
	}
	if err := waitHTTP(ctx, ing, ingestAddr); err != nil {
		return err
	}
	d.say("ingest running (metrics on http://%s/metrics)", ingestAddr)

	// Whole hours keep the two phases aligned; everything lies in the past, as
	// InfluxDB and ingest expect of real telemetry.
	pause := phasePause(c.Rate)
	t0 := time.Now().UTC().Add(-(c.Healthy + pause + c.Faulty + time.Hour)).Truncate(time.Hour)
	t1 := t0.Add(c.Healthy)
	machines := 3 * c.MachinesPerType
	rate := fmt.Sprint(c.Rate)
	d.say("phase 1: simulating %d machines for %s of healthy operation (from %s)", machines, c.Healthy, t0.Format(time.RFC3339))
	speed1 := backfillRate / (float64(machines) * c.Rate)
	if err := d.exec(ctx, "simulate", env, append([]string{"--machines", fmt.Sprint(machines), "--rate", rate, "--speed", fmt.Sprint(speed1),
		"--duration", c.Healthy.String(), "--start", t0.Format(time.RFC3339), "--fault-rate", "0", "--seed", fmt.Sprint(c.Seed),
		"--truth-out", filepath.Join(c.OutDir, "truth-healthy.jsonl"), "--client-id", "faultline-demo-sim1"}, d.sparkplugArgs("simulate")...)...); err != nil {
		return err
	}
	published, err := publishedSamples(filepath.Join(c.OutDir, "logs", "simulate.log"))
	if err != nil {
		return err
	}
	if err := d.waitStored(ctx, ingestAddr, published); err != nil {
		return err
	}
	d.say("training one model per machine type from InfluxDB (%s .. %s)", t0.Format("01-02 15:04"), t1.Format("01-02 15:04"))
	models := filepath.Join(c.OutDir, "models")
	if err := d.exec(ctx, "train", env, "--source", "influx", "--all", "--group-by", "type",
		"--start", t0.Format(time.RFC3339), "--stop", t1.Format(time.RFC3339), "--out-dir", models,
		"--report", filepath.Join(c.OutDir, "reports"), "--context", strings.Join(simulators.ContextColumns(), ","), "--seed", fmt.Sprint(c.Seed)); err != nil {
		return err
	}
	for _, t := range []string{"pump", "motor", "compressor"} {
		d.say("model %s", filepath.Join(models, t+".model"))
	}

	if err := d.watchAlerts(ctx, brokerURL); err != nil {
		return err
	}
	inferAddr, err := servers.FreeAddr()
	if err != nil {
		return err
	}
	inf, err := d.start("infer", env, append([]string{"run", "--http-addr", inferAddr, "--queue-dir", filepath.Join(c.OutDir, "queue"),
		"--route", "pump-*=" + filepath.Join(models, "pump.model"),
		"--route", "motor-*=" + filepath.Join(models, "motor.model"),
		"--route", "compressor-*=" + filepath.Join(models, "compressor.model")}, d.sparkplugArgs("infer")...)...)
	if err != nil {
		return err
	}
	if err := waitHTTP(ctx, inf, inferAddr); err != nil {
		return err
	}
	d.say("edge daemon running (metrics on http://%s/metrics); alerts follow as they arrive", inferAddr)

	// The second simulator starts its machines afresh (cold, at a new operating
	// point), not where the first left them: a plant does not jump so. A pause longer
	// than the daemon fills (scoring's MaxFill rows) makes it an outage, after which
	// each machine's window starts over, as after a stop; without it the first
	// windows held both simulators' rows and every bearing temperature alarmed.
	t2 := t1.Add(pause)
	faultyArgs := []string{"--machines", fmt.Sprint(machines), "--rate", rate, "--speed", fmt.Sprint(c.Speed),
		"--start", t2.Format(time.RFC3339), "--seed", fmt.Sprint(c.Seed + 1), "--client-id", "faultline-demo-sim2",
		"--truth-out", filepath.Join(c.OutDir, "truth.jsonl")}
	faultyArgs = append(faultyArgs, d.sparkplugArgs("simulate")...)
	if c.Endless {
		faultyArgs = append(faultyArgs, "--duration", "0", "--fault-rate", "0.2")
		d.say("phase 2: simulating faults at random until Ctrl-C")
	} else {
		faultyArgs = append(faultyArgs, "--duration", c.Faulty.String(), "--fault-rate", "0", "--schedule", schedule(c.MachinesPerType, c.Faulty))
		d.say("phase 2: simulating %s with scheduled faults at %gx speed", c.Faulty, c.Speed)
	}
	if err := d.exec(ctx, "simulate", env, faultyArgs...); err != nil && ctx.Err() == nil {
		return err
	}
	time.Sleep(2 * time.Second) // last windows and alerts in flight
	truth, err := eval.ReadTruthFile(filepath.Join(c.OutDir, "truth.jsonl"))
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	s := eval.Summarize(truth, d.alerts, t2, t2.Add(c.Faulty), 2*time.Hour)
	s.Print(c.Out)
	fmt.Fprintf(c.Out, "\nmodels: %s\nreports: %s\nlogs: %s\ntruth: %s\n", models, filepath.Join(c.OutDir, "reports"),
		filepath.Join(c.OutDir, "logs"), filepath.Join(c.OutDir, "truth.jsonl"))
	return nil
}

// demoBrokerConf matches deploy/mosquitto/mosquitto.conf where it matters here: the
// healthy period is published as a backfill burst, and Mosquitto's default queue of
// 1,000 messages per subscriber would drop what ingest has not taken yet.
const demoBrokerConf = "set_tcp_nodelay true\nmax_inflight_messages 100\nmax_queued_messages 100000\nmax_queued_bytes 0\n"

// phasePause is the silence between the healthy and the faulty simulation: an outage
// to the daemon (more rows than scoring fills, artifact MaxFill: 3 by default), so no
// window joins the two simulators' machines. A quarter hour, or ten samples at a slower
// rate.
func phasePause(rate float64) time.Duration {
	return max(15*time.Minute, time.Duration(10/rate*float64(time.Second)))
}

// backfillRate bounds the healthy-period publish rate (messages per second), so the
// burst stays well inside what ingest takes on a small machine.
const backfillRate = 2000.0

func (d *Demo) startBroker(ctx context.Context) (string, error) {
	if _, err := servers.MosquittoBinary(); err == nil {
		m, err := servers.StartMosquitto(ctx, filepath.Join(d.cfg.OutDir, "broker"), servers.MosquittoOptions{Extra: demoBrokerConf})
		if err != nil {
			return "", err
		}
		d.stops = append(d.stops, m.Stop)
		d.say("Mosquitto %s (pid %d)", m.URL, m.PID())
		return m.URL, nil
	}
	e, err := servers.StartEmbedded()
	if err != nil {
		return "", err
	}
	d.stops = append(d.stops, e.Stop)
	d.say("Mosquitto not installed: embedded broker %s", e.URL)
	return e.URL, nil
}

// waitStored waits until ingest has written every sample the simulator published
// (its own metrics say so exactly: points written, nothing left in the spool), so
// training reads the whole healthy period.
func (d *Demo) waitStored(ctx context.Context, ingestAddr string, published int64) error {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		m, err := scrape(ctx, ingestAddr)
		if err == nil && m["faultline_ingest_points_written_total"] >= float64(published) && m["faultline_ingest_spool_pending_bytes"] == 0 {
			d.say("InfluxDB holds all %d samples of the healthy period", published)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ingest wrote %.0f of %d samples in 5 minutes; see %s", m["faultline_ingest_points_written_total"], published, filepath.Join(d.cfg.OutDir, "logs", "ingest.log"))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// scrape reads a program's Prometheus metrics (unlabelled series only).
func scrape(ctx context.Context, addr string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(val, 64); err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}

// publishedSamples reads the sample count simulate logs when it stops.
func publishedSamples(logPath string) (int64, error) {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return 0, err
	}
	var n int64 = -1
	for _, line := range strings.Split(string(b), "\n") {
		var rec struct {
			Message string `json:"message"`
			Samples *int64 `json:"samples"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Message == "stopped" && rec.Samples != nil {
			n = *rec.Samples
		}
	}
	if n < 0 {
		return 0, fmt.Errorf("no sample count in %s", logPath)
	}
	return n, nil
}

// watchAlerts subscribes to every alert and prints one readable line each.
func (d *Demo) watchAlerts(ctx context.Context, url string) error {
	cfg := mqttclient.DefaultConfig()
	cfg.URL, cfg.ClientID = url, "faultline-demo-watch"
	cl, err := mqttclient.New(cfg, d.cfg.Log)
	if err != nil {
		return err
	}
	cl.Subscribe(telemetry.MustTopics("").AlertsFilter(), 1, func(m mqttclient.Message) {
		var a telemetry.Alert
		if err := json.Unmarshal(m.Payload(), &a); err != nil {
			return
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		d.alerts = append(d.alerts, a)
		var top []string
		for _, c := range a.Top {
			top = append(top, fmt.Sprintf("%s %.0f%%", c.Sensor, 100*c.Share))
		}
		why := ""
		if a.Reason != "" {
			why = "  (" + a.ReasonText() + ")"
		}
		fault := ""
		if f := a.FaultText(); f != "" {
			fault = "[" + f + "]  "
		}
		if a.Reason == telemetry.ReasonMaintenance {
			// Work on the machine cleared it: no score to show, the message says what was done.
			fmt.Fprintf(d.cfg.Out, "ALERT %s  %-16s %-8s %-8s %s\n", a.TS.Format("01-02 15:04"), a.Machine, a.State, a.Severity, a.Message)
			return
		}
		fmt.Fprintf(d.cfg.Out, "ALERT %s  %-16s %-8s %-8s score %.2f/%.2f  %stop: %s%s\n", a.TS.Format("01-02 15:04"), a.Machine, a.State, a.Severity, a.Score, a.Threshold, fault, strings.Join(top, ", "), why)
	})
	if err := cl.Connect(ctx); err != nil {
		return err
	}
	d.stops = append(d.stops, func() { cl.Disconnect(100 * time.Millisecond) })
	time.Sleep(200 * time.Millisecond)
	return nil
}

// sparkplugArgs are the extra flags of a program in a Sparkplug B demo (none otherwise).
func (d *Demo) sparkplugArgs(program string) []string {
	switch {
	case !d.cfg.Sparkplug:
		return nil
	case program == "simulate":
		return []string{"--format", "sparkplug"}
	}
	return []string{"--sparkplug"} // ingest, infer
}
