// Command eval measures Faultline's models on labelled data through the live scoring
// path: remaining-useful-life error on C-MAPSS style files, the Numenta Anomaly
// Benchmark score, and point-wise/event-wise alert metrics. See docs/benchmarks.md.
//
//	eval rul --train train_FD001.txt --cmapss --csv test_FD001.txt --rul RUL_FD001.txt --out out/fd001
//	eval nab --data-dir ../shared/datasets/nab --files realKnownCause --out out/nab
//	eval anomaly --model m.json --csv labelled.csv --labels label --out out/a
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/faultline/faultline/internal/cli"
	"github.com/faultline/faultline/internal/eval/evalcmd"
)

func main() {
	cli.HandleVersion("eval", os.Args[1:], os.Stdout)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, evalcmd.ErrUsage):
		fmt.Fprintln(os.Stderr, "eval:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "eval:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return evalcmd.Run(ctx, args, getenv, stdout, stderr)
}
