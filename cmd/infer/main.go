// Command infer is the edge inference daemon: it scores live MQTT telemetry with trained
// models and publishes alerts that name the sensors behind them.
//
//	infer [run] --model M.model [--route 'pump-*=pump.model'] ...   the daemon
//	infer score --model M.model --csv data.csv --out scores.csv      the same path over a CSV
//	                                                                 (--cmapss for NASA C-MAPSS files)
//	infer watch [--json]                                             print alerts as they come
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/faultline/faultline/internal/cli"
	"github.com/faultline/faultline/internal/dataset"
	"github.com/faultline/faultline/internal/infer"
	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/trainsrc"
)

func main() { cli.Main("infer", run) }

func run(ctx context.Context, args []string, getenv cli.Getenv, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		// The daemon needs a model: a bare `infer` shows what the program can do rather
		// than only "no model".
		return errors.New("give a command:\n" + commands)
	}
	cmd := "run"
	if !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return runDaemon(ctx, args, getenv, stderr)
	case "score":
		return runScore(args, getenv, stdout, stderr)
	case "watch":
		return runWatch(ctx, args, getenv, stdout, stderr)
	}
	return fmt.Errorf("unknown command %q; the commands are:\n%s", cmd, commands)
}

// commands is the list a bare or mistyped `infer` prints.
const commands = `  infer run   --model M.model [--route 'GLOB=FILE']...   the edge daemon: score live MQTT telemetry, publish alerts
  infer score --model M.model --csv data.csv [--out scores.csv]   the same scoring over a CSV file
  infer watch [--json]                                   print alerts as they arrive
'infer COMMAND -h' lists a command's flags; flags without a command run the daemon.`

type routes []infer.Route

// routesEnv is --route's env fallback: routes separated by commas.
const routesEnv = "FAULTLINE_INFER_ROUTES"

func (r *routes) String() string { return fmt.Sprint(*r) }
func (r *routes) Set(s string) error {
	rt, err := infer.ParseRoute(s)
	if err != nil {
		return err
	}
	*r = append(*r, rt)
	return nil
}

func runDaemon(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("infer run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c cli.Common
	c.Register(fs, getenv, cli.InferHTTPAddr)
	cfg := infer.DefaultConfig()
	var errs []error
	var rts routes
	var maxQueue, qos int
	var persistent bool
	cli.String(fs, &cfg.Model, "model", "FAULTLINE_INFER_MODEL", "", "default model file (used for machines no --route takes, when its match allows)", getenv)
	fs.Var(&rts, "route", "'GLOB=FILE' sends machines whose id matches GLOB to FILE (repeatable, first match wins); 'FILE' alone uses the model's own match (env "+routesEnv+", comma-separated)")
	cli.Int(fs, &cfg.MaxMachines, "max-machines", "FAULTLINE_INFER_MAX_MACHINES", cfg.MaxMachines, "machines with scoring state at most (more are counted and dropped)", getenv, &errs)
	cli.Int(fs, &qos, "qos", "FAULTLINE_INFER_QOS", 1, "QoS of the telemetry subscription (0 or 1)", getenv, &errs)
	cli.String(fs, &cfg.ShareGroup, "share-group", "FAULTLINE_INFER_SHARE_GROUP", "", "shared-subscription group, so several replicas split the machines", getenv)
	cli.String(fs, &cfg.TagTemplate, "tag-template", "FAULTLINE_INFER_TAG_TEMPLATE", "", "read telemetry from a custom topic tree, e.g. plant/site/line/machine/data (levels: site line machine sensor + literal, as ingest's --tag-template; site, line and machine are required); empty = contract topics", getenv)
	cli.String(fs, &cfg.Instance, "instance", "FAULTLINE_INFER_INSTANCE", cfg.Instance, "instance name on the status topic and in the client id", getenv)
	cli.String(fs, &cfg.QueueDir, "queue-dir", "FAULTLINE_INFER_QUEUE_DIR", cfg.QueueDir, "directory of the on-disk alert queue (used while the broker is unreachable), the machines' anomaly baselines (baselines.json) and a LOCK held while the daemon runs; one daemon per directory", getenv)
	cli.Int(fs, &maxQueue, "queue-max-bytes", "FAULTLINE_INFER_QUEUE_MAX_BYTES", 64<<20, "bound of the on-disk alert queue", getenv, &errs)
	cli.Duration(fs, &cfg.ReloadInterval, "reload-interval", "FAULTLINE_INFER_RELOAD_INTERVAL", cfg.ReloadInterval, "how often model files are checked for changes (0: only on SIGHUP)", getenv, &errs)
	cli.Duration(fs, &cfg.ShutdownTimeout, "shutdown-timeout", "FAULTLINE_INFER_SHUTDOWN_TIMEOUT", cfg.ShutdownTimeout, "time to flush alerts on shutdown", getenv, &errs)
	cli.Duration(fs, &cfg.PublishTimeout, "publish-timeout", "FAULTLINE_INFER_PUBLISH_TIMEOUT", cfg.PublishTimeout, "wait for the broker's ack before an alert goes to the disk queue", getenv, &errs)
	cli.Bool(fs, &persistent, "persistent-session", "FAULTLINE_INFER_PERSISTENT_SESSION", true, "keep a persistent MQTT session (fixed client id) so the broker queues telemetry while the daemon restarts; give each instance its own --instance", getenv, &errs)
	sp := cli.RegisterSparkplug(fs, "FAULTLINE_INFER", getenv, &errs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if env := getenv(routesEnv); env != "" && !flagGiven(fs, "route") {
		// Like every run flag, --route has an env fallback (flag > env): comma-separated.
		for _, r := range strings.Split(env, ",") {
			if r = strings.TrimSpace(r); r == "" {
				continue
			}
			if err := rts.Set(r); err != nil {
				errs = append(errs, fmt.Errorf("env %s: %w", routesEnv, err))
			}
		}
	}
	if err := errors.Join(append(errs, c.Check())...); err != nil {
		return err
	}
	var err error
	if cfg.Sparkplug, cfg.SparkplugGroup, err = sp.Config(); err != nil {
		return err
	}
	if qos < 0 || qos > 1 {
		return fmt.Errorf("--qos %d: use 0 or 1", qos)
	}
	cfg.QoS = byte(qos)
	cfg.Routes, cfg.QueueMax, cfg.Topics, cfg.HTTPAddr = rts, int64(maxQueue), c.Topics(), c.HTTPAddr
	mc, err := c.MQTTConfig("faultline-infer-" + cfg.Instance)
	if err != nil {
		return err
	}
	mc.CleanSession = !persistent
	cfg.MQTT = mc
	if flagGiven(fs, "influx-url") || getenv("FAULTLINE_INFLUX_URL") != "" {
		ic, err := c.InfluxConfig()
		if err != nil {
			return err
		}
		cfg.Influx = &ic
	}
	log := cli.NewLogger(stderr, c.LogFormat, c.LogLevel, "infer")
	d, err := infer.New(cfg, log, nil)
	if err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				d.Reload()
			}
		}
	}()
	return d.Run(ctx)
}

