package security

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/artifact/artifacttest"
	"github.com/faultline/faultline/internal/influxstore"
	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/servers"
	"github.com/faultline/faultline/internal/telemetry"
	"github.com/faultline/faultline/internal/testenv"
	"github.com/faultline/faultline/test/chaos"
)

var binDir string

func TestMain(m *testing.M) { os.Exit(chaos.RunWithPrograms(m, &binDir, "ingest", "infer", "train")) }

var topics = telemetry.MustTopics("factory")

// secureBroker is Mosquitto with deploy/mosquitto/mosquitto-tls.conf, the deploy ACL,
// certificates from gen-certs.sh and passwords from gen-passwd.sh.
type secureBroker struct {
	m         *servers.Mosquitto
	url       string
	ca        string
	pwDir     string
	passwords map[string]string
}

func startSecureBroker(t *testing.T) *secureBroker {
	t.Helper()
	testenv.Integration(t)
	for _, tool := range []string{"openssl", "mosquitto_passwd"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("FAULTLINE_REQUIRE_SERVERS") == "1" {
				t.Fatalf("%s not found: apt-get install openssl mosquitto", tool)
			}
			t.Skipf("%s not found; run `make test`", tool)
		}
	}
	root := servers.ModuleRoot()
	if root == "" {
		t.Fatal("go.mod not found above the working directory")
	}
	deploy := filepath.Join(root, "deploy", "mosquitto")
	certs, pw := t.TempDir(), t.TempDir()
	run(t, "bash", filepath.Join(deploy, "gen-certs.sh"), certs, "localhost", "127.0.0.1")
	run(t, "bash", filepath.Join(deploy, "gen-passwd.sh"), pw)
	b := &secureBroker{ca: filepath.Join(certs, "ca.crt"), pwDir: pw, passwords: map[string]string{}}
	for _, u := range []string{"simulator", "ingest", "infer", "viewer", "evaluator"} {
		raw, err := os.ReadFile(b.passwordFile(u))
		if err != nil {
			t.Fatal(err)
		}
		b.passwords[u] = strings.TrimSpace(string(raw))
	}
	conf := rewriteConf(t, filepath.Join(deploy, "mosquitto-tls.conf"), map[string]string{
		"password_file":        "password_file " + filepath.Join(pw, "passwd"),
		"acl_file":             "acl_file " + filepath.Join(deploy, "acl"),
		"listener":             "listener {{PORT}} 127.0.0.1",
		"cafile":               "cafile " + b.ca,
		"certfile":             "certfile " + filepath.Join(certs, "server.crt"),
		"keyfile":              "keyfile " + filepath.Join(certs, "server.key"),
		"persistence_location": "",
	})
	b.m = testenv.Mosquitto(t, servers.MosquittoOptions{Extra: conf, NoDefaultListener: true})
	b.url = strings.Replace(b.m.URL, "tcp://", "ssl://", 1)
	return b
}

func (b *secureBroker) passwordFile(user string) string {
	return filepath.Join(b.pwDir, "mqtt-"+user+".password")
}

// env is what a service of that user gets: credentials as files, never values.
func (b *secureBroker) env(user string) []string {
	return []string{"FAULTLINE_MQTT_URL=" + b.url, "FAULTLINE_MQTT_USERNAME=" + user,
		"FAULTLINE_MQTT_PASSWORD_FILE=" + b.passwordFile(user), "FAULTLINE_MQTT_CA_FILE=" + b.ca}
}

// client connects as user with password pw (no CA when ca is false).
func (b *secureBroker) client(ctx context.Context, id, user, pw string, ca bool) (*mqttclient.Client, error) {
	cfg := mqttclient.DefaultConfig()
	cfg.URL, cfg.ClientID, cfg.Username, cfg.Password = b.url, id, user, pw
	if ca {
		cfg.TLS.CAFile = b.ca
	}
	c, err := mqttclient.New(cfg, zerolog.Nop())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		c.Disconnect(0)
		return nil, err
	}
	return c, nil
}

// rewriteConf replaces each directive named in rw by rw's line ("" drops it).
func rewriteConf(t *testing.T, path string, rw map[string]string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) > 0 && !strings.HasPrefix(f[0], "#") {
			if repl, ok := rw[f[0]]; ok {
				line = repl
			}
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n") + "\n"
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func randomSecret(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func writeSecret(t *testing.T, dir, name, v string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(v+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// proc prepares a program of binDir with its log in dir.
func proc(t *testing.T, dir, name string, env []string, args ...string) *chaos.Proc {
	t.Helper()
	addr, err := servers.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	prog := strings.Fields(name)[0]
	p := chaos.NewProc(name, filepath.Join(binDir, prog), addr, filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".log"),
		env, append(args, "--http-addr", addr, "--log-format", "json")...)
	t.Cleanup(func() {
		p.Stop(15 * time.Second)
		if t.Failed() {
			t.Logf("%s log:\n%s", name, p.Log())
		}
	})
	return p
}

func anomalyModel(t *testing.T, dir string) string {
	t.Helper()
	var names []string
	for s := range 8 {
		names = append(names, chaos.SensorName(s))
	}
	p := filepath.Join(dir, "anomaly.model")
	if err := artifacttest.Anomaly(names, 5).Save(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// noSecrets fails when any secret appears in any captured output.
func noSecrets(t *testing.T, logs map[string]string, secrets map[string]string) {
	t.Helper()
	for name, log := range logs {
		if log == "" {
			continue
		}
		for what, s := range secrets {
			if s != "" && strings.Contains(log, s) {
				t.Errorf("the %s appears in %s's output", what, name)
			}
		}
	}
}

func storeCount(ctx context.Context, st *influxstore.Store, p *chaos.Plan) (int64, error) {
	q := influxstore.SeriesQuery{Site: p.Site, Start: p.T0.Add(-time.Second), Stop: p.T0.Add(time.Duration(p.Seconds+1) * time.Second)}
	return st.CountPoints(ctx, q, "s0")
}

func contains(hay string, needles ...string) bool {
	for _, n := range needles {
		if strings.Contains(strings.ToLower(hay), strings.ToLower(n)) {
			return true
		}
	}
	return false
}
