// Command infer measures the edge daemon. Each mode ends with one key=value line.
//
//	go run ./bench/infer -mode offline   # `infer score` throughput on one core: rows_per_s=
//	go run ./bench/infer -mode live      # telemetry through real Mosquitto: msgs_per_s= drops=
//	go run ./bench/infer -mode latency   # publish -> alert receipt at 1,000 msg/s: p50_ms= p99_ms=
//	go run ./bench/infer -mode rss       # daemon subprocess with 100 machines: rss_mb= binary_mb=
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/artifact/artifacttest"
	"github.com/faultline/faultline/internal/dataset"
	"github.com/faultline/faultline/internal/infer"
	"github.com/faultline/faultline/internal/model"
	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/servers"
	"github.com/faultline/faultline/internal/telemetry"
)

var qos = flag.Int("qos", 1, "QoS of the daemon's telemetry subscription")

var sensors = []string{"bearing_temp", "vib_rms", "flow", "pressure", "current", "speed", "oil_temp", "noise"}

func main() {
	mode := flag.String("mode", "offline", "offline, live, latency or rss")
	n := flag.Int("n", 0, "rows or messages (0: the mode's default)")
	flag.Parse()
	dir, err := os.MkdirTemp("", "bench-infer-")
	if err == nil {
		defer os.RemoveAll(dir)
		err = runMode(*mode, *n, dir, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench infer:", err)
		os.Exit(1)
	}
}

func runMode(mode string, n int, dir string, out io.Writer) error {
	switch mode {
	case "offline":
		return offline(def(n, 400000), dir, out)
	case "live":
		return live(def(n, 200000), dir, out)
	case "latency":
		return latency(def(n, 10000), dir, out)
	case "rss":
		return rss(dir, out)
	}
	return fmt.Errorf("unknown mode %q", mode)
}

func def(n, d int) int {
	if n > 0 {
		return n
	}
	return d
}

// benchModel: 8 sensors, window 30, default features (64 inputs), a 64-32-8 MLP with
// random weights: the size of the models the trainer produces for a pump.
func benchModel(dir string, window int, alert *alerting.Config) (string, error) {
	a := artifacttest.Anomaly(sensors, window)
	net, err := model.New[float32](a.Spec.NumFeatures(), []model.Layer{{Size: 32, Act: model.ReLU}, {Size: len(sensors), Act: model.Linear}}, 7)
	if err != nil {
		return "", err
	}
	if a.Nets[0], err = net.MarshalBinary(); err != nil {
		return "", err
	}
	for i := range a.TargetScale {
		a.TargetScale[i] = 0.01
	}
	a.Period = 0
	if alert != nil {
		a.Alert = *alert
	}
	p := filepath.Join(dir, "bench.model")
	return p, a.Save(p)
}

func offline(rows int, dir string, out io.Writer) error {
	runtime.GOMAXPROCS(1)
	mp, err := benchModel(dir, 30, nil)
	if err != nil {
		return err
	}
	csv := filepath.Join(dir, "in.csv")
	f, err := os.Create(csv)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	fmt.Fprintf(f, "ts,%s\n", strings.Join(sensors, ","))
	for i := 0; i < rows; i++ {
		fmt.Fprintf(f, "%d", 1700000000+i)
		for range sensors {
			fmt.Fprintf(f, ",%.4f", rng.NormFloat64())
		}
		fmt.Fprintln(f)
	}
	f.Close()
	start := time.Now()
	st, err := infer.Score(infer.ScoreOptions{Model: mp, CSV: dataset.Options{TimeColumn: "ts"}}, csv, io.Discard)
	if err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(out, "offline score: %d rows, %d windows, 8 sensors, window 30, 64-32-8 MLP, GOMAXPROCS=1, %v (CSV parse included)\n", st.Rows, st.Scored, el.Round(time.Millisecond))
	fmt.Fprintf(out, "rows_per_s=%.0f\n", float64(st.Rows)/el.Seconds())
	return nil
}

func startBroker(dir string) (*servers.Mosquitto, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return servers.StartMosquitto(ctx, filepath.Join(dir, "mosq"), servers.MosquittoOptions{Extra: os.Getenv("BENCH_MOSQ_EXTRA")})
}

func startDaemon(dir, url, mp string) (*infer.Daemon, func(), error) {
	cfg := infer.DefaultConfig()
	cfg.QoS = byte(*qos)
	cfg.Model, cfg.QueueDir, cfg.MQTT.URL = mp, filepath.Join(dir, "q"), url
	cfg.Limits.MaxFuture = 0
	d, closeAdapters, err := infer.Build(cfg, zerolog.Nop(), nil)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = d.Run(ctx); close(done) }()
	return d, func() { cancel(); <-done; closeAdapters() }, nil
}

