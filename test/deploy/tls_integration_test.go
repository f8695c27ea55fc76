package deploy_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/telemetry"
	"github.com/faultline/faultline/internal/testenv"
)

// TestMosquittoTLSIntegration: certificates from gen-certs.sh work with
// mosquitto-tls.conf: a client that trusts the generated CA connects over ssl:// and the
// ACL still applies; the listener speaks nothing but TLS.
func TestMosquittoTLSIntegration(t *testing.T) {
	testenv.Integration(t)
	certs := t.TempDir()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	script, _ := filepath.Abs(filepath.Join("mosquitto", "gen-certs.sh"))
	if out, err := exec.Command("bash", script, certs, "localhost", "127.0.0.1").CombinedOutput(); err != nil {
		t.Fatalf("gen-certs.sh: %v\n%s", err, out)
	}
	b := startACLBroker(t, "mosquitto-tls.conf", map[string]string{
		"listener": "listener {{PORT}} 127.0.0.1",
		"cafile":   "cafile " + filepath.Join(certs, "ca.crt"),
		"certfile": "certfile " + filepath.Join(certs, "server.crt"),
		"keyfile":  "keyfile " + filepath.Join(certs, "server.key"),
	})
	b.url = strings.Replace(b.url, "tcp://", "ssl://", 1)
	withCA := func(c *mqttclient.Config) { c.TLS.CAFile = filepath.Join(certs, "ca.crt") }

	tp := telemetry.MustTopics("factory")
	in := newInbox()
	ingest := b.mustClient(t, "ingest", withCA)
	ingest.Subscribe(tp.TelemetryFilter(), 1, in.handle)
	sim := b.mustClient(t, "simulator", withCA)
	prime(t, sim, tp.Telemetry(testMachine), in)

	if code, err := tryConnack(b.m.Port, "plain", "ingest", b.passwords["ingest"]); err == nil {
		t.Fatalf("TLS listener answered plain MQTT with CONNACK code %d", code)
	}
	// Without the CA the broker's certificate is not trusted.
	if c, err := b.client(t, "no-ca", "ingest", b.passwords["ingest"], 2*time.Second); err == nil {
		c.Disconnect(0)
		t.Fatal("connected over TLS without trusting the generated CA")
	}
}
