package infer

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/faultline/faultline/internal/influxstore"
	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/telemetry"
)

// Route sends machines whose id matches Glob to the model at Path. An empty Glob
// means "use the model's own Match field".
type Route struct {
	Glob string
	Path string
}

// ParseRoute parses 'GLOB=FILE' or 'FILE' (the model's Match decides).
func ParseRoute(s string) (Route, error) {
	glob, file, ok := strings.Cut(s, "=")
	if !ok {
		file, glob = s, ""
	}
	if strings.TrimSpace(file) == "" {
		return Route{}, fmt.Errorf("route %q: no model file; use GLOB=FILE, e.g. 'pump-*=models/pump.model'", s)
	}
	if glob != "" {
		if _, err := path.Match(glob, "x"); err != nil {
			return Route{}, fmt.Errorf("route %q: bad glob %q: %w", s, glob, err)
		}
	}
	return Route{Glob: glob, Path: file}, nil
}

// Config of the daemon. Build it with DefaultConfig and change fields; cmd/infer fills
// it from flags and environment.
type Config struct {
	Model  string  // default model file ("" = routes only)
	Routes []Route // first match wins, before the default
	// MaxMachines bounds the per-machine state (a cardinality guard against a
	// misbehaving publisher inventing machine ids).
	MaxMachines int
	// ShareGroup makes the telemetry subscription a shared one ($share/group/...).
	ShareGroup string
	// QoS of the telemetry subscription. 1 (default) survives a lost TCP segment; the
	// broker then allows only a few unacknowledged messages in flight per client
	// (mosquitto max_inflight_messages, 20 by default), which caps throughput at
	// high rates; 0 removes that round trip.
	QoS      byte
	Instance string // status topic instance and client id suffix
	QueueDir string // on-disk alert queue
	QueueMax int64  // bytes, MinQueueBytes..MaxQueueBytes
	// ReloadInterval is how often model files are checked for changes (0 disables).
	ReloadInterval  time.Duration
	ShutdownTimeout time.Duration // flushing alerts on the way out
	PublishTimeout  time.Duration // waiting for a broker PUBACK before queueing to disk
	Limits          telemetry.Limits
	MQTT            mqttclient.Config
	Topics          telemetry.Topics
	// TagTemplate, when set, reads telemetry from a custom topic tree instead of the
	// contract's telemetry and per-sensor topics (telemetry.ParseTemplate, the same
	// grammar as ingest's --tag-template). Alerts still go to the contract's topics.
	TagTemplate string
	// Influx, when set, receives every score in measurement "scores".
	Influx *influxstore.Config
	// Sparkplug, when set, also scores Sparkplug B DATA (of SparkplugGroup, "" = all
	// groups) with the same decoder as ingest; see sparkplug.go.
	Sparkplug      *telemetry.SparkplugConfig
	SparkplugGroup string
}

// Bounds of the numeric settings.
const (
	MaxMachinesLimit       = 1_000_000
	MinQueueBytes    int64 = 64 << 10
	MaxQueueBytes    int64 = 16 << 30 // typed: the edge build for armv7 has a 32-bit int
)

// DefaultConfig holds the defaults of the flags.
func DefaultConfig() Config {
	return Config{
		MaxMachines:     10000,
		QoS:             1,
		Instance:        "edge-1",
		QueueDir:        "infer-queue",
		QueueMax:        64 << 20,
		ReloadInterval:  5 * time.Second,
		ShutdownTimeout: 10 * time.Second,
		PublishTimeout:  5 * time.Second,
		Limits:          telemetry.DefaultLimits(),
		MQTT:            mqttclient.DefaultConfig(),
		Topics:          telemetry.MustTopics(telemetry.DefaultRoot),
	}
}

// Validate checks the configuration without touching files or the network.
func (c Config) Validate() error {
	var errs []error
	if c.Model == "" && len(c.Routes) == 0 {
		errs = append(errs, errors.New("no model: give --model FILE and/or --route 'GLOB=FILE'"))
	}
	if c.MaxMachines < 1 || c.MaxMachines > MaxMachinesLimit {
		errs = append(errs, fmt.Errorf("--max-machines %d: use 1..%d", c.MaxMachines, MaxMachinesLimit))
	}
	// The queue must hold at least a few alerts (one is under 2 KiB) and should not be
	// able to fill a gateway's disk.
	if c.QueueMax < MinQueueBytes || c.QueueMax > MaxQueueBytes {
		errs = append(errs, fmt.Errorf("--queue-max-bytes %d: use %d..%d", c.QueueMax, MinQueueBytes, MaxQueueBytes))
	}
	if err := telemetry.ValidateName(c.Instance); err != nil {
		errs = append(errs, fmt.Errorf("--instance: %w", err))
	}
	if c.ShareGroup != "" {
		if _, err := telemetry.Shared(c.ShareGroup, "x"); err != nil {
			errs = append(errs, fmt.Errorf("--share-group: %w", err))
		}
	}
	errs = append(errs, validateTemplate(c.TagTemplate)...)
	if c.QoS > 1 {
		errs = append(errs, fmt.Errorf("--qos %d: use 0 or 1", c.QoS))
	}
	if c.QueueDir == "" {
		errs = append(errs, errors.New("--queue-dir is empty: alerts need a directory to wait in while the broker is down"))
	}
	if c.Sparkplug != nil {
		if err := c.Sparkplug.Validate(); err != nil {
			errs = append(errs, err)
		}
		if c.ShareGroup != "" {
			errs = append(errs, errors.New("--sparkplug cannot be used with --share-group: each edge node's messages must reach one instance, in order"))
		}
	}
	durIn := func(flag string, v, lo, hi time.Duration, note string) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("--%s %s: use %s..%s%s", flag, v, lo, hi, note))
		}
	}
	durIn("shutdown-timeout", c.ShutdownTimeout, time.Millisecond, time.Hour, "")
	durIn("publish-timeout", c.PublishTimeout, time.Millisecond, 10*time.Minute, "")
	durIn("reload-interval", c.ReloadInterval, 0, 24*time.Hour, " (0 disables polling)")
	return errors.Join(errs...)
}

// validateTemplate checks --tag-template. The daemon keys a machine's state by its
// contract topic and publishes its alerts on {root}/{site}/{line}/{machine}/alerts, so
// unlike ingest (which stores a missing level as a missing tag) it needs all three.
func validateTemplate(s string) []error {
	tpl, err := telemetry.ParseTemplate(s)
	if err != nil {
		return []error{err}
	}
	if tpl == nil {
		return nil
	}
	var errs []error
	for _, l := range []string{"site", "line"} {
		if !tpl.Captures(l) {
			errs = append(errs, fmt.Errorf("--tag-template %q: needs a %s level: alerts are published on {root}/{site}/{line}/{machine}/alerts", s, l))
		}
	}
	return errs
}
