// Command ingest benchmarks cmd/ingest end to end against real servers: it starts its own
// Mosquitto (default config: 20 in flight, 1,000 queued per client) and InfluxDB 1.8,
// builds and runs ingest as a subprocess (to measure its RSS from /proc), publishes
// machine telemetry with QoS 1 from several connections, and reports values/s from MQTT
// into InfluxDB, sampled publish-to-queryable latency, ingest's peak RSS and loss.
//
//	go run ./bench/ingest                       # throughput: 1,000 machines x 8 sensors
//	go run ./bench/ingest -scenario burst       # 20,000-message burst, then 5,000 msg/s with a 6 s InfluxDB stall
//
// The last line is machine-readable:
//
//	published=N stored=N lost=N values_per_s=X p50_latency_ms=X p99_latency_ms=X rss_mb=X ingest_cpu_s=X ingest_cpu_us_per_value=X
//
// preceded by a line with the CPU seconds of each process over the run (publishers are
// this program).
//
// -cpuprofile FILE takes a CPU profile of ingest over the publishing phase.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/faultline/faultline/internal/influxstore"
	"github.com/faultline/faultline/internal/servers"
)

type options struct {
	scenario    string
	machines    int
	sensors     int
	duration    time.Duration
	publishers  int
	connections int
	writers     int
	batchBytes  int
	keep        bool
	rate        float64
	brokerExtra string
	cpuProfile  string
	ingestArgs  string
	format      string
}

func main() {
	var o options
	flag.StringVar(&o.scenario, "scenario", "throughput", "throughput or burst")
	flag.IntVar(&o.machines, "machines", 1000, "simulated machines")
	flag.IntVar(&o.sensors, "sensors", 8, "sensors per machine (values per message)")
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "publishing time of the throughput scenario")
	flag.IntVar(&o.publishers, "publishers", 4, "publisher connections")
	flag.IntVar(&o.connections, "connections", 16, "ingest --mqtt-connections (shared subscription)")
	flag.IntVar(&o.writers, "writers", 2, "ingest --writers")
	flag.IntVar(&o.batchBytes, "batch-bytes", 1<<20, "ingest --batch-bytes")
	flag.BoolVar(&o.keep, "keep", false, "keep the temp dir (server logs, spool)")
	flag.StringVar(&o.brokerExtra, "broker-extra", "", `lines appended to the generated mosquitto.conf, e.g. $'set_tcp_nodelay true\n' (default: Mosquitto's defaults)`)
	flag.Float64Var(&o.rate, "rate", 0, "throughput scenario: messages/s overall (0 = as fast as the broker takes them)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of ingest (taken over the publishing phase via --pprof-addr) to this file")
	flag.StringVar(&o.ingestArgs, "ingest-args", "", "extra space-separated flags for ingest, e.g. '--influx-gzip'")
	flag.StringVar(&o.format, "format", "json", "telemetry format: json (the contract) or sparkplug (Sparkplug B DDATA by alias; ingest --sparkplug, which needs -connections 1)")
	flag.Parse()
	if o.format != "json" && o.format != "sparkplug" {
		fmt.Fprintf(os.Stderr, "bench/ingest: -format %q: use json or sparkplug\n", o.format)
		os.Exit(2)
	}
	if o.format == "sparkplug" && o.connections != 1 {
		// Sparkplug seq is per edge node: one connection keeps each node's messages in order.
		fmt.Fprintln(os.Stderr, "bench/ingest: -format sparkplug: using -connections 1 (ingest --sparkplug needs one connection)")
		o.connections = 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/ingest:", err)
		os.Exit(1)
	}
}

type rig struct {
	dir    string
	broker *servers.Mosquitto
	influx *servers.Influx
	store  *influxstore.Store
	ingest *servers.Process
	rss    *servers.MemWatch
	// pprofAddr is ingest's --pprof-addr when -cpuprofile is set.
	pprofAddr string
}

