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
	"strings"

	"github.com/faultline/faultline/internal/cli"
	"github.com/faultline/faultline/internal/infer"
	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/ops"
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

// runDaemon is the wiring of `infer run`: flags -> config, the real adapters
// (infer.Build), the ops endpoints around the daemon (ops.Serve), as cmd/ingest.
func runDaemon(ctx context.Context, args []string, getenv cli.Getenv, stderr io.Writer) error {
	o, err := parseRunFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := cli.NewLogger(stderr, o.com.LogFormat, o.com.LogLevel, "infer")
	reg := ops.NewRegistry()
	d, closeAdapters, err := infer.Build(o.cfg, log, reg)
	if err != nil {
		return err
	}
	defer closeAdapters()
	// SIGHUP (systemctl reload) reloads every model file now.
	return ops.Serve(ctx, d, ops.Endpoints{HTTPAddr: o.com.HTTPAddr, PprofAddr: o.pprofAddr, Registry: reg, Hangup: d.Reload}, log)
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
