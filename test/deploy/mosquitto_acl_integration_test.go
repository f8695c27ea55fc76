package deploy_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/servers"
	"github.com/faultline/faultline/internal/telemetry"
	"github.com/faultline/faultline/internal/testenv"
)

// brokerUsers are the users of deploy/mosquitto/acl with a password each.
var brokerUsers = []string{"simulator", "ingest", "infer", "maintenance", "viewer", "evaluator"}

// aclBroker runs deploy/mosquitto/mosquitto.conf (with the acl file beside it) in a real
// Mosquitto on a free loopback port. Only paths and the listener are rewritten: every
// other directive is the shipped one.
type aclBroker struct {
	url       string
	passwords map[string]string
	m         *servers.Mosquitto
}

func startACLBroker(t *testing.T, confName string, rewrite map[string]string) *aclBroker {
	t.Helper()
	testenv.Integration(t)
	passwd := mosquittoPasswd(t)
	dir := t.TempDir()
	b := &aclBroker{passwords: map[string]string{}}
	plain := filepath.Join(dir, "passwd")
	var lines []string
	for _, u := range brokerUsers {
		pw := "pw-" + u + "-" + fmt.Sprint(time.Now().UnixNano())
		b.passwords[u] = pw
		lines = append(lines, u+":"+pw)
	}
	if err := os.WriteFile(plain, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// -U hashes the plain file in place: the same path gen-passwd.sh takes.
	if out, err := exec.Command(passwd, "-U", plain).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd -U: %v\n%s", err, out)
	}
	aclPath, err := filepath.Abs(filepath.Join("mosquitto", "acl"))
	if err != nil {
		t.Fatal(err)
	}
	rw := map[string]string{
		"password_file": "password_file " + plain,
		"acl_file":      "acl_file " + aclPath,
		// The harness sets persistence_location and logging to its temp dir.
		"persistence_location": "",
	}
	for k, v := range rewrite {
		rw[k] = v
	}
	extra := rewriteConf(t, filepath.Join("mosquitto", confName), rw)
	m := testenv.Mosquitto(t, servers.MosquittoOptions{Extra: extra, NoDefaultListener: true})
	b.url, b.m = m.URL, m
	return b
}

func mosquittoPasswd(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"mosquitto_passwd", "/usr/bin/mosquitto_passwd"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("FAULTLINE_REQUIRE_SERVERS") == "1" {
		t.Fatal("mosquitto_passwd not found: apt-get install mosquitto")
	}
	t.Skip("mosquitto_passwd not found (Debian package mosquitto); run `make test`")
	return ""
}

// rewriteConf replaces each directive named in rw by rw's line ("" drops it) and returns
// the rest unchanged.
func rewriteConf(t *testing.T, path string, rw map[string]string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out strings.Builder
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		key, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		if repl, ok := rw[key]; ok {
			seen[key] = true
			line = repl
		}
		out.WriteString(line + "\n")
	}
	for k, v := range rw {
		if !seen[k] && v != "" {
			t.Fatalf("%s has no %q directive to rewrite", path, k)
		}
	}
	return out.String()
}

// client connects as user. The adapter retries refused connects forever (a service must
// outlive a broker restart), so a refusal shows as the deadline passing; callers that
// expect one check the broker's log for the reason.
func (b *aclBroker) client(t *testing.T, clientID, user, password string, wait time.Duration, mutate ...func(*mqttclient.Config)) (*mqttclient.Client, error) {
	t.Helper()
	cfg := mqttclient.DefaultConfig()
	cfg.URL, cfg.Username, cfg.Password, cfg.ClientID = b.url, user, password, clientID
	cfg.ConnectTimeout = 5 * time.Second
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := mqttclient.New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		c.Disconnect(0)
		return nil, err
	}
	t.Cleanup(func() { c.Disconnect(50 * time.Millisecond) })
	return c, nil
}

func (b *aclBroker) mustClient(t *testing.T, user string, mutate ...func(*mqttclient.Config)) *mqttclient.Client {
	t.Helper()
	id := fmt.Sprintf("acltest-%s-%d", user, time.Now().UnixNano())
	c, err := b.client(t, id, user, b.passwords[user], 10*time.Second, mutate...)
	if err != nil {
		t.Fatalf("%s should connect: %v", user, err)
	}
	return c
}

// inbox collects received payloads per topic.
type inbox struct {
	mu  sync.Mutex
	got map[string][]string
}

func newInbox() *inbox { return &inbox{got: map[string][]string{}} }

func (in *inbox) handle(m mqttclient.Message) {
	in.mu.Lock()
	in.got[m.Topic()] = append(in.got[m.Topic()], string(m.Payload()))
	in.mu.Unlock()
	m.Ack()
}

func (in *inbox) count(topic string) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.got[topic])
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func publish(t *testing.T, c *mqttclient.Client, topic, payload string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// QoS 1: Mosquitto acknowledges a denied publish too (MQTT 3.1.1 has no way to
	// refuse one), so an error here is a broken connection, not a denial.
	if err := c.Publish(ctx, topic, 1, false, []byte(payload)); err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
}

var testMachine = telemetry.Machine{Site: "s1", Line: "l1", Machine: "pump-1"}
