package servers_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/servers"
	"github.com/faultline/faultline/internal/testenv"
)

// TestMosquittoStopStartSamePortIntegration: a real broker stopped and started again
// comes back on the same port as a new process, and what it persisted (a retained
// message) survives, which is what restart tests of ingest and infer rely on.
func TestMosquittoStopStartSamePortIntegration(t *testing.T) {
	m := testenv.Mosquitto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	port, pid := m.Port, m.PID()
	if pid == 0 || m.URL != fmt.Sprintf("tcp://127.0.0.1:%d", port) {
		t.Fatalf("started broker: pid %d, URL %q, port %d", pid, m.URL, port)
	}

	pub := client(t, m.URL, "pub", true)
	if err := pub.Publish(ctx, "factory/_status/test/one", 1, true, []byte("online")); err != nil {
		t.Fatalf("publish retained: %v", err)
	}
	pub.Disconnect(100 * time.Millisecond)

	m.Stop()
	if m.PID() != 0 {
		t.Fatalf("PID after Stop = %d, want 0", m.PID())
	}
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
		c.Close()
		t.Fatalf("port %d still accepts connections after Stop", port)
	}
	m.Stop() // stopping a stopped broker is a no-op

	if err := m.Start(ctx); err != nil {
		t.Fatalf("Start after Stop: %v", err)
	}
	if m.Port != port || m.PID() == 0 || m.PID() == pid {
		t.Fatalf("after Start: port %d (was %d), pid %d (was %d)", m.Port, port, m.PID(), pid)
	}
	if err := m.Start(ctx); err != nil { // starting a running broker is a no-op
		t.Fatalf("second Start: %v", err)
	}

	got := make(chan string, 1)
	sub := client(t, m.URL, "sub", false)
	sub.Subscribe("factory/_status/#", 1, func(msg mqttclient.Message) {
		select {
		case got <- string(msg.Payload()):
		default:
		}
		msg.Ack()
	})
	if err := sub.Connect(ctx); err != nil {
		t.Fatalf("connect after restart: %v", err)
	}
	defer sub.Disconnect(100 * time.Millisecond)
	select {
	case p := <-got:
		if p != "online" {
			t.Fatalf("retained payload %q, want online", p)
		}
	case <-ctx.Done():
		t.Fatalf("retained message did not survive Stop/Start; broker log:\n%s", m.Log())
	}
}

// TestMosquittoFixedPortIntegration: StartMosquitto honours MosquittoOptions.Port, and
// Restart keeps it.
func TestMosquittoFixedPortIntegration(t *testing.T) {
	testenv.Integration(t)
	port, err := servers.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	m, err := servers.StartMosquitto(ctx, t.TempDir(), servers.MosquittoOptions{Port: port})
	if err != nil {
		skipIfMissing(t, err)
	}
	defer m.Stop()
	if m.Port != port {
		t.Fatalf("port %d, want %d", m.Port, port)
	}
	if err := m.Restart(ctx); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	c := client(t, m.URL, "fixed", true)
	defer c.Disconnect(100 * time.Millisecond)
}

func skipIfMissing(t *testing.T, err error) {
	t.Helper()
	// Same rule as testenv: skip when the binary is missing, unless CI demands servers.
	if errors.Is(err, servers.ErrNotFound) && os.Getenv("FAULTLINE_REQUIRE_SERVERS") != "1" {
		t.Skipf("mosquitto not available: %v", err)
	}
	t.Fatalf("start mosquitto: %v", err)
}

// client returns a client, connected unless the caller subscribes first.
func client(t *testing.T, url, id string, connect bool) *mqttclient.Client {
	t.Helper()
	cfg := mqttclient.DefaultConfig()
	cfg.URL, cfg.ClientID = url, id
	c, err := mqttclient.New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if connect {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := c.Connect(ctx); err != nil {
			t.Fatalf("connect %s: %v", url, err)
		}
	}
	return c
}
