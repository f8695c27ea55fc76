// Command simulate runs Faultline's simulated plant (pumps, motors, compressors) and
// publishes its telemetry and ground truth over MQTT, or replays a CSV as telemetry.
//
//	simulate --machines 30 --speed 3600 --duration 72h --seed 7 --csv-out data --no-mqtt
//	simulate replay --csv machine_temperature.csv --speed 300 --machine pump-0001
//
// See docs/simulator.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/cli"
	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/ops"
	"github.com/faultline/faultline/simulators"
)

func main() { cli.Main("simulate", run) }

// output is what both modes share: the common flags, MQTT and the ops endpoint.
type output struct {
	common   cli.Common
	qos      int
	window   int
	logEvery time.Duration
	clientID string
	errs     []error
}

func (o *output) register(fs *flag.FlagSet, getenv cli.Getenv) {
	o.common.Register(fs, getenv, cli.SimulateHTTPAddr)
	cli.Int(fs, &o.qos, "qos", "FAULTLINE_SIM_QOS", 1, "MQTT QoS of telemetry and truth: 0 or 1", getenv, &o.errs)
	cli.Int(fs, &o.window, "window", "FAULTLINE_SIM_WINDOW", 1024, "MQTT messages in flight before waiting for acknowledgements", getenv, &o.errs)
	cli.Duration(fs, &o.logEvery, "log-every", "FAULTLINE_SIM_LOG_EVERY", 10*time.Second, "log the publish rate this often (0 disables)", getenv, &o.errs)
	cli.String(fs, &o.clientID, "client-id", "FAULTLINE_SIM_CLIENT_ID", "", "MQTT client id (default faultline-simulate-PID)", getenv)
}

func (o *output) check() error {
	if len(o.errs) > 0 {
		return o.errs[0]
	}
	if err := o.common.Check(); err != nil {
		return err
	}
	if o.qos != 0 && o.qos != 1 {
		return fmt.Errorf("--qos %d: use 0 or 1", o.qos)
	}
	if o.window < 1 {
		return fmt.Errorf("--window %d: want >= 1", o.window)
	}
	if o.clientID == "" {
		o.clientID = fmt.Sprintf("faultline-simulate-%d", os.Getpid())
	}
	return nil
}

func run(ctx context.Context, args []string, getenv cli.Getenv, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "replay" {
		return runReplay(ctx, args[1:], getenv, stderr)
	}
	return runSimulate(ctx, args, getenv, stderr)
}

// connect starts the MQTT client, or returns nil when MQTT is off.
func (o *output) connect(ctx context.Context, log zerolog.Logger) (*mqttclient.Client, error) {
	cfg, err := o.common.MQTTConfig(o.clientID)
	if err != nil {
		return nil, err
	}
	status := o.common.Topics().Status("simulate", o.clientID)
	cfg.Will = &mqttclient.StatusMessage{Topic: status, Payload: []byte("offline"), QoS: 1}
	cfg.Online = &mqttclient.StatusMessage{Topic: status, Payload: []byte("online"), QoS: 1}
	cfg.OrderMatters = false
	cl, err := mqttclient.New(cfg, log)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := cl.Connect(cctx); err != nil {
		return nil, err
	}
	return cl, nil
}

// disconnect marks the simulator offline (a graceful disconnect skips the will).
func (o *output) disconnect(cl *mqttclient.Client) {
	if cl == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = cl.Publish(ctx, o.common.Topics().Status("simulate", o.clientID), 1, true, []byte("offline"))
	cl.Disconnect(250 * time.Millisecond)
}

// serveOps registers the run's counters and starts /healthz /readyz /metrics.
func (o *output) serveOps(st *simulators.Stats, cl *mqttclient.Client, log zerolog.Logger) (*ops.Server, error) {
	reg := ops.NewRegistry()
	counter := func(name, help string, v func() int64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "faultline_simulate_" + name, Help: help},
			func() float64 { return float64(v()) }))
	}
	counter("messages_published_total", "MQTT messages handed to the broker.", st.Messages.Load)
	counter("samples_total", "Telemetry samples generated.", st.Samples.Load)
	counter("truth_records_total", "Ground-truth records written or published.", st.TruthRecords.Load)
	counter("publish_errors_total", "MQTT publishes that failed.", st.PublishErrors.Load)
	counter("steps_total", "Simulation steps (or replayed rows).", st.Steps.Load)
	ready := func(context.Context) error {
		if cl != nil && !cl.Connected() {
			return errors.New("mqtt not connected")
		}
		return nil
	}
	srv, err := ops.Start(o.common.HTTPAddr, reg, ready, log)
	if err != nil {
		return nil, fmt.Errorf("--http-addr %s: %w (use another address or an empty one to disable)", o.common.HTTPAddr, err)
	}
	return srv, nil
}

// logRate logs the publish rate every interval until stop is closed; done is closed
// when it has returned.
func logRate(st *simulators.Stats, every time.Duration, log zerolog.Logger, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	if every <= 0 {
		<-stop
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	lastMsgs, lastSamples, last := st.Messages.Load(), st.Samples.Load(), time.Now()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			msgs, samples := st.Messages.Load(), st.Samples.Load()
			sec := now.Sub(last).Seconds()
			ev := log.Info().Float64("msgs_per_s", float64(msgs-lastMsgs)/sec).
				Float64("samples_per_s", float64(samples-lastSamples)/sec).Int64("messages", msgs).
				Int64("publish_errors", st.PublishErrors.Load())
			if e := st.LastError(); e != "" {
				ev = ev.Str("last_error", e)
			}
			ev.Msg("publish rate")
			lastMsgs, lastSamples, last = msgs, samples, now
		}
	}
}

// withOutputs runs fn with MQTT (unless noMQTT), the ops server and the rate logger,
// then stops them in reverse order.
func (o *output) withOutputs(ctx context.Context, noMQTT bool, log zerolog.Logger, fn func(simulators.Publisher, *simulators.Stats) error) error {
	st := &simulators.Stats{}
	var cl *mqttclient.Client
	var pub simulators.Publisher
	if !noMQTT {
		var err error
		if cl, err = o.connect(ctx, log); err != nil {
			return err
		}
		pub = cl
	}
	srv, err := o.serveOps(st, cl, log)
	if err != nil {
		o.disconnect(cl)
		return err
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go logRate(st, o.logEvery, log, stop, done)
	began := time.Now()
	err = fn(pub, st)
	close(stop)
	<-done
	o.disconnect(cl)
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	srv.Shutdown(sctx)
	cancel()
	log.Info().Int64("samples", st.Samples.Load()).Int64("messages", st.Messages.Load()).
		Int64("truth_records", st.TruthRecords.Load()).Int64("publish_errors", st.PublishErrors.Load()).
		Dur("took", time.Since(began)).Msg("stopped")
	return err
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
