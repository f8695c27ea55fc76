// Package cli holds what every Faultline program shares on its command line: the common
// flags with environment-variable fallbacks, secrets read from env or files, and the
// logger. Precedence: flag > environment > default.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/influxstore"
	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/telemetry"
)

// Getenv is os.Getenv, replaceable in tests.
type Getenv func(string) string

func envName(n string) string { return n }

// String registers a string flag whose default comes from env when set.
func String(fs *flag.FlagSet, p *string, name, env, def, usage string, getenv Getenv) {
	if v := getenv(env); v != "" {
		def = v
	}
	fs.StringVar(p, name, def, usage+" (env "+envName(env)+")")
}

// Int registers an int flag with an env fallback. A malformed env value is reported by
// Check, not silently ignored.
func Int(fs *flag.FlagSet, p *int, name, env string, def int, usage string, getenv Getenv, errs *[]error) {
	if v := getenv(env); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			*errs = append(*errs, fmt.Errorf("env %s=%q: not an integer", env, v))
		} else {
			def = n
		}
	}
	fs.IntVar(p, name, def, usage+" (env "+env+")")
}

// Float registers a float flag with an env fallback.
func Float(fs *flag.FlagSet, p *float64, name, env string, def float64, usage string, getenv Getenv, errs *[]error) {
	if v := getenv(env); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			*errs = append(*errs, fmt.Errorf("env %s=%q: not a number", env, v))
		} else {
			def = f
		}
	}
	fs.Float64Var(p, name, def, usage+" (env "+env+")")
}

// Duration registers a duration flag with an env fallback.
func Duration(fs *flag.FlagSet, p *time.Duration, name, env string, def time.Duration, usage string, getenv Getenv, errs *[]error) {
	if v := getenv(env); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			*errs = append(*errs, fmt.Errorf("env %s=%q: not a duration (e.g. 500ms, 10s)", env, v))
		} else {
			def = d
		}
	}
	fs.DurationVar(p, name, def, usage+" (env "+env+")")
}

// Bool registers a bool flag with an env fallback.
func Bool(fs *flag.FlagSet, p *bool, name, env string, def bool, usage string, getenv Getenv, errs *[]error) {
	if v := getenv(env); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			*errs = append(*errs, fmt.Errorf("env %s=%q: not a boolean", env, v))
		} else {
			def = b
		}
	}
	fs.BoolVar(p, name, def, usage+" (env "+env+")")
}

// Default addresses of the ops endpoint (/healthz, /readyz, /metrics). Each program has
// its own port, so the README's simulate + ingest + infer on one machine do not collide,
// and each binds to loopback: metrics are not published to the network unless a
// deployment says so with --http-addr (the Compose and Kubernetes files do, for their
// probes and scrapers).
const (
	IngestHTTPAddr   = "127.0.0.1:9101"
	InferHTTPAddr    = "127.0.0.1:9102"
	SimulateHTTPAddr = "127.0.0.1:9103"
)

// Common are the flags every program has.
type Common struct {
	MQTTURL          string
	MQTTUsername     string
	MQTTPasswordFile string
	MQTTCAFile       string
	MQTTInsecure     bool
	InfluxURL        string
	InfluxOrg        string
	InfluxBucket     string
	InfluxTokenFile  string
	InfluxCAFile     string
	InfluxQuery      string
	TopicRoot        string
	LogFormat        string
	LogLevel         string
	HTTPAddr         string

	getenv Getenv
	errs   []error
}

