package infer

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/servers"
)

// startDaemonAt is startDaemon (integration_test.go) for a broker given by URL, such as
// the in-process one.
func startDaemonAt(t *testing.T, url string, mutate func(*Config)) *runningDaemon {
	t.Helper()
	cfg := DefaultConfig()
	cfg.MQTT.URL = url
	cfg.MQTT.MaxReconnectInterval = 500 * time.Millisecond
	cfg.MQTT.ConnectTimeout = 5 * time.Second
	cfg.QueueDir = t.TempDir()
	cfg.Limits.MaxFuture = 0
	cfg.PublishTimeout = time.Second
	cfg.ShutdownTimeout = 3 * time.Second
	mutate(&cfg)
	d, closeAdapters, err := Build(cfg, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeAdapters)
	return &runningDaemon{d: d, stop: runInBackground(t, d)}
}

// runInBackground runs d until stop, which returns Run's error (once; the test's
// cleanup calls it too, before the cleanups registered earlier).
func runInBackground(t *testing.T, d *Daemon) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// TestDaemonThroughInProcessBroker is the -short tier's end-to-end check of the daemon:
// telemetry in and alerts out over MQTT, through an in-process mochi-mqtt broker. The
// drifting machine is raised and cleared, the calm one never alerts, and the retained
// status goes online, then offline at a graceful stop. The same against Mosquitto is
// TestDaemonDriftAlertsIntegration.
func TestDaemonThroughInProcessBroker(t *testing.T) {
	broker, err := servers.StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broker.Stop) // registered first: runs after the clients' cleanups
	model := writeModel(t, t.TempDir(), "pump", "")
	obs := newObserver(t, broker.URL, "observer", false)
	rd := startDaemonAt(t, broker.URL, func(c *Config) { c.Model = model })
	waitFor(t, "daemon online", 10*time.Second, func() bool { return obs.lastStatus() == StatusOnline })
	got := driftScenario(t, broker.URL, obs, 20*time.Second)
	if got[0].Top[0].Sensor != "bearing_temp" || got[0].ID != got[1].ID {
		t.Errorf("raised alert: %+v", got[0])
	}
	if err := rd.stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "offline status", 10*time.Second, func() bool { return obs.lastStatus() == StatusOffline })
}
