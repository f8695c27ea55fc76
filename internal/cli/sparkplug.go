package cli

import (
	"flag"
	"fmt"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

// SparkplugFlags are the Sparkplug B flags ingest and `infer run` share; envPrefix
// names their environment variables (FAULTLINE_INGEST, FAULTLINE_INFER).
type SparkplugFlags struct {
	On       bool
	Group    string
	Mapping  string
	Interval time.Duration
}

// RegisterSparkplug adds --sparkplug, --sparkplug-group, --sparkplug-map and
// --sparkplug-rebirth-interval to fs.
func RegisterSparkplug(fs *flag.FlagSet, envPrefix string, getenv Getenv, errs *[]error) *SparkplugFlags {
	f := &SparkplugFlags{}
	def := telemetry.DefaultSparkplugConfig()
	Bool(fs, &f.On, "sparkplug", envPrefix+"_SPARKPLUG", false, "also consume Sparkplug B (spBv1.0/...) BIRTH/DATA/DEATH messages", getenv, errs)
	String(fs, &f.Group, "sparkplug-group", envPrefix+"_SPARKPLUG_GROUP", "", "Sparkplug group id to subscribe to (empty = every group)", getenv)
	String(fs, &f.Mapping, "sparkplug-map", envPrefix+"_SPARKPLUG_MAP", def.Mapping.String(), "Sparkplug topic to machine: each of site, line, machine from group, node, device or a fixed name", getenv)
	Duration(fs, &f.Interval, "sparkplug-rebirth-interval", envPrefix+"_SPARKPLUG_REBIRTH_INTERVAL", def.RebirthInterval, "least time between two rebirth requests to one edge node (100ms..1h)", getenv, errs)
	return f
}

// Config returns nil when --sparkplug is off, else the validated decoder config and
// the group filter.
func (f *SparkplugFlags) Config() (*telemetry.SparkplugConfig, string, error) {
	if !f.On {
		return nil, "", nil
	}
	m, err := telemetry.ParseSparkplugMapping(f.Mapping)
	if err != nil {
		return nil, "", fmt.Errorf("--sparkplug-map: %w", err)
	}
	c := telemetry.DefaultSparkplugConfig()
	c.Mapping, c.RebirthInterval = m, f.Interval
	if err := c.Validate(); err != nil {
		return nil, "", fmt.Errorf("--sparkplug-rebirth-interval: %w", err)
	}
	if f.Group != "" {
		if err := telemetry.ValidateName(f.Group); err != nil {
			return nil, "", fmt.Errorf("--sparkplug-group: %w", err)
		}
	}
	return &c, f.Group, nil
}
