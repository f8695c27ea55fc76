// Command sim measures the simulated-plant accuracy target of issue 9 through the
// product's own code: `eval sim` simulates a healthy week for N machines of each type,
// trains one anomaly model per type (internal/trainer), simulates a long period with
// random faults on the same machines, scores every machine through infer.ScoreTable
// (what `infer score` and the edge daemon run) and matches the raised alerts with the
// simulator's truth (internal/demo.Summarize). It takes the flags of `eval sim`; the
// last line is the key=value summary every bench program ends with.
//
//	go run ./bench/accuracy/sim [--machines-per-type 3 --healthy 7d --faulty 60d --rate 1/60 --seed 1 --out bench-out/sim]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/faultline/faultline/internal/eval/evalcmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	args := append([]string{"sim", "--out", "bench-out/sim"}, os.Args[1:]...)
	err := evalcmd.Run(ctx, args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "sim:", err)
		os.Exit(1)
	}
}
