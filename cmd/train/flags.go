package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/cli"
	"github.com/faultline/faultline/internal/trainer"
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

	opts trainer.Options
}

// rawFlags holds values that need parsing after flag.Parse.
type rawFlags struct {
	sep, ignore, settings, context, hidden, start, stop string
	seed                                                int
	sensorCheck                                         bool
}

func parseFlags(args []string, getenv cli.Getenv, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	var raw rawFlags
	var errs []error
	c.com.Register(fs, getenv, "")
	registerSource(fs, c, &raw, getenv, &errs)
	registerModel(fs, c, &raw, getenv, &errs)
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
	cli.String(fs, &c.csv.TimeColumn, "time-column", "FAULTLINE_TRAIN_TIME_COLUMN", "", "CSV time column (timestamps or cycles; default: row number)", getenv)
	cli.String(fs, &c.csv.AssetColumn, "asset-column", "FAULTLINE_TRAIN_ASSET_COLUMN", "", "CSV column naming the machine/unit of each row", getenv)
	cli.String(fs, &raw.ignore, "ignore", "FAULTLINE_TRAIN_IGNORE", "", "comma-separated CSV columns to skip", getenv)
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

func registerModel(fs *flag.FlagSet, c *config, raw *rawFlags, getenv cli.Getenv, errs *[]error) {
	o := &c.opts
	cli.String(fs, &o.Task, "task", "FAULTLINE_TRAIN_TASK", artifact.TaskAnomaly, "anomaly or rul", getenv)
	cli.String(fs, &o.Name, "name", "FAULTLINE_TRAIN_NAME", "", "model name (default faultline-TASK[-KEY])", getenv)
	cli.String(fs, &o.Version, "version", "FAULTLINE_TRAIN_VERSION", "", "model version (default: UTC timestamp)", getenv)
	cli.String(fs, &o.Match, "match", "FAULTLINE_TRAIN_MATCH", "", "glob of machine ids the model is for (default: the machine or type trained on)", getenv)
	cli.Int(fs, &raw.seed, "seed", "FAULTLINE_TRAIN_SEED", 1, "random seed (same seed and data give the same model)", getenv, errs)
	cli.Float(fs, &o.RULCap, "rul-cap", "FAULTLINE_TRAIN_RUL_CAP", 125, "rul: cap of the remaining-life target", getenv, errs)
	cli.Float(fs, &o.Horizon, "horizon", "FAULTLINE_TRAIN_HORIZON", 30, "rul: alert when predicted RUL falls under this", getenv, errs)
	cli.String(fs, &raw.settings, "settings", "FAULTLINE_TRAIN_SETTINGS", "", "comma-separated operating-setting columns (regime normalisation)", getenv)
	cli.String(fs, &raw.context, "context", "FAULTLINE_TRAIN_CONTEXT", "", "anomaly: comma-separated operating-condition sensors every other sensor is predicted from", getenv)
	cli.Int(fs, &o.Regimes, "regimes", "FAULTLINE_TRAIN_REGIMES", 0, "number of operating regimes (0 = choose)", getenv, errs)
	cli.Int(fs, &o.Window, "window", "FAULTLINE_TRAIN_WINDOW", 0, "samples per window (default 20 anomaly, 30 rul)", getenv, errs)
	cli.Int(fs, &o.Epochs, "epochs", "FAULTLINE_TRAIN_EPOCHS", 0, "maximum epochs per network (default 200; early stopping)", getenv, errs)
	cli.Int(fs, &o.Ensemble, "ensemble", "FAULTLINE_TRAIN_ENSEMBLE", 0, "networks averaged (default 1 anomaly, 5 rul)", getenv, errs)
	cli.String(fs, &raw.hidden, "hidden", "FAULTLINE_TRAIN_HIDDEN", "", "hidden layer sizes, e.g. 64,32 (default from the data size)", getenv)
	cli.Int(fs, &o.Patience, "patience", "FAULTLINE_TRAIN_PATIENCE", 0, "early-stopping patience in epochs (default 15)", getenv, errs)
	cli.Float(fs, &o.LR, "lr", "FAULTLINE_TRAIN_LR", 0, "learning rate (default 2e-3)", getenv, errs)
	cli.Float(fs, &o.ValFrac, "val-frac", "FAULTLINE_TRAIN_VAL_FRAC", 0, "held-out share (default 0.25)", getenv, errs)
	cli.Float(fs, &o.Quantile, "quantile", "FAULTLINE_TRAIN_QUANTILE", 0, "anomaly: validation-score quantile for the warn level (default 0.999)", getenv, errs)
	cli.Float(fs, &o.Margin, "margin", "FAULTLINE_TRAIN_MARGIN", 0, "anomaly: warn = quantile x margin (default 2)", getenv, errs)
	cli.String(fs, &o.Combine, "combine", "FAULTLINE_TRAIN_COMBINE", "", "anomaly: how residuals become a score: max (default with several sensors) or rms", getenv)
	cli.Float(fs, &o.Envelope, "envelope", "FAULTLINE_TRAIN_ENVELOPE", trainer.DefaultEnvelope, "anomaly: a latest value this share of its healthy range beyond that range scores the warn level (a learned limit alarm); 0 or less = off", getenv, errs)
	cli.String(fs, &o.Detector, "detector", "FAULTLINE_TRAIN_DETECTOR", "", "anomaly: monitor (PCA of the window features), nets (a normal-behaviour network per sensor) or both (the larger score); default nets with --context, monitor without", getenv)
	cli.Float(fs, &o.FalseAlarmsPerWeek, "false-alarms-per-week", "FAULTLINE_TRAIN_FALSE_ALARMS_PER_WEEK", 0, fmt.Sprintf("anomaly: how often healthy operation may cross the warn level, per machine and week (default %g, about one a month, for the monitor; the networks default to --quantile x --margin)", trainer.DefaultFalseAlarmsPerWeek), getenv, errs)
	cli.Bool(fs, &raw.sensorCheck, "sensor-check", "FAULTLINE_TRAIN_SENSOR_CHECK", true, "anomaly: learn each sensor's healthy signal limits, so a stuck, spiking or silent sensor raises an alert with fault sensor naming it", getenv, errs)
	cli.String(fs, &o.TargetFeature, "target-feature", "FAULTLINE_TRAIN_TARGET_FEATURE", o.TargetFeature, "anomaly: the window feature each network predicts: mean, ewma or last (ewma and last react within minutes to a fast fault)", getenv)
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
	c.csv.Ignore, c.opts.Settings, c.opts.Context = list(raw.ignore), list(raw.settings), list(raw.context)
	c.opts.Hidden, err = ints(raw.hidden)
	add(err)
	if raw.seed < 0 {
		add(fmt.Errorf("--seed %d: use a non-negative integer", raw.seed))
	}
	c.opts.Seed = uint64(max(0, raw.seed))
	c.opts.NoSensorCheck = !raw.sensorCheck
	if c.opts.Envelope <= 0 {
		c.opts.Envelope = -1 // the flag's 0 is "off"; the trainer's 0 is "default"
	}
	switch c.opts.Task {
	case artifact.TaskAnomaly, artifact.TaskRUL:
	default:
		add(fmt.Errorf("--task %q: use anomaly or rul", c.opts.Task))
	}
	if c.csv.CMAPSS && len(c.opts.Settings) == 0 {
		c.opts.Settings = []string{"op_setting_1", "op_setting_2", "op_setting_3"}
	}
	switch c.opts.Detector {
	case "", trainer.DetectorMonitor, trainer.DetectorNets, trainer.DetectorBoth:
	default:
		add(fmt.Errorf("--detector %q: use monitor, nets or both", c.opts.Detector))
	}
	if v := c.opts.FalseAlarmsPerWeek; v < 0 || v > 10000 || math.IsNaN(v) {
		add(fmt.Errorf("--false-alarms-per-week %v: use a rate from 0 (the default, %g) to 10000", v, trainer.DefaultFalseAlarmsPerWeek))
	}
	if c.progress != "auto" && c.progress != "log" {
		add(fmt.Errorf("--progress %q: use auto or log", c.progress))
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"--window", c.opts.Window}, {"--epochs", c.opts.Epochs}, {"--ensemble", c.opts.Ensemble}, {"--regimes", c.opts.Regimes}, {"--patience", c.opts.Patience}} {
		if n.v < 0 {
			add(fmt.Errorf("%s %d: must not be negative", n.name, n.v))
		}
	}
	if c.opts.Window == 1 {
		add(errors.New("--window 1: a window needs at least 2 samples"))
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

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range list(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--hidden %q: give positive layer sizes like 64,32", s)
		}
		out = append(out, n)
	}
	return out, nil
}
