package ingest_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/mqttclient"
)

// TestStatusOfflineOnGracefulStopIntegration: docs/telemetry.md promises a retained
// "offline" on the status topic when a service stops. A graceful disconnect does not
// fire the last will, so ingest left "online" behind after SIGINT/SIGTERM (infer and
// simulate published "offline" themselves; ingest did not).
func TestStatusOfflineOnGracefulStopIntegration(t *testing.T) {
	e := newEnv(t)
	cfg := e.config(t, "status-test")
	cfg.Connections, cfg.ShareGroup = 2, "status-test"
	r := start(t, cfg)
	want := []string{topics.Status("ingest", "status-test-0"), topics.Status("ingest", "status-test-1")}
	if got := retained(t, e.broker.URL, topics.Root()+"/_status/ingest/+", len(want)); got[want[0]] != "online" || got[want[1]] != "online" {
		t.Fatalf("while running: %v, want both online", got)
	}
	r.stop()
	got := retained(t, e.broker.URL, topics.Root()+"/_status/ingest/+", len(want))
	for _, topic := range want {
		if got[topic] != "offline" {
			t.Errorf("after a graceful stop %s = %q, want offline", topic, got[topic])
		}
	}
}

// retained subscribes with a fresh client and returns the retained payloads of filter
// once n topics have one.
func retained(t *testing.T, url, filter string, n int) map[string]string {
	t.Helper()
	cfg := mqttclient.DefaultConfig()
	cfg.URL, cfg.ClientID = url, "status-reader-"+time.Now().Format("150405.000000000")
	cl, err := mqttclient.New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[string]string{}
	cl.Subscribe(filter, 1, func(m mqttclient.Message) {
		mu.Lock()
		got[m.Topic()] = string(m.Payload())
		mu.Unlock()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cl.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer cl.Disconnect(100 * time.Millisecond)
	waitFor(t, "retained status messages", 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= n
	})
	mu.Lock()
	defer mu.Unlock()
	out := make(map[string]string, len(got))
	for k, v := range got {
		out[k] = v
	}
	return out
}
