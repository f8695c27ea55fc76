package ingest

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/faultline/faultline/internal/influxstore"
	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/telemetry"
)

// Config of the ingest service. Build it with DefaultConfig and change fields;
// cmd/ingest fills it from flags and environment.
type Config struct {
	Topics      telemetry.Topics
	ClientID    string // fixed: a persistent session needs it
	ShareGroup  string // "" = plain subscription; else $share/<group>/<filter>
	Connections int    // MQTT connections; >1 needs ShareGroup (each has its own 20-message window)
	// Filters to subscribe to; nil means the contract's telemetry and per-sensor filters,
	// or the filter derived from TagTemplate.
	Filters     []string
	TagTemplate string // "" = the contract's topic tree; see telemetry.ParseTemplate
	// Sparkplug, when set, also subscribes to Sparkplug B BIRTH/DATA/DEATH messages
	// (of SparkplugGroup, "" = every group) and stores their values (sparkplug.go).
	Sparkplug      *telemetry.SparkplugConfig
	SparkplugGroup string

	SpoolDir        string
	SpoolMaxBytes   int64
	SegmentBytes    int64
	MaxPendingBytes int           // in-memory bytes waiting for the next group commit
	BatchBytes      int           // line protocol per InfluxDB write
	FlushInterval   time.Duration // a smaller batch is written after this wait
	Writers         int           // concurrent InfluxDB writes
	MaxMachines     int           // cardinality guard: distinct machines accepted; 0 = unlimited
	// MaxFieldsPerMachine and MaxFields bound distinct sensor names (InfluxDB columns)
	// per machine and in total; 0 = unlimited. Like MaxMachines they persist in the
	// spool directory across restarts.
	MaxFieldsPerMachine int
	MaxFields           int
	DeadLetter          bool // republish rejected messages to DeadLetter("ingest")
	Limits              telemetry.Limits
	ShutdownTimeout     time.Duration // how long shutdown keeps shipping the spool to InfluxDB

	MQTT   mqttclient.Config
	Influx influxstore.Config
}

// DefaultClientID is faultline-ingest-<hostname>: stable across restarts of one host,
// distinct between hosts.
func DefaultClientID() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "local"
	}
	return "faultline-ingest-" + h
}

// MaxBatchBytes bounds --batch-bytes (16 MiB).
const MaxBatchBytes = 16 << 20

// DefaultConfig returns the defaults of the flags.
func DefaultConfig() Config {
	return Config{
		Topics:          telemetry.MustTopics(""),
		ClientID:        DefaultClientID(),
		Connections:     1,
		SpoolDir:        "faultline-ingest-spool",
		SpoolMaxBytes:   1 << 30,
		SegmentBytes:    16 << 20,
		MaxPendingBytes: 4 << 20,
		BatchBytes:      1 << 20,
		FlushInterval:   200 * time.Millisecond,
		Writers:         2,
		MaxMachines:     100000,
		// The payload limit allows 1,000 sensors in one sample; real machines have tens.
		MaxFieldsPerMachine: 1000,
		MaxFields:           1000000,
		Limits:              telemetry.DefaultLimits(),
		ShutdownTimeout:     10 * time.Second,
		MQTT:                mqttclient.DefaultConfig(),
		Influx:              influxstore.DefaultConfig(),
	}
}

// Validate checks the configuration without touching the network or the disk.
func (c Config) Validate() error {
	var errs []error
	if c.ClientID == "" {
		errs = append(errs, errors.New("--client-id is empty: a persistent session needs a fixed id"))
	}
	if c.Connections < 1 || c.Connections > 64 {
		errs = append(errs, fmt.Errorf("--mqtt-connections %d: use 1..64", c.Connections))
	}
	if c.Connections > 1 && c.ShareGroup == "" {
		errs = append(errs, errors.New("--mqtt-connections > 1 needs --share-group, or every connection would get every message"))
	}
	if c.ShareGroup != "" {
		if _, err := telemetry.Shared(c.ShareGroup, "x"); err != nil {
			errs = append(errs, fmt.Errorf("--share-group: %w", err))
		}
	}
	if _, err := telemetry.ParseTemplate(c.TagTemplate); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.validateSparkplug()...)
	if c.SpoolDir == "" {
		errs = append(errs, errors.New("--spool-dir is empty"))
	}
	errs = append(errs, c.validateBounds()...)
	if err := c.Influx.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// validateBounds checks every numeric setting against its allowed range, so a value
// that would silently disable a function (a 0-byte payload limit acknowledges and
// discards every message) is refused with the range instead.
func (c Config) validateBounds() []error {
	var errs []error
	intIn := func(flag string, v, lo, hi int64, unit string) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("--%s %d%s: use %d..%d", flag, v, unit, lo, hi))
		}
	}
	durIn := func(flag string, v, lo, hi time.Duration) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("--%s %s: use %s..%s", flag, v, lo, hi))
		}
	}
	intIn("spool-max-mb", c.SpoolMaxBytes>>20, 1, 1<<20, "") // 1 MiB .. 1 TiB
	// A full spool's open segment and the pending buffer must fit; 1 GiB of memory
	// waiting for one fsync is a misconfiguration.
	intIn("max-pending-bytes", int64(c.MaxPendingBytes), 1<<10, 1<<30, "")
	intIn("batch-bytes", int64(c.BatchBytes), 1<<10, MaxBatchBytes, "")
	intIn("writers", int64(c.Writers), 1, 64, "")
	intIn("max-machines", int64(c.MaxMachines), 0, 10_000_000, " (0 = unlimited)")
	intIn("max-fields-per-machine", int64(c.MaxFieldsPerMachine), 0, 100_000, " (0 = unlimited)")
	intIn("max-fields", int64(c.MaxFields), 0, 100_000_000, " (0 = unlimited)")
	// MQTT's own limit on a packet is 256 MiB.
	intIn("max-payload", int64(c.Limits.MaxPayload), 64, 256<<20, " bytes")
	durIn("flush-interval", c.FlushInterval, time.Millisecond, time.Minute)
	durIn("shutdown-timeout", c.ShutdownTimeout, 0, time.Hour)
	return errs
}

func (c Config) filters() ([]string, error) {
	fs := c.Filters
	if len(fs) == 0 {
		tpl, _ := telemetry.ParseTemplate(c.TagTemplate)
		if tpl == nil {
			// Alerts and maintenance too: MQTT keeps only each machine's latest alert
			// state and nothing of the work done; InfluxDB keeps the history the
			// dashboard shows.
			fs = []string{c.Topics.TelemetryFilter(), c.Topics.SensorFilter(), c.Topics.AlertsFilter(), c.Topics.MaintenanceFilter()}
		} else {
			fs = []string{tpl.Filter()}
		}
		if c.Sparkplug != nil {
			fs = append(fs, telemetry.SparkplugFilters(c.SparkplugGroup)...)
		}
	}
	if c.ShareGroup == "" {
		return fs, nil
	}
	out := make([]string, len(fs))
	for i, f := range fs {
		s, err := telemetry.Shared(c.ShareGroup, f)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}
