package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/faultline/faultline/internal/cli"
	"github.com/faultline/faultline/simulators"
)

type simFlags struct {
	out             output
	machines        int
	types           string
	rate, speed     float64
	duration        time.Duration
	seed            int
	start           string
	faultRate       float64
	schedule        string
	perSensor       bool
	format          string
	csvOut          string
	truthOut        string
	noMQTT          bool
	site            string
	perLine         int
	downtime, truth time.Duration
}

func (f *simFlags) register(fs *flag.FlagSet, getenv cli.Getenv) {
	e := &f.out.errs
	f.out.register(fs, getenv)
	cli.Int(fs, &f.machines, "machines", "FAULTLINE_SIM_MACHINES", 3, "number of machines", getenv, e)
	cli.String(fs, &f.types, "types", "FAULTLINE_SIM_TYPES", "pump,motor,compressor", "machine types, assigned round-robin", getenv)
	cli.Float(fs, &f.rate, "rate", "FAULTLINE_SIM_RATE", 1, "samples per second per machine (simulated time)", getenv, e)
	cli.Float(fs, &f.speed, "speed", "FAULTLINE_SIM_SPEED", 1, "simulated seconds per wall second (3600 = an hour per second; 0 = as fast as possible)", getenv, e)
	cli.Duration(fs, &f.duration, "duration", "FAULTLINE_SIM_DURATION", 0, "simulated time to run (0 = endless)", getenv, e)
	cli.Int(fs, &f.seed, "seed", "FAULTLINE_SIM_SEED", 1, "random seed: same seed and flags give the same data", getenv, e)
	cli.String(fs, &f.start, "start", "FAULTLINE_SIM_START", "", "simulated start time, RFC 3339 (default: now minus --duration)", getenv)
	cli.Float(fs, &f.faultRate, "fault-rate", "FAULTLINE_SIM_FAULT_RATE", 0.1, "random faults per machine per simulated day", getenv, e)
	cli.String(fs, &f.schedule, "schedule", "FAULTLINE_SIM_SCHEDULE", "", "faults to inject: MACHINE=KIND[:SENSOR]@OFFSET[+DURATION],... e.g. pump-0001=bearing_wear@48h", getenv)
	cli.Bool(fs, &f.perSensor, "per-sensor-topics", "FAULTLINE_SIM_PER_SENSOR_TOPICS", false, "publish each value on .../sensors/{sensor} instead of .../telemetry", getenv, e)
	cli.String(fs, &f.format, "format", "FAULTLINE_SIM_FORMAT", "json", "telemetry wire format: json (the contract) or sparkplug (Sparkplug B, an edge node per line)", getenv)
	cli.String(fs, &f.csvOut, "csv-out", "FAULTLINE_SIM_CSV_OUT", "", "directory for one CSV per machine", getenv)
	cli.String(fs, &f.truthOut, "truth-out", "FAULTLINE_SIM_TRUTH_OUT", "", "file for the ground truth as JSON lines", getenv)
	cli.Bool(fs, &f.noMQTT, "no-mqtt", "FAULTLINE_SIM_NO_MQTT", false, "do not connect to a broker (write --csv-out/--truth-out only)", getenv, e)
	cli.String(fs, &f.site, "site", "FAULTLINE_SIM_SITE", "site1", "site name", getenv)
	cli.Int(fs, &f.perLine, "machines-per-line", "FAULTLINE_SIM_MACHINES_PER_LINE", 10, "machines per production line (line1, line2, ...)", getenv, e)
	cli.Duration(fs, &f.downtime, "downtime", "FAULTLINE_SIM_DOWNTIME", 8*time.Hour, "time from a failure to the maintenance that restores the machine", getenv, e)
	cli.Duration(fs, &f.truth, "truth-every", "FAULTLINE_SIM_TRUTH_EVERY", time.Minute, "period of the periodic truth records (simulated time)", getenv, e)
}