func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

func runScore(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("infer score", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var model, csvPath, out, ignore string
	var o dataset.Options
	cli.String(fs, &model, "model", "FAULTLINE_INFER_MODEL", "", "model file", getenv)
	fs.StringVar(&csvPath, "csv", "", "input CSV")
	fs.StringVar(&out, "out", "-", "output CSV ('-' for stdout)")
	fs.StringVar(&o.TimeColumn, "time-column", "", "time column (timestamps, or numbers taken as seconds); default: a column named ts, time, timestamp, datetime or date_time, as train detects it; none numbers the rows")
	fs.StringVar(&o.AssetColumn, "asset-column", "", "column naming the machine/unit; each gets its own stream")
	fs.StringVar(&ignore, "ignore", "", "comma-separated columns to skip")
	cmapss := fs.Bool("cmapss", false, "the CSV is a NASA C-MAPSS file (no header, space-separated unit, cycle, settings, sensors)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if model == "" || csvPath == "" {
		return errors.New("score needs --model FILE and --csv FILE")
	}
	if *cmapss {
		o = dataset.CMAPSSOptions()
	} else if o.TimeColumn == "" {
		// The rule bin/train applies, so a file trained on without --time-column is
		// scored on the same clock (row numbers when it has no time column).
		o.TimeColumn = trainsrc.DetectTimeColumn(csvPath)
	}
	if ignore != "" {
		o.Ignore = strings.Split(ignore, ",")
	}
	w, closeOut, err := output(out, stdout)
	if err != nil {
		return err
	}
	st, err := infer.Score(infer.ScoreOptions{Model: model, CSV: o}, csvPath, w)
	if cerr := closeOut(err == nil); err == nil {
		err = cerr
	}
	if err != nil {
		if !*cmapss && looksLikeCMAPSS(csvPath) {
			return fmt.Errorf("%w\n%s looks like a raw NASA C-MAPSS file (no header row, space-separated numbers): add --cmapss", err, csvPath)
		}
		return err
	}
	fmt.Fprintf(stderr, "scored %d rows (%d windows, %d assets): %d alerts raised, %d cleared, %d out-of-order rows skipped\n",
		st.Rows, st.Scored, st.Assets, st.Raised, st.Cleared, st.OutOfOrder)
	return nil
}

// looksLikeCMAPSS reports whether the file's first line is what a C-MAPSS file starts
// with: the 26 columns of dataset.CMAPSSHeader, all numbers, separated by spaces.
func looksLikeCMAPSS(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	line, _, _ := strings.Cut(readHead(f), "\n")
	fields := strings.Fields(line)
	if len(fields) != len(dataset.CMAPSSHeader()) || strings.ContainsAny(line, ",;\t|") {
		return false
	}
	for _, fl := range fields {
		if _, err := strconv.ParseFloat(fl, 64); err != nil {
			return false
		}
	}
	return true
}

func readHead(r io.Reader) string {
	b := make([]byte, 4096)
	n, _ := io.ReadFull(r, b)
	return string(b[:n])
}

// output opens where scores go. A file is written under a temporary name beside it and
// renamed over it only when scoring succeeded: a failed run (a bad model, a bad CSV, or
// --out naming the input) leaves the old file as it was. close(ok) finishes or discards.
func output(path string, stdout io.Writer) (io.Writer, func(ok bool) error, error) {
	if path == "-" || path == "" {
		return stdout, func(bool) error { return nil }, nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, nil, fmt.Errorf("create %s: %w", path, err)
	}
	return f, func(ok bool) error {
		err := f.Close()
		if ok && err == nil {
			if err = os.Chmod(f.Name(), 0o644); err == nil {
				err = os.Rename(f.Name(), path)
			}
		}
		if !ok || err != nil {
			os.Remove(f.Name())
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	}, nil
}

func runWatch(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("infer watch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c cli.Common
	c.Register(fs, getenv, "")
	raw := fs.Bool("json", false, "print each alert's raw JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := c.Check(); err != nil {
		return err
	}
	mc, err := c.MQTTConfig("")
	if err != nil {
		return err
	}
	log := cli.NewLogger(stderr, c.LogFormat, c.LogLevel, "infer-watch")
	cl, err := mqttclient.New(mc, log)
	if err != nil {
		return err
	}
	return infer.Watch(ctx, cl, c.Topics(), stdout, *raw)
}
