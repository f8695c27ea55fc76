package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

// env is a fake getenv: tests never read or change the process environment.
type env map[string]string

func (e env) get(k string) string { return e[k] }

func newFS() *flag.FlagSet {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func TestHelpersPrecedence(t *testing.T) {
	cases := []struct {
		name  string
		env   env
		args  []string
		wantS string
		wantI int
		wantF float64
		wantD time.Duration
		wantB bool
	}{
		{name: "default", env: env{},
			wantS: "def", wantI: 7, wantF: 1.5, wantD: time.Second, wantB: false},
		{name: "env beats default", env: env{"S": "env", "I": "8", "F": "2.5", "D": "3s", "B": "true"},
			wantS: "env", wantI: 8, wantF: 2.5, wantD: 3 * time.Second, wantB: true},
		{name: "flag beats env", env: env{"S": "env", "I": "8", "F": "2.5", "D": "3s", "B": "true"},
			args:  []string{"-s", "flag", "-i", "9", "-f", "3.5", "-d", "4m", "-b=false"},
			wantS: "flag", wantI: 9, wantF: 3.5, wantD: 4 * time.Minute, wantB: false},
		{name: "flag beats default", env: env{}, args: []string{"-s", "flag", "-i", "9", "-f", "3.5", "-d", "4m", "-b"},
			wantS: "flag", wantI: 9, wantF: 3.5, wantD: 4 * time.Minute, wantB: true},
		{name: "empty env counts as unset", env: env{"S": "", "I": ""}, wantS: "def", wantI: 7, wantF: 1.5, wantD: time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := newFS()
			var (
				s    string
				i    int
				f    float64
				d    time.Duration
				b    bool
				errs []error
			)
			String(fs, &s, "s", "S", "def", "string", c.env.get)
			Int(fs, &i, "i", "I", 7, "int", c.env.get, &errs)
			Float(fs, &f, "f", "F", 1.5, "float", c.env.get, &errs)
			Duration(fs, &d, "d", "D", time.Second, "duration", c.env.get, &errs)
			Bool(fs, &b, "b", "B", false, "bool", c.env.get, &errs)
			if err := fs.Parse(c.args); err != nil {
				t.Fatal(err)
			}
			if len(errs) != 0 {
				t.Fatalf("errs %v", errs)
			}
			if s != c.wantS || i != c.wantI || f != c.wantF || d != c.wantD || b != c.wantB {
				t.Fatalf("got %q %d %v %v %v, want %q %d %v %v %v", s, i, f, d, b, c.wantS, c.wantI, c.wantF, c.wantD, c.wantB)
			}
		})
	}
}

func TestHelpersMalformedEnv(t *testing.T) {
	e := env{"I": "ten", "F": "1,5", "D": "10", "B": "yes please"}
	fs := newFS()
	var (
		i    int
		f    float64
		d    time.Duration
		b    bool
		errs []error
	)
	Int(fs, &i, "i", "I", 7, "", e.get, &errs)
	Float(fs, &f, "f", "F", 1.5, "", e.get, &errs)
	Duration(fs, &d, "d", "D", time.Second, "", e.get, &errs)
	Bool(fs, &b, "b", "B", true, "", e.get, &errs)
	if len(errs) != 4 {
		t.Fatalf("got %d errors %v, want 4", len(errs), errs)
	}
	for k, err := range errs {
		name := []string{"I", "F", "D", "B"}[k]
		if !strings.Contains(err.Error(), "env "+name+"=") {
			t.Errorf("error %q does not name env %s", err, name)
		}
	}
	// A malformed env value leaves the default in place rather than a zero value.
	if i != 7 || f != 1.5 || d != time.Second || !b {
		t.Fatalf("defaults not kept: %d %v %v %v", i, f, d, b)
	}
}

func register(t *testing.T, e env, args ...string) *Common {
	t.Helper()
	var c Common
	fs := newFS()
	c.Register(fs, e.get, "127.0.0.1:9100")
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return &c
}