// config turns the flags into a validated plant configuration.
func (f *simFlags) config(now time.Time) (simulators.Config, error) {
	cfg := simulators.DefaultConfig()
	if f.seed < 0 {
		return cfg, fmt.Errorf("--seed %d: want >= 0", f.seed)
	}
	if f.speed < 0 {
		return cfg, fmt.Errorf("--speed %v: want >= 0 (0 = as fast as possible)", f.speed)
	}
	if f.duration < 0 {
		return cfg, fmt.Errorf("--duration %s: want >= 0 (0 = endless)", f.duration)
	}
	cfg.Site, cfg.Machines, cfg.Types, cfg.MachinesPerLine = f.site, f.machines, splitList(f.types), f.perLine
	cfg.Rate, cfg.Seed, cfg.FaultRate = f.rate, uint64(f.seed), f.faultRate
	cfg.Downtime, cfg.TruthEvery = f.downtime, f.truth
	cfg.Start = now.Add(-f.duration).Truncate(time.Second).UTC()
	if f.start != "" {
		t, err := time.Parse(time.RFC3339Nano, f.start)
		if err != nil {
			return cfg, fmt.Errorf("--start %q: want RFC 3339, e.g. 2026-01-01T00:00:00Z", f.start)
		}
		cfg.Start = t.UTC()
	}
	sched, err := simulators.ParseSchedule(f.schedule)
	if err != nil {
		return cfg, fmt.Errorf("--schedule: %w", err)
	}
	cfg.Schedule = sched
	return cfg, cfg.Validate()
}

func runSimulate(ctx context.Context, args []string, getenv cli.Getenv, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f simFlags
	f.register(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (subcommands: replay)", fs.Arg(0))
	}
	if err := f.out.check(); err != nil {
		return err
	}
	if f.format != "json" && f.format != "sparkplug" {
		return fmt.Errorf("--format %q: use json or sparkplug", f.format)
	}
	if f.format == "sparkplug" && f.perSensor {
		return errors.New("--per-sensor-topics is a JSON-contract option; it cannot be used with --format sparkplug")
	}
	if f.noMQTT && f.csvOut == "" && f.truthOut == "" {
		return errors.New("--no-mqtt without --csv-out or --truth-out would produce nothing")
	}
	cfg, err := f.config(time.Now())
	if err != nil {
		return err
	}
	plant, err := simulators.NewPlant(cfg)
	if err != nil {
		return err
	}
	log := cli.NewLogger(stderr, f.out.common.LogFormat, f.out.common.LogLevel, "simulate")
	if f.duration == 0 && f.speed > 1 {
		log.Warn().Msg("endless run faster than real time: timestamps will run ahead of the clock, and ingest rejects those more than 24h ahead")
	}
	var truth *os.File
	if f.truthOut != "" {
		// Like --csv-out, --truth-out creates its directory: the documented first run
		// writes data/sim/truth.jsonl in a fresh checkout.
		if err := os.MkdirAll(filepath.Dir(f.truthOut), 0o755); err != nil {
			return fmt.Errorf("--truth-out: %w", err)
		}
		if truth, err = os.Create(f.truthOut); err != nil {
			return fmt.Errorf("--truth-out: %w", err)
		}
	}
	log.Info().Int("machines", cfg.Machines).Strs("types", cfg.Types).Float64("rate_hz", cfg.Rate).
		Float64("speed", f.speed).Time("start", cfg.Start).Dur("duration", f.duration).Uint64("seed", cfg.Seed).Msg("starting plant")
	err = f.out.withOutputs(ctx, f.noMQTT, log, func(pub simulators.Publisher, st *simulators.Stats) error {
		opt := simulators.RunOptions{Topics: f.out.common.Topics(), QoS: byte(f.out.qos), PerSensorTopics: f.perSensor,
			Window: f.out.window, CSVDir: f.csvOut, Speed: f.speed, Duration: f.duration, Stats: st}
		if truth != nil {
			opt.Truth = truth
		}
		if f.format == "sparkplug" && pub != nil {
			edges, closeEdges, err := f.out.sparkplugEdges(ctx, plant, log)
			if err != nil {
				return err
			}
			defer closeEdges()
			opt.Sparkplug = edges
		}
		return plant.Run(ctx, pub, opt)
	})
	if truth != nil {
		if cerr := truth.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("--truth-out: %w", cerr)
		}
	}
	return err
}
