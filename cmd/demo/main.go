// Command demo runs the whole Faultline pipeline end to end on this machine (see
// internal/demo). `make demo` builds everything and runs it.
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
	"syscall"
	"time"

	"github.com/faultline/faultline/internal/cli"
	"github.com/faultline/faultline/internal/demo"
)

func main() {
	cli.HandleVersion("demo", os.Args[1:], os.Stdout)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) { // --help: the usage is printed, nothing failed
			return
		}
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "demo: interrupted; everything it started is stopped")
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv cli.Getenv, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var errs []error
	exe, _ := os.Executable()
	var c demo.Config
	var short, long bool
	cli.String(fs, &c.BinDir, "bin-dir", "FAULTLINE_DEMO_BIN_DIR", filepath.Dir(exe), "directory of the built programs", getenv)
	cli.String(fs, &c.OutDir, "out", "FAULTLINE_DEMO_OUT", "demo-out", "directory for models, reports, logs and server data", getenv)
	cli.Int(fs, &c.MachinesPerType, "machines-per-type", "FAULTLINE_DEMO_MACHINES_PER_TYPE", 2, "machines of each type (pump, motor, compressor)", getenv, &errs)
	cli.Float(fs, &c.Rate, "rate", "FAULTLINE_DEMO_RATE", 1.0/60, "samples per simulated second per machine", getenv, &errs)
	cli.Duration(fs, &c.Healthy, "healthy", "FAULTLINE_DEMO_HEALTHY", 168*time.Hour, "simulated healthy period to train on (its last quarter calibrates the alert levels: keep it over a few days, so that covers whole days)", getenv, &errs)
	cli.Duration(fs, &c.Faulty, "faulty", "FAULTLINE_DEMO_FAULTY", 96*time.Hour, "simulated period with scheduled faults", getenv, &errs)
	cli.Float(fs, &c.Speed, "speed", "FAULTLINE_DEMO_SPEED", 7200, "simulated seconds per wall second in the faulty period", getenv, &errs)
	cli.Int(fs, &c.Seed, "seed", "FAULTLINE_DEMO_SEED", 1, "random seed", getenv, &errs)
	fs.BoolVar(&short, "short", false, "CI mode: one machine per type, shorter periods, faster")
	fs.BoolVar(&long, "long", false, "a longer run: three machines per type, a week of faults")
	fs.BoolVar(&c.Endless, "endless", false, "after training, simulate random faults until Ctrl-C")
	fs.BoolVar(&c.Sparkplug, "sparkplug", false, "run the pipeline on Sparkplug B (the simulator publishes an edge node per line)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(errs) > 0 {
		return errs[0]
	}
	switch {
	case short:
		c.MachinesPerType, c.Healthy, c.Faulty, c.Speed = 1, 96*time.Hour, 72*time.Hour, 8640
	case long:
		c.MachinesPerType, c.Faulty = 3, 168*time.Hour
	}
	if c.MachinesPerType < 1 || c.Rate <= 0 || c.Healthy < time.Hour || c.Faulty < time.Hour {
		return fmt.Errorf("need --machines-per-type >= 1, --rate > 0, --healthy and --faulty >= 1h")
	}
	abs, err := filepath.Abs(c.OutDir)
	if err != nil {
		return err
	}
	c.OutDir = abs
	c.Out = stdout
	c.Log = cli.NewLogger(stderr, "", "warn", "demo")
	return demo.Run(ctx, c)
}
