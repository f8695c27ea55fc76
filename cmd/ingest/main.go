// Command ingest subscribes to the factory's telemetry topics and stores every value in
// InfluxDB without losing any: see internal/ingest and docs/ingest.md.
package main

import (
	"context"
	"io"

	"github.com/faultline/faultline/internal/cli"
	"github.com/faultline/faultline/internal/ingest"
	"github.com/faultline/faultline/internal/ops"
)

func main() { cli.Main("ingest", run) }

// run is the wiring: flags -> config, the real adapters (ingest.Build), the ops
// endpoints around the service (ops.Serve).
func run(ctx context.Context, args []string, getenv cli.Getenv, _ io.Writer, stderr io.Writer) error {
	o, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := cli.NewLogger(stderr, o.com.LogFormat, o.com.LogLevel, "ingest")
	reg := ops.NewRegistry()
	svc, closeAdapters, err := ingest.Build(o.cfg, log, reg)
	if err != nil {
		return err
	}
	defer closeAdapters()
	return ops.Serve(ctx, svc, ops.Endpoints{HTTPAddr: o.com.HTTPAddr, PprofAddr: o.pprofAddr, Registry: reg,
		// ingest reads its flags, environment and secret files once at start: a
		// `systemctl reload` (ExecReload=kill -HUP) has nothing to reload, and must not
		// stop it.
		Hangup: func() {
			log.Info().Msg("SIGHUP: nothing to reload (settings are read at start; restart ingest to change them); still running")
		}}, log)
}