func run(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "bench-ingest-")
	if err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	} else {
		fmt.Fprintln(os.Stderr, "temp dir:", dir)
	}
	r, err := setup(ctx, dir, o)
	if err != nil {
		return err
	}
	defer r.close()
	var res result
	cpu0 := cpuSeconds(r.ingest.PID())
	broker0, influx0, self0 := cpuSeconds(r.broker.PID()), cpuSeconds(r.influx.PID()), cpuSeconds(os.Getpid())
	switch o.scenario {
	case "throughput":
		res, err = throughput(ctx, r, o)
	case "burst":
		res, err = burst(ctx, r, o)
	default:
		return fmt.Errorf("-scenario %q: use throughput or burst", o.scenario)
	}
	if err != nil {
		return err
	}
	res.rssMB = r.rss.PeakMB()
	res.cpuSeconds = cpuSeconds(r.ingest.PID()) - cpu0
	// Where the machine's cores went: all four processes share them, so a cheaper
	// publisher or broker leaves more for ingest and InfluxDB.
	res.brokerCPU = cpuSeconds(r.broker.PID()) - broker0
	res.influxCPU = cpuSeconds(r.influx.PID()) - influx0
	res.loadCPU = cpuSeconds(os.Getpid()) - self0
	fmt.Println(res.line())
	return nil
}

func setup(ctx context.Context, dir string, o options) (*rig, error) {
	r := &rig{dir: dir}
	var err error
	if r.broker, err = servers.StartMosquitto(ctx, filepath.Join(dir, "mosquitto"), servers.MosquittoOptions{Extra: o.brokerExtra}); err != nil {
		return nil, err
	}
	if r.influx, err = servers.StartInflux(ctx, filepath.Join(dir, "influx"), servers.InfluxOptions{}); err != nil {
		r.broker.Stop()
		return nil, err
	}
	if r.store, err = influxstore.New(influxstore.Config{URL: r.influx.URL, Bucket: "factory", Timeout: 60 * time.Second}); err != nil {
		r.close()
		return nil, err
	}
	bin := filepath.Join(dir, "ingest")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/faultline/faultline/cmd/ingest")
	if out, err := build.CombinedOutput(); err != nil {
		r.close()
		return nil, fmt.Errorf("go build ./cmd/ingest: %w\n%s", err, out)
	}
	args := []string{"--mqtt-url", r.broker.URL, "--influx-url", r.influx.URL,
		"--client-id", "bench-ingest", "--mqtt-connections", fmt.Sprint(o.connections),
		"--writers", fmt.Sprint(o.writers), "--batch-bytes", fmt.Sprint(o.batchBytes), "--flush-interval", "100ms",
		"--spool-dir", filepath.Join(dir, "spool"), "--http-addr", "", "--log-format", "json", "--log-level", "warn"}
	if o.connections > 1 {
		args = append(args, "--share-group", "bench")
	}
	if o.format == "sparkplug" {
		args = append(args, "--sparkplug")
	}
	if o.cpuProfile != "" {
		if r.pprofAddr, err = servers.FreeAddr(); err != nil {
			r.close()
			return nil, fmt.Errorf("find a free port for --pprof-addr: %w", err)
		}
		args = append(args, "--pprof-addr", r.pprofAddr)
	}
	args = append(args, strings.Fields(o.ingestArgs)...)
	r.ingest = &servers.Process{Name: "ingest", Path: bin, Args: args, Env: os.Environ(), LogPath: filepath.Join(dir, "ingest.log")}
	if err := r.ingest.Start(); err != nil {
		r.close()
		return nil, err
	}
	// The kernel's high-water mark, sampled: the peak between samples is not missed.
	r.rss = servers.WatchMem(r.ingest.PID, "VmHWM:", 200*time.Millisecond)
	time.Sleep(time.Second) // connect and subscribe
	return r, nil
}

func (r *rig) close() {
	if r.ingest != nil {
		// A drain that takes longer than this is a hang: kill it rather than wait forever.
		r.ingest.Stop(2 * time.Minute)
	}
	if r.rss != nil {
		r.rss.Stop()
	}
	if r.store != nil {
		r.store.Close()
	}
	if r.influx != nil {
		r.influx.Stop()
	}
	if r.broker != nil {
		r.broker.Stop()
	}
}
