package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/faultline/faultline/internal/cli"
	"github.com/faultline/faultline/internal/infer"
)

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

// runOptions is the command line of `infer run`: the daemon's config and what the
// command itself serves and logs with.
type runOptions struct {
	cfg       infer.Config
	com       cli.Common // log format and level, --http-addr
	pprofAddr string     // net/http/pprof on its own listener ("" = off)
}

// parseRunFlags builds the options of `infer run` from the command line with
// environment fallbacks (flag > env > default). It refuses what it cannot parse; the
// values themselves are validated once, by infer.Build, before anything loads or
// connects.
func parseRunFlags(args []string, getenv cli.Getenv, stderr io.Writer) (runOptions, error) {
	var o runOptions
	o.cfg = infer.DefaultConfig()
	cfg, c := &o.cfg, &o.com
	fs := flag.NewFlagSet("infer run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.Register(fs, getenv, cli.InferHTTPAddr)
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
	cli.String(fs, &o.pprofAddr, "pprof-addr", "FAULTLINE_INFER_PPROF_ADDR", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6061); empty = off", getenv)
	sp := cli.RegisterSparkplug(fs, "FAULTLINE_INFER", getenv, &errs)
	if err := fs.Parse(args); err != nil {
		return o, err
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
		return o, err
	}
	var err error
	if cfg.Sparkplug, cfg.SparkplugGroup, err = sp.Config(); err != nil {
		return o, err
	}
	if qos < 0 || qos > 1 {
		return o, fmt.Errorf("--qos %d: use 0 or 1", qos)
	}
	cfg.QoS = byte(qos)
	cfg.Routes, cfg.QueueMax, cfg.Topics = rts, int64(maxQueue), c.Topics()
	mc, err := c.MQTTConfig("faultline-infer-" + cfg.Instance)
	if err != nil {
		return o, err
	}
	mc.CleanSession = !persistent
	cfg.MQTT = mc
	if flagGiven(fs, "influx-url") || getenv("FAULTLINE_INFLUX_URL") != "" {
		ic, err := c.InfluxConfig()
		if err != nil {
			return o, err
		}
		cfg.Influx = &ic
	}
	return o, nil
}

func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
