package evalcmd

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/rs/zerolog"
)

// ErrUsage marks a command-line mistake; main prints usage for it.
var ErrUsage = errors.New("usage")

const usage = `usage: eval rul|nab|tep|anomaly|sim [flags]   (eval <family> -h lists the flags)

  rul      C-MAPSS style remaining-useful-life: RMSE and PHM08 at each asset's last row
  nab      Numenta Anomaly Benchmark: per-file training on the probation rows, NAB score
  tep      Tennessee Eastman process: train on d00.csv, false alarm and detection rates per fault
  anomaly  point-wise and event-wise metrics of a model's alerts against a label column
  sim      simulated plant: train per type on a healthy period, score random faults against the truth`

// Run dispatches to a metric family.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: give a metric family\n%s", ErrUsage, usage)
	}
	log := zerolog.New(zerolog.ConsoleWriter{Out: stderr, NoColor: true}).Level(zerolog.InfoLevel).With().Timestamp().Str("program", "eval").Logger()
	switch args[0] {
	case "rul":
		return runRUL(ctx, args[1:], getenv, stdout, stderr, log)
	case "nab":
		return runNAB(ctx, args[1:], getenv, stdout, stderr, log)
	case "tep":
		return runTEP(ctx, args[1:], getenv, stdout, stderr, log)
	case "anomaly":
		return runAnomaly(ctx, args[1:], getenv, stdout, stderr, log)
	case "sim":
		return runSim(ctx, args[1:], getenv, stdout, stderr, log)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return fmt.Errorf("%w: unknown family %q\n%s", ErrUsage, args[0], usage)
}

// parse runs a flag set, turning flag errors into usage errors.
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", ErrUsage, fs.Args())
	}
	return nil
}

// env returns getenv(key) or def.
func env(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

func writeJSON(dir, name string, v any) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	return os.WriteFile(filepath.Join(dir, name), append(b, '\n'), 0o644)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// historyList reads --history: "" the trainer's default (nil), "none" no inputs
// (empty), else smoothing factors in (0, 1].
func historyList(s string) ([]float64, error) {
	if strings.TrimSpace(s) == "none" {
		return []float64{}, nil
	}
	var out []float64
	for _, p := range splitList(s) {
		var v float64
		if _, err := fmt.Sscan(p, &v); err != nil || !(v > 0 && v <= 1) {
			return nil, fmt.Errorf("%w: --history %q: give smoothing factors above 0 and at most 1, like 0.06,0.016, or none", ErrUsage, s)
		}
		out = append(out, v)
	}
	return out, nil
}

func intList(s string) ([]int, error) {
	var out []int
	for _, p := range splitList(s) {
		var v int
		if _, err := fmt.Sscan(p, &v); err != nil || v <= 0 {
			return nil, fmt.Errorf("%w: %q is not a list of positive sizes like 64,32", ErrUsage, s)
		}
		out = append(out, v)
	}
	return out, nil
}
