package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/influxstore"
	"github.com/faultline/faultline/internal/ingest"
	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/servers"
	"github.com/faultline/faultline/internal/telemetry"
	"github.com/faultline/faultline/internal/testenv"
)

var (
	topics = telemetry.MustTopics("")
	t0     = time.Now().Add(-time.Hour).Truncate(time.Second).UTC()
)

type env struct {
	broker *servers.Mosquitto
	influx *servers.Influx
	store  *influxstore.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{broker: testenv.Mosquitto(t), influx: testenv.Influx(t)}
	st, err := influxstore.New(influxstore.Config{URL: e.influx.URL, Bucket: "factory"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	e.store = st
	return e
}

func (e *env) config(t *testing.T, clientID string) ingest.Config {
	cfg := ingest.DefaultConfig()
	cfg.ClientID = clientID
	cfg.SpoolDir = t.TempDir()
	cfg.MQTT.URL = e.broker.URL
	cfg.MQTT.MaxReconnectInterval = 500 * time.Millisecond
	cfg.Influx = influxstore.Config{URL: e.influx.URL, Bucket: "factory", Timeout: 5 * time.Second}
	cfg.FlushInterval = 50 * time.Millisecond
	cfg.ShutdownTimeout = 5 * time.Second
	return cfg
}

type running struct {
	svc  *ingest.Service
	stop func()
}

// start runs the service in-process; stop cancels it and waits for a clean shutdown.
func start(t *testing.T, cfg ingest.Config) *running {
	t.Helper()
	return startReg(t, cfg, nil)
}

// startReg is start with the metrics registered in reg (nil: none).
func startReg(t *testing.T, cfg ingest.Config, reg *prometheus.Registry) *running {
	t.Helper()
	return startLog(t, cfg, reg, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
}

// startLog is startReg with the service logging to log.
func startLog(t *testing.T, cfg ingest.Config, reg *prometheus.Registry, log zerolog.Logger) *running {
	t.Helper()
	var r prometheus.Registerer
	if reg != nil {
		r = reg
	}
	svc, closeStore, err := ingest.Build(cfg, log, r)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- svc.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("ingest Run: %v", err)
			}
			closeStore()
		})
	}
	t.Cleanup(stop)
	waitFor(t, "ingest to connect", 20*time.Second, func() bool { return svc.Ready(context.Background()) == nil })
	time.Sleep(200 * time.Millisecond) // SUBACK arrives asynchronously
	return &running{svc: svc, stop: stop}
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

type publisher struct {
	t    *testing.T
	cl   *mqttclient.Client
	rate int // messages per second
}

func newPublisher(t *testing.T, url, id string) *publisher {
	t.Helper()
	cfg := mqttclient.DefaultConfig()
	cfg.URL, cfg.ClientID, cfg.CleanSession = url, id, false
	cfg.MaxReconnectInterval = 500 * time.Millisecond
	cl, err := mqttclient.New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cl.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Disconnect(100 * time.Millisecond) })
	return &publisher{t: t, cl: cl, rate: defaultRate}
}

// sample i of the standard stream: machine m<i%machines>, sensors a and b, ts t0+i ms.
func sample(i, machines int) (string, []byte) {
	m := telemetry.Machine{Site: "s1", Line: "l1", Machine: fmt.Sprintf("m%d", i%machines)}
	s := telemetry.Sample{Time: t0.Add(time.Duration(i) * time.Millisecond),
		Values: []telemetry.Value{{Sensor: "a", V: float64(i)}, {Sensor: "b", V: float64(i) / 2}}}
	return topics.Telemetry(m), telemetry.EncodeTelemetry(nil, s)
}

// rate paces test publishers like a plant (a steady stream), well below what ingest takes
// even under the race detector, which slows it several times. Throughput is measured by
// bench/ingest, not here: with the broker's default 1,000-message queue, a publisher
// faster than the consumer loses messages at the broker whatever the consumer does.
const defaultRate = 2000 // messages per second

// publish sends samples [from, to) with QoS 1, retrying each until the broker has it
// (the broker may be restarting).
func (p *publisher) publish(from, to int) {
	begin := time.Now()
	for i := from; i < to; i++ {
		topic, payload := sample(i, 10)
		p.send(topic, payload)
		if ahead := time.Duration(i-from+1)*time.Second/time.Duration(p.rate) - time.Since(begin); ahead > 0 {
			time.Sleep(ahead)
		}
	}
}

func (p *publisher) send(topic string, payload []byte) {
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := p.cl.Publish(ctx, topic, 1, false, payload)
		cancel()
		if err == nil {
			return
		}
		if attempt > 100 {
			p.t.Fatalf("publish %s: %v", topic, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// count returns the points of field stored for every machine of the standard stream.
func (e *env) count(t *testing.T, field string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := e.store.CountPoints(ctx, influxstore.SeriesQuery{Site: "s1", Start: t0.Add(-time.Minute), Stop: time.Now().Add(time.Hour)}, field)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Logf("count: %v", err)
	}
	return n
}

// waitPoints waits until both sensors have exactly want points, and fails on more.
func (e *env) waitPoints(t *testing.T, want int64, d time.Duration) {
	t.Helper()
	var a, b int64
	deadline := time.Now().Add(d)
	for {
		a, b = e.count(t, "a"), e.count(t, "b")
		if a > want || b > want {
			t.Fatalf("stored %d/%d points, more than the %d published", a, b, want)
		}
		if a == want && b == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: stored a=%d b=%d points, want %d each (lost %d)", d, a, b, want, want-min(a, b))
		}
		time.Sleep(250 * time.Millisecond)
	}
}
