package servers

import (
	"fmt"
	"io"
	"log/slog"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// Embedded is an in-process MQTT broker (mochi-mqtt) for the zero-install demo and fast
// tests. It is a convenience, not a stand-in for Mosquitto in integration tests.
type Embedded struct {
	URL  string
	Port int
	srv  *mqtt.Server
}

// StartEmbedded starts an embedded broker on a free loopback port, allowing every
// client (it listens on 127.0.0.1 only).
func StartEmbedded() (*Embedded, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	srv := mqtt.New(&mqtt.Options{InlineClient: false, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "tcp", Address: addr})); err != nil {
		return nil, fmt.Errorf("embedded broker listen %s: %w", addr, err)
	}
	if err := srv.Serve(); err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	return &Embedded{URL: "tcp://" + addr, Port: port, srv: srv}, nil
}

// Stop closes the broker.
func (e *Embedded) Stop() { _ = e.srv.Close() }