func client(url, id string) (*mqttclient.Client, error) {
	cfg := mqttclient.DefaultConfig()
	cfg.URL, cfg.ClientID = url, id
	cl, err := mqttclient.New(cfg, zerolog.Nop())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cl, cl.Connect(ctx)
}

func sample(rng *rand.Rand, ts time.Time, hot bool) telemetry.Sample {
	s := telemetry.Sample{Time: ts}
	for i, name := range sensors {
		v := rng.NormFloat64() * 0.01
		if hot && i == 0 {
			v += 50
		}
		s.Values = append(s.Values, telemetry.Value{Sensor: name, V: v})
	}
	return s
}

// live publishes n messages over 100 machines as fast as the broker takes them (QoS 1,
// a window of async publishes) and counts what the daemon scored.
func live(n int, dir string, out io.Writer) error {
	mp, err := benchModel(dir, 30, nil)
	if err != nil {
		return err
	}
	b, err := startBroker(dir)
	if err != nil {
		return err
	}
	defer b.Stop()
	d, stop, err := startDaemon(dir, b.URL, mp)
	if err != nil {
		return err
	}
	defer stop()
	time.Sleep(500 * time.Millisecond) // daemon subscribed
	pub, err := client(b.URL, "bench-pub")
	if err != nil {
		return err
	}
	defer pub.Disconnect(100 * time.Millisecond)
	rng := rand.New(rand.NewPCG(5, 6))
	topics, t0 := telemetry.MustTopics("factory"), time.Now().Add(-time.Hour)
	var tops []string
	for m := 0; m < 100; m++ {
		tops = append(tops, topics.Telemetry(telemetry.Machine{Site: "s", Line: "l", Machine: fmt.Sprintf("pump-%03d", m)}))
	}
	before := d.Stats().Messages
	start := time.Now()
	var pending []<-chan struct{}
	var buf []byte
	for i := 0; i < n; i++ {
		// Flow control: Mosquitto drops QoS 1 messages beyond its 1,000-message queue
		// per subscriber, so a publisher that outruns the consumer measures the
		// broker's drops, not the daemon. Stay under that queue.
		for int64(i)-(d.Stats().Messages-before) > 800 {
			time.Sleep(50 * time.Microsecond)
		}
		buf = telemetry.EncodeTelemetry(buf[:0], sample(rng, t0.Add(time.Duration(i/100)*time.Second), false))
		done, _ := pub.PublishAsync(tops[i%100], 1, false, append([]byte(nil), buf...))
		pending = append(pending, done)
		if len(pending) == 1000 {
			for _, p := range pending {
				<-p
			}
			pending = pending[:0]
		}
	}
	for _, p := range pending {
		<-p
	}
	deadline := time.Now().Add(60 * time.Second)
	for d.Stats().Messages-before < int64(n) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	el := time.Since(start)
	got := d.Stats().Messages - before
	fmt.Fprintf(out, "live: %d messages (8 sensors each, 100 machines, QoS 1) through Mosquitto in %v; scored %d\n", n, el.Round(time.Millisecond), got)
	fmt.Fprintf(out, "msgs_per_s=%.0f drops=%d\n", float64(got)/el.Seconds(), int64(n)-got)
	return nil
}

