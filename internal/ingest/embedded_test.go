package ingest

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/servers"
)

// TestThroughInProcessBroker is the -short tier's end-to-end check: the real MQTT
// adapters (persistent session, manual acks, status topic) against an in-process
// mochi-mqtt broker, the fake store behind. Every published value is stored once, and
// a graceful stop leaves the retained status "offline". The same against Mosquitto and
// InfluxDB is TestStoresEveryPointIntegration.
func TestThroughInProcessBroker(t *testing.T) {
	broker, err := servers.StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broker.Stop) // registered first: runs after the clients' cleanups
	cfg := fakeConfig(t)
	cfg.ClientID = "ingest-embedded"
	cfg.MQTT.URL = broker.URL
	cfg.MQTT.MaxReconnectInterval = 500 * time.Millisecond
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	var deps Deps
	for _, mc := range MQTTConfigs(cfg) {
		cl, err := mqttclient.New(mc, log)
		if err != nil {
			t.Fatal(err)
		}
		deps.Brokers = append(deps.Brokers, cl)
	}
	w := &fakeWriter{}
	deps.Writer = w
	svc, err := New(cfg, deps, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- svc.Run(ctx) }()
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-errc
		}
	}()
	waitUntil(t, "ingest connected", func() bool { return svc.Ready(context.Background()) == nil })
	time.Sleep(200 * time.Millisecond) // SUBACK arrives asynchronously

	pctx, pcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer pcancel()
	pub := mqttClient(t, broker.URL, "publisher")
	if err := pub.Connect(pctx); err != nil {
		t.Fatal(err)
	}
	const n = 500
	for i := range n {
		if err := pub.Publish(pctx, "factory/s/l/m1/telemetry", 1, false, fakePayload(i)); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "every point written", func() bool { return svc.Stats().PointsWritten >= n })
	cancel()
	stopped = true
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v", err)
	}
	assertStored(t, w.lines(), expectedLines(0, n, -1))
	if st := svc.Stats(); st.Messages != n || st.Acked != n || st.Rejected != 0 {
		t.Errorf("stats %+v: want %d messages, all acked, none rejected", st, n)
	}

	status := make(chan string, 1)
	obs := mqttClient(t, broker.URL, "observer")
	obs.Subscribe(statusTopic(cfg, cfg.ClientID), 1, func(m mqttclient.Message) {
		select {
		case status <- string(m.Payload()):
		default:
		}
	})
	if err := obs.Connect(pctx); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-status:
		if s != "offline" {
			t.Errorf("retained status after a graceful stop = %q, want offline", s)
		}
	case <-time.After(10 * time.Second):
		t.Error("no retained status")
	}
}

// mqttClient is a clean-session client, not yet connected (subscribe first).
func mqttClient(t *testing.T, url, id string) *mqttclient.Client {
	t.Helper()
	c := mqttclient.DefaultConfig()
	c.URL, c.ClientID = url, id
	cl, err := mqttclient.New(c, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Disconnect(100 * time.Millisecond) })
	return cl
}