func TestCommonDefaultsEnvFlags(t *testing.T) {
	c := register(t, env{})
	if c.MQTTURL != "tcp://127.0.0.1:1883" || c.InfluxURL != "http://127.0.0.1:8086" || c.InfluxBucket != "factory" ||
		c.TopicRoot != "factory" || c.LogLevel != "info" || c.HTTPAddr != "127.0.0.1:9100" || c.MQTTInsecure {
		t.Fatalf("defaults: %+v", c)
	}
	e := env{"FAULTLINE_MQTT_URL": "ssl://broker:8883", "FAULTLINE_TOPIC_ROOT": "p1/factory",
		"FAULTLINE_INFLUX_BUCKET": "envbucket", "FAULTLINE_HTTP_ADDR": ":9200", "FAULTLINE_MQTT_INSECURE_SKIP_VERIFY": "1"}
	c = register(t, e)
	if c.MQTTURL != "ssl://broker:8883" || c.TopicRoot != "p1/factory" || c.InfluxBucket != "envbucket" ||
		c.HTTPAddr != ":9200" || !c.MQTTInsecure {
		t.Fatalf("env: %+v", c)
	}
	if got := c.Topics().Telemetry(telemetry.Machine{Site: "s", Line: "l", Machine: "m"}); got != "p1/factory/s/l/m/telemetry" {
		t.Fatalf("Topics() under env root: %q", got)
	}
	c = register(t, e, "--mqtt-url", "tcp://flag:1883", "--topic-root", "flagroot", "--mqtt-insecure-skip-verify=false")
	if c.MQTTURL != "tcp://flag:1883" || c.TopicRoot != "flagroot" || c.MQTTInsecure || c.InfluxBucket != "envbucket" {
		t.Fatalf("flags: %+v", c)
	}
	if err := c.Check(); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

func TestNoHTTPAddrFlagWhenNoDefault(t *testing.T) {
	var c Common
	fs := newFS()
	c.Register(fs, env{}.get, "")
	if fs.Lookup("http-addr") != nil {
		t.Fatal("--http-addr registered for a program without /metrics")
	}
}

func TestCheck(t *testing.T) {
	cases := []struct {
		name string
		env  env
		args []string
		want []string // substrings of the error; nil = ok
	}{
		{name: "ok", want: nil},
		{name: "malformed bool env", env: env{"FAULTLINE_MQTT_INSECURE_SKIP_VERIFY": "maybe"},
			want: []string{"FAULTLINE_MQTT_INSECURE_SKIP_VERIFY", "maybe", "not a boolean"}},
		{name: "bad topic root", args: []string{"--topic-root", "factory/#"}, want: []string{"--topic-root", "factory/#"}},
		{name: "bad topic root from env", env: env{"FAULTLINE_TOPIC_ROOT": "/lead"}, want: []string{"--topic-root", "/lead"}},
		{name: "bad log format", args: []string{"--log-format", "xml"}, want: []string{"--log-format", "xml"}},
		{name: "bad log level", env: env{"FAULTLINE_LOG_LEVEL": "verbose"}, want: []string{"--log-level", "verbose"}},
		{name: "every problem at once", env: env{"FAULTLINE_MQTT_INSECURE_SKIP_VERIFY": "maybe"},
			args: []string{"--log-format", "xml", "--log-level", "loud", "--topic-root", "+"},
			want: []string{"maybe", "xml", "loud", "--topic-root"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := register(t, c.env, c.args...).Check()
			if c.want == nil {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Check accepted it")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSecret(t *testing.T) {
	e := env{"PW": "from-env"}
	cases := []struct {
		name, file, want string
	}{
		{"env when no file", "", "from-env"},
		{"file beats env", writeFile(t, "from-file"), "from-file"},
		{"trailing newline trimmed", writeFile(t, "s3cret\n"), "s3cret"},
		{"trailing CRLF trimmed", writeFile(t, "s3cret\r\n\n"), "s3cret"},
		{"inner newline and spaces kept", writeFile(t, " a\nb \n"), " a\nb "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Secret(c.file, "PW", e.get)
			if err != nil || got != c.want {
				t.Fatalf("Secret = %q, %v; want %q", got, err, c.want)
			}
		})
	}
	if _, err := Secret(filepath.Join(t.TempDir(), "missing"), "PW", e.get); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing file: err %v, want one naming the file", err)
	}
}

func TestMQTTConfigCarriesFlagsAndSecret(t *testing.T) {
	pw := writeFile(t, "filepw\n")
	c := register(t, env{"FAULTLINE_MQTT_PASSWORD": "envpw", "FAULTLINE_MQTT_USERNAME": "ingest"},
		"--mqtt-url", "ssl://broker:8883", "--mqtt-ca-file", "/etc/ca.pem", "--mqtt-insecure-skip-verify")
	cfg, err := c.MQTTConfig("ingest-1")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.URL != "ssl://broker:8883" || cfg.ClientID != "ingest-1" || cfg.Username != "ingest" || cfg.Password != "envpw" ||
		cfg.TLS.CAFile != "/etc/ca.pem" || !cfg.TLS.InsecureSkipVerify {
		t.Fatalf("cfg from env password: %+v", cfg)
	}
	c = register(t, env{"FAULTLINE_MQTT_PASSWORD": "envpw"}, "--mqtt-password-file", pw)
	if cfg, err = c.MQTTConfig("x"); err != nil || cfg.Password != "filepw" {
		t.Fatalf("password file: %q, %v", cfg.Password, err)
	}
	c = register(t, env{}, "--mqtt-password-file", pw+".missing")
	if _, err = c.MQTTConfig("x"); err == nil || !strings.Contains(err.Error(), "mqtt password") {
		t.Fatalf("missing password file: %v", err)
	}
	c = register(t, env{}, "--mqtt-url", "broker:1883")
	if _, err = c.MQTTConfig("x"); err == nil || !strings.Contains(err.Error(), "scheme") {
		t.Fatalf("URL without scheme: %v", err)
	}
}

func TestInfluxConfigCarriesFlagsAndSecret(t *testing.T) {
	tok := writeFile(t, "user:pass\n")
	c := register(t, env{"FAULTLINE_INFLUX_TOKEN": "envtok", "FAULTLINE_INFLUX_ORG": "acme"},
		"--influx-url", "https://influx:8086", "--influx-bucket", "plant")
	cfg, err := c.InfluxConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.URL != "https://influx:8086" || cfg.Org != "acme" || cfg.Bucket != "plant" || cfg.Token != "envtok" {
		t.Fatalf("cfg: %+v", cfg)
	}
	c = register(t, env{"FAULTLINE_INFLUX_TOKEN": "envtok", "FAULTLINE_INFLUX_TOKEN_FILE": tok})
	if cfg, err = c.InfluxConfig(); err != nil || cfg.Token != "user:pass" {
		t.Fatalf("token file from env: %q, %v", cfg.Token, err)
	}
	c = register(t, env{}, "--influx-token-file", tok+".missing")
	if _, err = c.InfluxConfig(); err == nil || !strings.Contains(err.Error(), "influx token") {
		t.Fatalf("missing token file: %v", err)
	}
	c = register(t, env{}, "--influx-bucket", "")
	if _, err = c.InfluxConfig(); err == nil {
		t.Fatal("empty bucket accepted")
	}
}

func TestSecretsWithoutRegisterUseProcessEnv(t *testing.T) {
	t.Setenv("FAULTLINE_MQTT_PASSWORD", "procpw")
	c := Common{MQTTURL: "tcp://127.0.0.1:1883"}
	cfg, err := c.MQTTConfig("x")
	if err != nil || cfg.Password != "procpw" {
		t.Fatalf("Common without Register: %q, %v", cfg.Password, err)
	}
}

func TestPrintDefaultsNamesEveryEnvVar(t *testing.T) {
	var c Common
	fs := newFS()
	c.Register(fs, env{}.get, ":9100")
	var out bytes.Buffer
	fs.SetOutput(&out)
	fs.PrintDefaults()
	for _, name := range []string{"FAULTLINE_MQTT_URL", "FAULTLINE_MQTT_USERNAME", "FAULTLINE_MQTT_PASSWORD_FILE",
		"FAULTLINE_MQTT_PASSWORD", "FAULTLINE_MQTT_CA_FILE", "FAULTLINE_MQTT_INSECURE_SKIP_VERIFY", "FAULTLINE_INFLUX_URL",
		"FAULTLINE_INFLUX_ORG", "FAULTLINE_INFLUX_BUCKET", "FAULTLINE_INFLUX_TOKEN_FILE", "FAULTLINE_INFLUX_TOKEN",
		"FAULTLINE_TOPIC_ROOT", "FAULTLINE_LOG_FORMAT", "FAULTLINE_LOG_LEVEL", "FAULTLINE_HTTP_ADDR"} {
		if !strings.Contains(out.String(), name+")") && !strings.Contains(out.String(), name+" ") {
			t.Errorf("--help does not mention %s", name)
		}
	}
	// Every flag, common or program-specific, says where its env fallback is.
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.Contains(f.Usage, "(env FAULTLINE_") {
			t.Errorf("flag --%s usage %q names no env var", f.Name, f.Usage)
		}
	})
}

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, "json", "warn", "ingest")
	log.Info().Msg("hidden")
	log.Warn().Str("k", "v").Msg("shown")
	var rec map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &rec); err != nil {
		t.Fatalf("want exactly one JSON line, got %q: %v", buf.String(), err)
	}
	if rec["program"] != "ingest" || rec["message"] != "shown" || rec["level"] != "warn" || rec["time"] == nil {
		t.Fatalf("record %v", rec)
	}

	buf.Reset()
	log = NewLogger(&buf, "", "", "x")
	log.Debug().Msg("debug hidden at default info")
	log.Info().Msg("plain")
	if !json.Valid(bytes.TrimSpace(buf.Bytes())) || strings.Contains(buf.String(), "debug hidden") {
		t.Fatalf("default format for a non-terminal should be JSON at info: %q", buf.String())
	}

	buf.Reset()
	log = NewLogger(&buf, "console", "debug", "x")
	log.Debug().Msg("human")
	if json.Valid(bytes.TrimSpace(buf.Bytes())) || !strings.Contains(buf.String(), "human") {
		t.Fatalf("console output: %q", buf.String())
	}
}