// latency publishes at 1,000 msg/s over 10 machines with a model that alerts on every
// flip of the data (window 2, raise on 1 of 1, clear after 1) and data that flips
// every 10 samples: 100 alerts/s; an alert's ts is its triggering sample's publish time.
func latency(n int, dir string, out io.Writer) error {
	cfg := alerting.Config{Levels: alerting.Levels{Warn: 1, Critical: 1e9, Clear: 0.8, Above: true}, K: 1, M: 1, ClearAfter: 1}
	mp, err := benchModel(dir, 2, &cfg)
	if err != nil {
		return err
	}
	b, err := startBroker(dir)
	if err != nil {
		return err
	}
	defer b.Stop()
	_, stop, err := startDaemon(dir, b.URL, mp)
	if err != nil {
		return err
	}
	defer stop()
	var mu sync.Mutex
	var lat []float64
	sub, err := client(b.URL, "bench-sub")
	if err != nil {
		return err
	}
	defer sub.Disconnect(100 * time.Millisecond)
	topics := telemetry.MustTopics("factory")
	sub.Subscribe(topics.AlertsFilter(), 1, func(m mqttclient.Message) {
		now := time.Now()
		var a telemetry.Alert
		if json.Unmarshal(m.Payload(), &a) == nil {
			mu.Lock()
			lat = append(lat, float64(now.Sub(a.TS))/1e6)
			mu.Unlock()
		}
	})
	time.Sleep(500 * time.Millisecond)
	pub, err := client(b.URL, "bench-pub")
	if err != nil {
		return err
	}
	defer pub.Disconnect(100 * time.Millisecond)
	rng := rand.New(rand.NewPCG(7, 8))
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	var buf []byte
	for i := 0; i < n; i++ {
		<-tick.C
		m := telemetry.Machine{Site: "s", Line: "l", Machine: fmt.Sprintf("m%d", i%10)}
		hot := (i/10/10)%2 == 1 // each machine: 10 calm, 10 hot, ...: 2 alerts per 20 messages
		buf = telemetry.EncodeTelemetry(buf[:0], sample(rng, time.Now(), hot))
		pub.PublishAsync(topics.Telemetry(m), 1, false, append([]byte(nil), buf...))
	}
	time.Sleep(time.Second)
	mu.Lock()
	defer mu.Unlock()
	if len(lat) == 0 {
		return fmt.Errorf("no alerts received")
	}
	sort.Float64s(lat)
	q := func(p float64) float64 { return lat[int(math.Min(float64(len(lat)-1), p*float64(len(lat))))] }
	fmt.Fprintf(out, "latency: %d messages at 1,000 msg/s, %d alerts received; publish -> alert receipt through Mosquitto on loopback\n", n, len(lat))
	fmt.Fprintf(out, "p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n", q(0.5), q(0.99), lat[len(lat)-1])
	return nil
}

// rss runs the stripped static daemon as a subprocess, feeds 100 machines for 5 s and
// reads its VmRSS.
func rss(dir string, out io.Writer) error {
	mp, err := benchModel(dir, 30, nil)
	if err != nil {
		return err
	}
	bin := filepath.Join(dir, "infer")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/infer")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, b)
	}
	st, err := os.Stat(bin)
	if err != nil {
		return err
	}
	b, err := startBroker(dir)
	if err != nil {
		return err
	}
	defer b.Stop()
	cmd := exec.Command(bin, "run", "--model", mp, "--mqtt-url", b.URL, "--queue-dir", filepath.Join(dir, "q"), "--http-addr", "127.0.0.1:0", "--log-level", "warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	time.Sleep(time.Second)
	pub, err := client(b.URL, "bench-pub")
	if err != nil {
		return err
	}
	defer pub.Disconnect(100 * time.Millisecond)
	rng := rand.New(rand.NewPCG(9, 10))
	topics, t0 := telemetry.MustTopics("factory"), time.Now().Add(-time.Hour)
	var buf []byte
	for s := 0; s < 50; s++ { // 50 samples per machine: every machine has full windows
		for m := 0; m < 100; m++ {
			buf = telemetry.EncodeTelemetry(buf[:0], sample(rng, t0.Add(time.Duration(s)*time.Second), false))
			tp := topics.Telemetry(telemetry.Machine{Site: "s", Line: "l", Machine: fmt.Sprintf("pump-%03d", m)})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := pub.Publish(ctx, tp, 1, false, buf)
			cancel()
			if err != nil {
				return err
			}
		}
	}
	time.Sleep(2 * time.Second)
	kb := servers.StatusKB(cmd.Process.Pid, "VmRSS:")
	if kb == 0 {
		return fmt.Errorf("no VmRSS in /proc/%d/status: the daemon exited", cmd.Process.Pid)
	}
	fmt.Fprintf(out, "rss: daemon subprocess, 100 machines x 50 samples (window 30, 64-32-8 MLP); stripped static linux/%s binary\n", runtime.GOARCH)
	fmt.Fprintf(out, "rss_mb=%.1f binary_mb=%.1f\n", float64(kb)/1024, float64(st.Size())/(1<<20))
	return nil
}
