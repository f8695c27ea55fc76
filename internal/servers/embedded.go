package servers

import (
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

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

// Stop closes the broker. mochi-mqtt v2.7.9's Close takes its clients' read lock twice
// (Clients.GetByListener calls Len under RLock): when a client that is disconnecting
// right then queues for the write lock in between (Clients.Delete), both wait for ever.
// make test hung there once, a service stopping just before its broker. So Stop first
// waits, up to two seconds, for the clients still disconnecting to be gone, and it
// never waits more than five seconds for Close itself: a stuck Close is left behind
// rather than hanging the demo or a test.
func (e *Embedded) Stop() {
	deadline := time.Now().Add(2 * time.Second)
	for atomic.LoadInt64(&e.srv.Info.ClientsConnected) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	done := make(chan struct{})
	go func() {
		_ = e.srv.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}
