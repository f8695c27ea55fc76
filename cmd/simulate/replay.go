package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/faultline/faultline/internal/cli"
	"github.com/faultline/faultline/internal/dataset"
	"github.com/faultline/faultline/internal/telemetry"
	"github.com/faultline/faultline/simulators"
)

type replayFlags struct {
	out                 output
	csv, timeCol, sep   string
	dateOrder           string
	ignore              string
	speed, rate         float64
	site, line, machine string
}

func (f *replayFlags) register(fs *flag.FlagSet, getenv cli.Getenv) {
	e := &f.out.errs
	f.out.register(fs, getenv)
	cli.String(fs, &f.csv, "csv", "FAULTLINE_REPLAY_CSV", "", "CSV file to replay: a header row, a time column, numeric columns", getenv)
	cli.String(fs, &f.timeCol, "time-column", "FAULTLINE_REPLAY_TIME_COLUMN", "", "name of the time column (default: ts, time, timestamp, date or datetime)", getenv)
	cli.String(fs, &f.sep, "sep", "FAULTLINE_REPLAY_SEP", "", "field separator: one character or 'tab' (default: detected)", getenv)
	cli.String(fs, &f.ignore, "ignore", "FAULTLINE_REPLAY_IGNORE", "", "comma-separated columns to skip (e.g. a text status column)", getenv)
	cli.String(fs, &f.dateOrder, "date-order", "FAULTLINE_REPLAY_DATE_ORDER", "", "read slashed dates like 03/01/2024: dmy (day first) or mdy (month first; 3/1/2024 7:05 PM is March 1); default: refuse them", getenv)
	cli.Float(fs, &f.speed, "speed", "FAULTLINE_REPLAY_SPEED", 1, "file seconds per wall second (0 = as fast as possible)", getenv, e)
	cli.Float(fs, &f.rate, "rate", "FAULTLINE_REPLAY_RATE", 1, "rows per second of file time when the CSV has no time column", getenv, e)
	cli.String(fs, &f.site, "site", "FAULTLINE_REPLAY_SITE", "site1", "site of the replayed machine", getenv)
	cli.String(fs, &f.line, "line", "FAULTLINE_REPLAY_LINE", "line1", "line of the replayed machine", getenv)
	cli.String(fs, &f.machine, "machine", "FAULTLINE_REPLAY_MACHINE", "replay-0001", "machine id to publish as", getenv)
}

func (f *replayFlags) csvOptions() (simulators.CSVOptions, error) {
	o := simulators.CSVOptions{TimeColumn: f.timeCol, Ignore: splitList(f.ignore), DateOrder: f.dateOrder}
	if err := dataset.CheckDateOrder(f.dateOrder); err != nil {
		return o, err
	}
	switch {
	case f.sep == "":
	case f.sep == "tab" || f.sep == `\t`:
		o.Sep = '\t'
	case utf8.RuneCountInString(f.sep) == 1:
		o.Sep, _ = utf8.DecodeRuneInString(f.sep)
	default:
		return o, fmt.Errorf("--sep %q: want one character or 'tab'", f.sep)
	}
	if f.speed < 0 {
		return o, fmt.Errorf("--speed %v: want >= 0 (0 = as fast as possible)", f.speed)
	}
	if f.rate < 0 {
		return o, fmt.Errorf("--rate %v: want > 0", f.rate)
	}
	return o, nil
}

func runReplay(ctx context.Context, args []string, getenv cli.Getenv, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f replayFlags
	f.register(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := f.out.check(); err != nil {
		return err
	}
	if f.csv == "" {
		return fmt.Errorf("replay: --csv FILE is required")
	}
	copt, err := f.csvOptions()
	if err != nil {
		return err
	}
	m := telemetry.Machine{Site: f.site, Line: f.line, Machine: f.machine}
	if err := m.Validate(); err != nil {
		return fmt.Errorf("replay: --site/--line/--machine: %w", err)
	}
	table, err := readTable(f.csv, copt)
	if err != nil {
		return err
	}
	log := cli.NewLogger(stderr, f.out.common.LogFormat, f.out.common.LogLevel, "simulate")
	for _, n := range table.Notes {
		log.Warn().Str("csv", f.csv).Msg(n)
	}
	log.Info().Str("csv", f.csv).Int("rows", len(table.Rows)).Strs("sensors", table.Sensors).
		Bool("has_time", table.Times != nil).Float64("speed", f.speed).Str("machine", m.Key()).Msg("replaying")
	return f.out.withOutputs(ctx, false, log, func(pub simulators.Publisher, st *simulators.Stats) error {
		return simulators.Replay(ctx, table, pub, simulators.ReplayOptions{Machine: m, Topics: f.out.common.Topics(),
			QoS: byte(f.out.qos), Window: f.out.window, Speed: f.speed, Rate: f.rate, Stats: st})
	})
}

func readTable(path string, o simulators.CSVOptions) (*simulators.Table, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	defer fh.Close()
	t, err := simulators.ReadCSV(fh, o)
	if err != nil {
		return nil, fmt.Errorf("replay %s: %w", path, err)
	}
	return t, nil
}
