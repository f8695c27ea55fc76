package mqttclient_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/servers"
	"github.com/faultline/faultline/internal/testenv"
)

type collector struct {
	mu   sync.Mutex
	seen map[string]int
}

func (c *collector) handle(m mqttclient.Message) {
	c.mu.Lock()
	c.seen[string(m.Payload())]++
	c.mu.Unlock()
	m.Ack()
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

func newClient(t *testing.T, url, id string, clean bool) *mqttclient.Client {
	t.Helper()
	cfg := mqttclient.DefaultConfig()
	cfg.URL, cfg.ClientID, cfg.CleanSession, cfg.ManualAck = url, id, clean, true
	cfg.MaxReconnectInterval = 500 * time.Millisecond
	c, err := mqttclient.New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestQoS1SurvivesBrokerRestartIntegration: a persistent-session subscriber keeps
// receiving after the real Mosquitto restarts, with no resubscribe call from the test,
// and gets every QoS 1 message published while it was away.
func TestQoS1SurvivesBrokerRestartIntegration(t *testing.T) {
	broker := testenv.Mosquitto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	col := &collector{seen: map[string]int{}}
	sub := newClient(t, broker.URL, "faultline-test-sub", false)
	sub.Subscribe("factory/+/+/+/telemetry", 1, col.handle)
	if err := sub.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer sub.Disconnect(100 * time.Millisecond)
	pub := newClient(t, broker.URL, "faultline-test-pub", true)
	if err := pub.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer pub.Disconnect(100 * time.Millisecond)
	time.Sleep(200 * time.Millisecond) // subscription acknowledged asynchronously

	publish := func(from, to int) {
		for i := from; i < to; i++ {
			if err := pub.Publish(ctx, "factory/s/l/m1/telemetry", 1, false, []byte(fmt.Sprint(i))); err != nil {
				t.Fatalf("publish %d: %v", i, err)
			}
		}
	}
	publish(0, 100)
	waitFor(t, "first 100 messages", 10*time.Second, func() bool { return col.count() == 100 })

	if err := broker.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both clients to reconnect", 20*time.Second, func() bool {
		return sub.Connects() >= 2 && pub.Connects() >= 2 && sub.Connected() && pub.Connected()
	})
	publish(100, 200)
	waitFor(t, "messages after restart", 15*time.Second, func() bool { return col.count() == 200 })
	t.Logf("200 QoS 1 messages through real mosquitto (pid %d) across a restart; subscriber connects=%d", broker.PID(), sub.Connects())
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*mqttclient.Config)
		ok   bool
	}{
		{"default", func(*mqttclient.Config) {}, true},
		{"empty url", func(c *mqttclient.Config) { c.URL = "" }, false},
		{"no scheme", func(c *mqttclient.Config) { c.URL = "localhost:1883" }, false},
		{"bad scheme", func(c *mqttclient.Config) { c.URL = "http://x" }, false},
		{"persistent without id", func(c *mqttclient.Config) { c.CleanSession = false }, false},
		{"persistent with id", func(c *mqttclient.Config) { c.CleanSession = false; c.ClientID = "x" }, true},
		{"cert without key", func(c *mqttclient.Config) { c.TLS.CertFile = "a.pem" }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := mqttclient.DefaultConfig()
			tc.mod(&c)
			if err := c.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// TestWrongPasswordIsReportedIntegration: a refused login must surface as an error a
// service can log and report, not as a silent retry loop.
func TestWrongPasswordIsReportedIntegration(t *testing.T) {
	dir := t.TempDir()
	pw := dir + "/passwd"
	if out, err := exec.Command("mosquitto_passwd", "-b", "-c", pw, "svc", "right").CombinedOutput(); err != nil {
		t.Skipf("mosquitto_passwd unavailable: %v %s", err, out)
	}
	broker := testenv.Mosquitto(t, servers.MosquittoOptions{NoDefaultListener: true,
		Extra: "listener {{PORT}} 127.0.0.1\nallow_anonymous false\npassword_file " + pw + "\n"})
	cfg := mqttclient.DefaultConfig()
	cfg.URL, cfg.ClientID, cfg.Username, cfg.Password = broker.URL, "wrong-pw", "svc", "wrong"
	cl, err := mqttclient.New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Disconnect(0)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := cl.Connect(ctx); err == nil {
		t.Fatal("connected with a wrong password")
	}
	waitFor(t, "the refusal to be recorded", 10*time.Second, func() bool { return cl.LastError() != nil })
	if msg := cl.LastError().Error(); strings.Contains(msg, "wrong") {
		t.Fatalf("error %q leaks the password", msg)
	}
	t.Logf("refusal reported: %v", cl.LastError())
}

// TestQueuedBeforeResubscribeIntegration: a persistent session's queued messages come
// right after CONNACK, before the resubscribe made on connect has registered its
// handler. paho leaves a message it cannot route unacknowledged; once the broker's
// in-flight window is full of those, it sends the client nothing more until the next
// reconnect, and the client looks connected but hears nothing (a chaos-test failure of
// the edge daemon restarted right after a broker restart). Every queued message and
// every later one must arrive.
func TestQueuedBeforeResubscribeIntegration(t *testing.T) {
	broker := testenv.Mosquitto(t, servers.MosquittoOptions{Extra: "max_inflight_messages 5\nmax_queued_messages 10000\n"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const topic, id = "factory/s/l/m1/telemetry", "faultline-test-queued"
	first := newClient(t, broker.URL, id, false)
	first.Subscribe("factory/+/+/+/telemetry", 1, func(m mqttclient.Message) { m.Ack() })
	if err := first.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // SUBACK
	first.Disconnect(100 * time.Millisecond)

	pub := newClient(t, broker.URL, "faultline-test-pub", true)
	if err := pub.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer pub.Disconnect(100 * time.Millisecond)
	publish := func(from, to int) {
		for i := from; i < to; i++ {
			if err := pub.Publish(ctx, topic, 1, false, []byte(fmt.Sprint(i))); err != nil {
				t.Fatalf("publish %d: %v", i, err)
			}
		}
	}
	publish(0, 300) // queued by the broker for the absent session

	col := &collector{seen: map[string]int{}}
	again := newClient(t, broker.URL, id, false)
	// Subscriptions made before the telemetry one widen the window in which queued
	// messages find no handler (the race is otherwise won or lost by scheduling).
	for i := range 200 {
		again.Subscribe(fmt.Sprintf("other/%d", i), 1, func(m mqttclient.Message) { m.Ack() })
	}
	again.Subscribe("factory/+/+/+/telemetry", 1, col.handle)
	if err := again.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer again.Disconnect(100 * time.Millisecond)
	waitFor(t, "the 300 queued messages", 15*time.Second, func() bool { return col.count() == 300 })
	publish(300, 350)
	waitFor(t, "messages after the queue", 10*time.Second, func() bool { return col.count() == 350 })
}
