package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/faultline/faultline/internal/cli"
	"github.com/faultline/faultline/internal/ingest"
)

// options is the command line: the service's config and what the command itself
// serves and logs with.
type options struct {
	cfg       ingest.Config
	com       cli.Common // log format and level, --http-addr
	pprofAddr string
}

// parseFlags builds the options from the command line with environment fallbacks
// (flag > env > default). It refuses what it cannot parse; the values themselves are
// validated once, by ingest.Build, before anything connects.
func parseFlags(args []string, getenv cli.Getenv, stderr io.Writer) (options, error) {
	var o options
	o.cfg = ingest.DefaultConfig()
	cfg, com := &o.cfg, &o.com
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	com.Register(fs, getenv, cli.IngestHTTPAddr)
	var errs []error
	var filters string
	var spoolMB, limitPayload int
	cli.String(fs, &cfg.ClientID, "client-id", "FAULTLINE_INGEST_CLIENT_ID", cfg.ClientID, "fixed MQTT client id of the persistent session", getenv)
	cli.String(fs, &cfg.ShareGroup, "share-group", "FAULTLINE_INGEST_SHARE_GROUP", "", "subscribe via $share/<group>/... so replicas split the load", getenv)
	cli.Int(fs, &cfg.Connections, "mqtt-connections", "FAULTLINE_INGEST_MQTT_CONNECTIONS", cfg.Connections, "MQTT connections in this process (needs --share-group when > 1; each adds a 20-message in-flight window)", getenv, &errs)
	cli.String(fs, &filters, "topics", "FAULTLINE_INGEST_TOPICS", "", "comma-separated topic filters (default: the contract's telemetry, sensor, alert and maintenance topics, or the --tag-template filter)", getenv)
	cli.String(fs, &cfg.TagTemplate, "tag-template", "FAULTLINE_INGEST_TAG_TEMPLATE", "", "map topic levels to tags, e.g. plant/site/line/machine/data (levels: site line machine sensor + literal); empty = contract topics", getenv)
	cli.String(fs, &cfg.SpoolDir, "spool-dir", "FAULTLINE_INGEST_SPOOL_DIR", cfg.SpoolDir, "directory of the on-disk spool (write-ahead log); keep it on local disk", getenv)
	cli.Int(fs, &spoolMB, "spool-max-mb", "FAULTLINE_INGEST_SPOOL_MAX_MB", int(cfg.SpoolMaxBytes>>20), "spool size bound in MiB; when full, messages stay unacknowledged at the broker", getenv, &errs)
	cli.Int(fs, &cfg.MaxPendingBytes, "max-pending-bytes", "FAULTLINE_INGEST_MAX_PENDING_BYTES", cfg.MaxPendingBytes, "in-memory bytes waiting for the next fsync before the handler blocks", getenv, &errs)
	cli.Int(fs, &cfg.BatchBytes, "batch-bytes", "FAULTLINE_INGEST_BATCH_BYTES", cfg.BatchBytes, "line protocol bytes per InfluxDB write", getenv, &errs)
	cli.Duration(fs, &cfg.FlushInterval, "flush-interval", "FAULTLINE_INGEST_FLUSH_INTERVAL", cfg.FlushInterval, "write a smaller batch after this long", getenv, &errs)
	cli.Int(fs, &cfg.Writers, "writers", "FAULTLINE_INGEST_WRITERS", cfg.Writers, "concurrent InfluxDB writes", getenv, &errs)
	cli.Bool(fs, &cfg.Influx.Gzip, "influx-gzip", "FAULTLINE_INGEST_INFLUX_GZIP", false, "gzip write bodies (saves network, costs CPU; off suits a local InfluxDB)", getenv, &errs)
	cli.Int(fs, &cfg.MaxMachines, "max-machines", "FAULTLINE_INGEST_MAX_MACHINES", cfg.MaxMachines, "cardinality guard: distinct machines accepted, remembered in the spool directory across restarts (0 = unlimited)", getenv, &errs)
	cli.Int(fs, &cfg.MaxFieldsPerMachine, "max-fields-per-machine", "FAULTLINE_INGEST_MAX_FIELDS_PER_MACHINE", cfg.MaxFieldsPerMachine, "cardinality guard: distinct sensor names per machine (0 = unlimited)", getenv, &errs)
	cli.Int(fs, &cfg.MaxFields, "max-fields", "FAULTLINE_INGEST_MAX_FIELDS", cfg.MaxFields, "cardinality guard: distinct sensor names of all machines together (0 = unlimited)", getenv, &errs)
	cli.Bool(fs, &cfg.DeadLetter, "dead-letter", "FAULTLINE_INGEST_DEAD_LETTER", false, "republish rejected messages with their reason to <root>/_deadletter/ingest", getenv, &errs)
	cli.Int(fs, &limitPayload, "max-payload", "FAULTLINE_INGEST_MAX_PAYLOAD", cfg.Limits.MaxPayload, "largest accepted payload in bytes", getenv, &errs)
	cli.Duration(fs, &cfg.ShutdownTimeout, "shutdown-timeout", "FAULTLINE_INGEST_SHUTDOWN_TIMEOUT", cfg.ShutdownTimeout, "how long shutdown keeps writing the spool to InfluxDB", getenv, &errs)
	sp := cli.RegisterSparkplug(fs, "FAULTLINE_INGEST", getenv, &errs)
	cli.String(fs, &o.pprofAddr, "pprof-addr", "FAULTLINE_INGEST_PPROF_ADDR", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060); empty = off", getenv)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q: ingest takes flags only", fs.Args())
	}
	if len(errs) > 0 {
		return o, errs[0]
	}
	var err error
	if err = com.Check(); err != nil {
		return o, err
	}
	cfg.SpoolMaxBytes, cfg.Limits.MaxPayload = int64(spoolMB)<<20, limitPayload
	if cfg.Sparkplug, cfg.SparkplugGroup, err = sp.Config(); err != nil {
		return o, err
	}
	cfg.Topics = com.Topics()
	for _, f := range strings.Split(filters, ",") {
		if f = strings.TrimSpace(f); f != "" {
			cfg.Filters = append(cfg.Filters, f)
		}
	}
	gz := cfg.Influx.Gzip
	if cfg.MQTT, err = com.MQTTConfig(cfg.ClientID); err != nil {
		return o, err
	}
	if cfg.Influx, err = com.InfluxConfig(); err != nil {
		return o, err
	}
	cfg.Influx.Gzip = gz
	cfg.Influx.Timeout = 30 * time.Second // big batches on a busy server
	return o, nil
}
