// Command ingest subscribes to the factory's telemetry topics and stores every value in
// InfluxDB without losing any: see internal/ingest and docs/ingest.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/cli"
	"github.com/faultline/faultline/internal/ingest"
	"github.com/faultline/faultline/internal/ops"
)

func main() { cli.Main("ingest", run) }

func run(ctx context.Context, args []string, getenv cli.Getenv, _ io.Writer, stderr io.Writer) error {
	cfg, com, err := ingest.ParseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := cli.NewLogger(stderr, com.LogFormat, com.LogLevel, "ingest")
	reg := ops.NewRegistry()
	svc, closeStore, err := ingest.Build(cfg, log, reg)
	if err != nil {
		return err
	}
	defer closeStore()
	srv, err := ops.Start(cfg.HTTPAddr, reg, svc.Ready, log)
	if err != nil {
		return fmt.Errorf("listen on --http-addr %s: %w", cfg.HTTPAddr, err)
	}
	// `systemctl reload` (ExecReload=kill -HUP) must not kill ingest: Go's default for
	// SIGHUP is to exit, which skips the drain and which systemd counts as a clean stop.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go logHangups(ctx, hup, log)
	runErr := svc.Run(ctx)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	return runErr
}

// logHangups answers SIGHUP: ingest reads its flags, environment and secret files once
// at start, so there is nothing to reload; it says so and keeps running.
func logHangups(ctx context.Context, hup <-chan os.Signal, log zerolog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			log.Info().Msg("SIGHUP: nothing to reload (settings are read at start; restart ingest to change them); still running")
		}
	}
}
