package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// RunFunc is a program's testable entry point.
type RunFunc func(ctx context.Context, args []string, getenv Getenv, stdout, stderr io.Writer) error

// Main runs a program the way every Faultline main does: a context cancelled on
// SIGINT or SIGTERM (the program flushes and returns), errors printed with the
// program's name, exit status 1 on error and 0 for --help and --version.
func Main(program string, run RunFunc) {
	HandleVersion(program, os.Args[1:], os.Stdout)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(os.Stderr, "%s: %v\n", program, err)
		os.Exit(1)
	}
}