// Register adds the common flags to fs. httpDefault is the program's default
// /metrics address ("" for none).
func (c *Common) Register(fs *flag.FlagSet, getenv Getenv, httpDefault string) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c.getenv = getenv
	String(fs, &c.MQTTURL, "mqtt-url", "FAULTLINE_MQTT_URL", "tcp://127.0.0.1:1883", "MQTT broker URL (tcp://, ssl://, ws://)", getenv)
	String(fs, &c.MQTTUsername, "mqtt-username", "FAULTLINE_MQTT_USERNAME", "", "MQTT username; the password comes from FAULTLINE_MQTT_PASSWORD or --mqtt-password-file", getenv)
	String(fs, &c.MQTTPasswordFile, "mqtt-password-file", "FAULTLINE_MQTT_PASSWORD_FILE", "", "file holding the MQTT password", getenv)
	String(fs, &c.MQTTCAFile, "mqtt-ca-file", "FAULTLINE_MQTT_CA_FILE", "", "PEM CA bundle to verify the broker's TLS certificate", getenv)
	Bool(fs, &c.MQTTInsecure, "mqtt-insecure-skip-verify", "FAULTLINE_MQTT_INSECURE_SKIP_VERIFY", false, "skip broker certificate verification (testing only)", getenv, &c.errs)
	String(fs, &c.InfluxURL, "influx-url", "FAULTLINE_INFLUX_URL", "http://127.0.0.1:8086", "InfluxDB URL", getenv)
	String(fs, &c.InfluxOrg, "influx-org", "FAULTLINE_INFLUX_ORG", "faultline", "InfluxDB organization (2.x; ignored by 1.8)", getenv)
	String(fs, &c.InfluxBucket, "influx-bucket", "FAULTLINE_INFLUX_BUCKET", "factory", "InfluxDB bucket (on 1.8: database, mapped to factory/autogen)", getenv)
	String(fs, &c.InfluxTokenFile, "influx-token-file", "FAULTLINE_INFLUX_TOKEN_FILE", "", "file holding the InfluxDB token (or user:password on 1.8); else FAULTLINE_INFLUX_TOKEN", getenv)
	String(fs, &c.InfluxCAFile, "influx-ca-file", "FAULTLINE_INFLUX_CA_FILE", "", "PEM CA bundle to verify an https InfluxDB's certificate (a private CA, as in a cluster); default the system's roots", getenv)
	String(fs, &c.InfluxQuery, "influx-query", "FAULTLINE_INFLUX_QUERY", "", "language of history reads: flux, influxql, or empty for auto (influxql on InfluxDB 3, which has no Flux; flux otherwise)", getenv)
	String(fs, &c.TopicRoot, "topic-root", "FAULTLINE_TOPIC_ROOT", telemetry.DefaultRoot, "first level of every MQTT topic", getenv)
	String(fs, &c.LogFormat, "log-format", "FAULTLINE_LOG_FORMAT", "", "json or console (default: console on a terminal, json otherwise)", getenv)
	String(fs, &c.LogLevel, "log-level", "FAULTLINE_LOG_LEVEL", "info", "debug, info, warn, error", getenv)
	if httpDefault != "" {
		String(fs, &c.HTTPAddr, "http-addr", "FAULTLINE_HTTP_ADDR", httpDefault, "address of /healthz, /readyz and /metrics (empty disables)", getenv)
	}
}

// Check reports malformed environment values and inconsistent common flags.
func (c *Common) Check() error {
	// Every malformed value at once: fixing a deployment one error per restart is slow.
	errs := slices.Clone(c.errs)
	if _, err := telemetry.NewTopics(c.TopicRoot); err != nil {
		errs = append(errs, fmt.Errorf("--topic-root: %w", err))
	}
	switch c.LogFormat {
	case "", "json", "console":
	default:
		errs = append(errs, fmt.Errorf("--log-format %q: use json or console", c.LogFormat))
	}
	// NewLogger falls back to info on a bad level; a typo must not silently hide debug logs.
	if _, err := zerolog.ParseLevel(c.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("--log-level %q: use debug, info, warn or error", c.LogLevel))
	}
	return errors.Join(errs...)
}

// Topics returns the topic tree under --topic-root.
func (c *Common) Topics() telemetry.Topics {
	t, err := telemetry.NewTopics(c.TopicRoot)
	if err != nil {
		return telemetry.MustTopics("")
	}
	return t
}

// Secret reads a secret from file when given (trailing newline trimmed), else from env.
func Secret(file, env string, getenv Getenv) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read secret file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if getenv == nil { // a Common built without Register
		getenv = os.Getenv
	}
	return getenv(env), nil
}

// MQTTConfig builds the broker connection config with the password from env or file.
func (c *Common) MQTTConfig(clientID string) (mqttclient.Config, error) {
	cfg := mqttclient.DefaultConfig()
	cfg.URL, cfg.ClientID, cfg.Username = c.MQTTURL, clientID, c.MQTTUsername
	pw, err := Secret(c.MQTTPasswordFile, "FAULTLINE_MQTT_PASSWORD", c.getenv)
	if err != nil {
		return cfg, fmt.Errorf("mqtt password: %w", err)
	}
	cfg.Password = pw
	cfg.TLS.CAFile, cfg.TLS.InsecureSkipVerify = c.MQTTCAFile, c.MQTTInsecure
	return cfg, cfg.Validate()
}

// InfluxConfig builds the store config with the token from env or file.
func (c *Common) InfluxConfig() (influxstore.Config, error) {
	cfg := influxstore.DefaultConfig()
	cfg.URL, cfg.Org, cfg.Bucket, cfg.QueryLanguage = c.InfluxURL, c.InfluxOrg, c.InfluxBucket, c.InfluxQuery
	cfg.CAFile = c.InfluxCAFile
	tok, err := Secret(c.InfluxTokenFile, "FAULTLINE_INFLUX_TOKEN", c.getenv)
	if err != nil {
		return cfg, fmt.Errorf("influx token: %w", err)
	}
	cfg.Token = tok
	return cfg, cfg.Validate()
}
