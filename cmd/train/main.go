// Command train fits a Faultline model from history — a CSV export, NASA C-MAPSS
// files, or InfluxDB telemetry — and writes the model file the edge daemon loads, plus
// an optional report directory (metrics.json and PNG plots). See docs/model.md for the
// method and `train -h` for the flags.
package main

import (
	"context"
	"io"
	"os"
	"sync"

	"github.com/faultline/faultline/internal/cli"
)

func main() { cli.Main("train", run) }

// run parses the flags, plans one training job per model and runs them; a job that
// fails does not stop the others, and every failure is returned.
func run(ctx context.Context, args []string, getenv cli.Getenv, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	format := cfg.com.LogFormat
	if format == "" && isTerminal(stderr) {
		format = "console" // decided here: the lock below hides the terminal from NewLogger
	}
	tty := isTerminal(stderr) && cfg.progress != "log"
	// Parallel jobs log and draw progress concurrently: one lock keeps lines whole on
	// any writer (a test's buffer is not safe for concurrent writes).
	stderr = &lockedWriter{w: stderr}
	log := cli.NewLogger(stderr, format, cfg.com.LogLevel, "train")
	jobs, cleanup, err := plan(ctx, cfg)
	if err != nil {
		return err
	}
	defer cleanup()
	r := &runner{cfg: cfg, log: log, stdout: stdout, stderr: stderr, tty: tty}
	return r.runAll(ctx, jobs)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
