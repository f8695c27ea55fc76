package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/cli"
	"github.com/faultline/faultline/internal/dataset"
	"github.com/faultline/faultline/internal/trainer"
	"github.com/faultline/faultline/internal/trainer/trainflags"
	"github.com/faultline/faultline/internal/trainsrc"
)

// config is the parsed command line.
type config struct {
	com    cli.Common
	source string // csv or influx

	csv trainsrc.CSV

	machine, site, line string
	start, stop         time.Time
	chunk               time.Duration
	all                 bool
	groupBy             string
	workers             int

	out, outDir, report string
	progress            string // auto or log

	opts  trainer.Options
	train *trainflags.Flags
}

// rawFlags holds values that need parsing after flag.Parse.
type rawFlags struct {
	sep, ignore, start, stop string
}

func parseFlags(args []string, getenv cli.Getenv, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	var raw rawFlags
	var errs []error
	c.com.Register(fs, getenv, "")
	registerSource(fs, c, &raw, getenv, &errs)
	registerModel(fs, c, getenv, &errs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: every input is a flag (see train -h)", fs.Arg(0))
	}
	errs = append(errs, c.com.Check())
	errs = append(errs, c.finish(raw, time.Now())...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

func registerSource(fs *flag.FlagSet, c *config, raw *rawFlags, getenv cli.Getenv, errs *[]error) {
	cli.String(fs, &c.source, "source", "FAULTLINE_TRAIN_SOURCE", "", "csv or influx (default csv when --csv is given)", getenv)
	cli.String(fs, &c.csv.Path, "csv", "FAULTLINE_TRAIN_CSV", "", "training CSV file", getenv)
	cli.String(fs, &raw.sep, "sep", "FAULTLINE_TRAIN_SEP", "", "CSV separator: one character, tab or space (default: detect)", getenv)
	cli.String(fs, &c.csv.TimeColumn, "time-column", "FAULTLINE_TRAIN_TIME_COLUMN", "", "CSV time column (timestamps or cycles); default: a column named ts, time, timestamp, datetime, date_time or date, else the first column of timestamps, else the row number", getenv)
	cli.String(fs, &c.csv.AssetColumn, "asset-column", "FAULTLINE_TRAIN_ASSET_COLUMN", "", "CSV column naming the machine/unit of each row; default: a column named asset, machine, device or equipment (or with _id)", getenv)
	cli.String(fs, &raw.ignore, "ignore", "FAULTLINE_TRAIN_IGNORE", "", "comma-separated CSV columns to skip", getenv)
	cli.String(fs, &c.csv.DateOrder, "date-order", "FAULTLINE_TRAIN_DATE_ORDER", "", "read slashed dates like 03/01/2024 in the CSV: dmy (day first) or mdy (month first; 3/1/2024 7:05 PM is March 1); default: refuse them, the file cannot say which", getenv)
	cli.Bool(fs, &c.csv.CMAPSS, "cmapss", "FAULTLINE_TRAIN_CMAPSS", false, "read NASA C-MAPSS files (unit, cycle, op_setting_1..3, sensors; header-less or converted CSV); settings default to the op_setting columns", getenv, errs)
	cli.String(fs, &c.machine, "machine", "FAULTLINE_TRAIN_MACHINE", "", "influx: machine id to train on", getenv)
	cli.String(fs, &c.site, "site", "FAULTLINE_TRAIN_SITE", "", "influx: site tag filter", getenv)
	cli.String(fs, &c.line, "line", "FAULTLINE_TRAIN_LINE", "", "influx: line tag filter", getenv)
	cli.String(fs, &raw.start, "start", "FAULTLINE_TRAIN_START", "-24h", "influx: start of the history, RFC 3339 or relative (-24h)", getenv)
	cli.String(fs, &raw.stop, "stop", "FAULTLINE_TRAIN_STOP", "now", "influx: end of the history (exclusive), RFC 3339 or relative", getenv)
	cli.Duration(fs, &c.chunk, "chunk", "FAULTLINE_TRAIN_CHUNK", 6*time.Hour, "influx: read the range in chunks this long", getenv, errs)
	cli.Bool(fs, &c.all, "all", "FAULTLINE_TRAIN_ALL", false, "influx: train a model for every machine (or type) with data in the range", getenv, errs)
	cli.String(fs, &c.groupBy, "group-by", "FAULTLINE_TRAIN_GROUP_BY", "machine", "with --all: machine (one model each) or type (one per id prefix, pump-0001 -> pump)", getenv)
	cli.Int(fs, &c.workers, "workers", "FAULTLINE_TRAIN_WORKERS", 2, "with --all: models trained in parallel", getenv, errs)
	cli.String(fs, &c.out, "out", "FAULTLINE_TRAIN_OUT", "", "model file to write", getenv)
	cli.String(fs, &c.outDir, "out-dir", "FAULTLINE_TRAIN_OUT_DIR", "", "with --all: directory for {key}.model files", getenv)
	cli.String(fs, &c.report, "report", "FAULTLINE_TRAIN_REPORT", "", "directory for metrics.json and PNG plots (with --all: one subdirectory per model)", getenv)
	cli.String(fs, &c.progress, "progress", "FAULTLINE_TRAIN_PROGRESS", "auto", "auto (a rewritten line on a terminal, log lines otherwise) or log", getenv)
}

func registerModel(fs *flag.FlagSet, c *config, getenv cli.Getenv, errs *[]error) {
	o := &c.opts
	cli.String(fs, &o.Task, "task", "FAULTLINE_TRAIN_TASK", artifact.TaskAnomaly, "anomaly or rul", getenv)
	cli.String(fs, &o.Name, "name", "FAULTLINE_TRAIN_NAME", "", "model name (default faultline-TASK[-KEY])", getenv)
	cli.String(fs, &o.Version, "version", "FAULTLINE_TRAIN_VERSION", "", "model version (default: UTC timestamp)", getenv)
	cli.String(fs, &o.Match, "match", "FAULTLINE_TRAIN_MATCH", "", "glob of machine ids the model is for (default: the machine or type trained on)", getenv)
	// The trainer's own options: the same flags, env fallbacks and validation as bin/eval.
	c.train = trainflags.Register(fs, o, trainflags.All, getenv, errs)
}

// finish parses the composite flags and checks their combination; it returns every
// problem at once.
func (c *config) finish(raw rawFlags, now time.Time) []error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var err error
	c.csv.Sep, err = trainsrc.ParseSep(raw.sep)
	add(err)
	c.csv.Ignore = list(raw.ignore)
	add(dataset.CheckDateOrder(c.csv.DateOrder))
	// Every trainer option is checked here, before any data is read.
	errs = append(errs, c.train.Finish(c.csv.CMAPSS)...)
	if c.progress != "auto" && c.progress != "log" {
		add(fmt.Errorf("--progress %q: use auto or log", c.progress))
	}
	switch c.source {
	case "":
		if c.csv.Path == "" {
			add(errors.New("no training data: give --csv FILE, or --source influx with --machine ID or --all"))
			return errs
		}
		c.source = "csv"
		errs = append(errs, c.checkCSV()...)
	case "csv":
		errs = append(errs, c.checkCSV()...)
	case "influx":
		errs = append(errs, c.checkInflux(raw, now)...)
	default:
		add(fmt.Errorf("--source %q: use csv or influx", c.source))
	}
	return errs
}

func (c *config) checkCSV() []error {
	var errs []error
	if c.csv.Path == "" {
		errs = append(errs, errors.New("--source csv needs --csv FILE"))
	}
	if c.all || c.machine != "" {
		errs = append(errs, errors.New("--all and --machine read InfluxDB: add --source influx, or drop them to train from --csv"))
	}
	if c.out == "" {
		errs = append(errs, errors.New("give --out MODEL, the model file to write"))
	}
	return errs
}

func (c *config) checkInflux(raw rawFlags, now time.Time) []error {
	var errs []error
	if c.csv.Path != "" {
		errs = append(errs, errors.New("--csv and --source influx are exclusive: pick one source"))
	}
	var err error
	if c.start, err = trainsrc.ParseTime(raw.start, now); err != nil {
		errs = append(errs, fmt.Errorf("--start: %w", err))
	}
	if c.stop, err = trainsrc.ParseTime(raw.stop, now); err != nil {
		errs = append(errs, fmt.Errorf("--stop: %w", err))
	}
	if err == nil && !c.stop.After(c.start) {
		errs = append(errs, fmt.Errorf("empty time range: --stop %s is not after --start %s", c.stop.Format(time.RFC3339), c.start.Format(time.RFC3339)))
	}
	if c.chunk <= 0 {
		errs = append(errs, fmt.Errorf("--chunk %s: must be positive", c.chunk))
	}
	switch {
	case c.all && c.machine != "":
		errs = append(errs, errors.New("--all and --machine are exclusive: train every machine or one"))
	case c.all:
		if c.outDir == "" {
			errs = append(errs, errors.New("--all writes one model per machine or type: give --out-dir DIR"))
		}
		if c.out != "" {
			errs = append(errs, errors.New("--all writes several models: use --out-dir DIR instead of --out"))
		}
		if c.groupBy != "machine" && c.groupBy != "type" {
			errs = append(errs, fmt.Errorf("--group-by %q: use machine or type", c.groupBy))
		}
		if c.workers < 1 {
			errs = append(errs, fmt.Errorf("--workers %d: use at least 1", c.workers))
		}
	case c.machine == "":
		errs = append(errs, errors.New("--source influx needs --machine ID (or --all for every machine)"))
	case c.out == "":
		errs = append(errs, errors.New("give --out MODEL, the model file to write"))
	}
	return errs
}

func list(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
