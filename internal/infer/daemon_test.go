package infer

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/alertq"
	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/telemetry"
)

// fakeBroker is an in-process Broker for unit tests of the daemon's own logic: the
// publishing side is fakeAlertPub (up, down or stalled; what it acknowledged, in
// order), the subscribing side delivers on the caller's goroutine, as the client's
// ordered delivery goroutine does. A Disconnect is recorded in the same log as the
// publishes, as the item "(disconnect)". The mochi-mqtt and Mosquitto tests
// (embedded_test.go, integration_test.go) stay the proof against real brokers.
type fakeBroker struct {
	fakeAlertPub
	subMu    sync.Mutex
	subs     map[string]mqttclient.Handler
	connects int
}

func newFakeBroker(mode string) *fakeBroker {
	return &fakeBroker{fakeAlertPub: fakeAlertPub{mode: mode}, subs: map[string]mqttclient.Handler{}}
}

func (b *fakeBroker) Subscribe(filter string, _ byte, h mqttclient.Handler) {
	b.subMu.Lock()
	defer b.subMu.Unlock()
	b.subs[filter] = h
}

func (b *fakeBroker) Connect(context.Context) error {
	b.subMu.Lock()
	defer b.subMu.Unlock()
	b.connects++
	return nil
}

func (b *fakeBroker) connected() int {
	b.subMu.Lock()
	defer b.subMu.Unlock()
	return b.connects
}

func (b *fakeBroker) Disconnect(time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mode = "down"
	b.sent = append(b.sent, alertq.Item{Topic: "(disconnect)"})
}

func (b *fakeBroker) Unmatched() int64 { return 0 }

// deliver hands a message to the handler subscribed to filter.
func (b *fakeBroker) deliver(t *testing.T, filter, topic string, payload []byte) {
	t.Helper()
	b.subMu.Lock()
	h := b.subs[filter]
	b.subMu.Unlock()
	if h == nil {
		t.Fatalf("nothing subscribed to %s", filter)
	}
	h(fakeMsg{topic: topic, payload: payload})
}

type fakeMsg struct {
	topic   string
	payload []byte
}

func (m fakeMsg) Topic() string   { return m.topic }
func (m fakeMsg) Payload() []byte { return m.payload }
func (m fakeMsg) Duplicate() bool { return false }
func (m fakeMsg) Retained() bool  { return false }
func (m fakeMsg) Ack()            {}

// fakeDaemonConfig is the daemon's config for the fake broker: the test model, a
// private queue directory, short timeouts.
func fakeDaemonConfig(t *testing.T, model string) Config {
	cfg := DefaultConfig()
	cfg.Model, cfg.QueueDir, cfg.Topics = model, t.TempDir(), testTopics
	cfg.Limits.MaxFuture = 0
	cfg.PublishTimeout, cfg.ShutdownTimeout = 200*time.Millisecond, 5*time.Second
	return cfg
}

// runOnFake starts the daemon on b and waits until it has subscribed and connected;
// stop ends Run and returns its error (once; the cleanup calls it too).
func runOnFake(t *testing.T, cfg Config, b *fakeBroker) (d *Daemon, stop func() error) {
	t.Helper()
	d, err := New(cfg, Deps{Broker: b}, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel), nil)
	if err != nil {
		t.Fatal(err)
	}
	stop = runInBackground(t, d)
	waitFor(t, "the daemon to subscribe and connect", 10*time.Second, func() bool { return b.connected() > 0 })
	return d, stop
}

// feedDrift delivers the drift scenario on the telemetry filter from second *sec on:
// each second the drifting machines' samples in the order given, then the calm ones',
// until until() holds or the scenario ends; *sec is left where it stopped.
func feedDrift(t *testing.T, b *fakeBroker, sec *int, drifting, calm []string, until func() bool) {
	t.Helper()
	for ; *sec < driftSeconds && !until(); *sec++ {
		for _, id := range drifting {
			b.deliver(t, testTopics.TelemetryFilter(), testTopics.Telemetry(machineID(id)), telemetry.EncodeTelemetry(nil, sampleAt(*sec, true)))
		}
		for _, id := range calm {
			b.deliver(t, testTopics.TelemetryFilter(), testTopics.Telemetry(machineID(id)), telemetry.EncodeTelemetry(nil, sampleAt(*sec, false)))
		}
	}
}

// received names what the broker received, in order: machine:state:event|state for an
// alert (checking each is on its machine's alerts topic, or retained on its state
// topic), status:<payload> for the retained status, and (disconnect).
func received(t *testing.T, cfg Config, got []alertq.Item) string {
	t.Helper()
	var seq []string
	for i, it := range got {
		switch {
		case it.Topic == "(disconnect)":
			seq = append(seq, it.Topic)
		case it.Topic == statusTopic(cfg):
			seq = append(seq, "status:"+string(it.Payload))
			if !it.Retained {
				t.Errorf("message %d: the status is not retained", i)
			}
		default:
			var a telemetry.Alert
			if err := json.Unmarshal(it.Payload, &a); err != nil {
				t.Fatalf("message %d on %s: %v", i, it.Topic, err)
			}
			want, kind := cfg.Topics.Alerts(a.MachineID()), "event"
			if it.Retained {
				want, kind = cfg.Topics.AlertState(a.MachineID()), "state"
			}
			if it.Topic != want {
				t.Errorf("message %d: %s %s on %s, want %s", i, a.Machine, kind, it.Topic, want)
			}
			seq = append(seq, a.Machine+":"+a.State+":"+kind)
		}
	}
	return strings.Join(seq, " ")
}

// TestDaemonAlertOrderThroughFakeBroker: the daemon's path from its subscription to the
// broker, in process. Two machines drift and one stays calm. Both raises come while
// the broker is away, so they wait on disk and the daemon is not ready; the broker
// comes back and the rest of the data (the clears) follows at once. The broker must
// receive every alert once, in the order raised (the clears never overtake the queued
// raises), each alert event followed by its retained state, and nothing for the calm
// machine; a graceful stop then publishes the retained "offline" status before it
// disconnects.
func TestDaemonAlertOrderThroughFakeBroker(t *testing.T) {
	cfg := fakeDaemonConfig(t, writeModel(t, t.TempDir(), "pump", ""))
	b := newFakeBroker("down")
	d, stop := runOnFake(t, cfg, b)
	ctx := context.Background()
	hot, calm := []string{"pump-1", "pump-3"}, []string{"pump-2"}
	sec := 0
	feedDrift(t, b, &sec, hot, calm, func() bool { return value(d.met.Alerts.WithLabelValues(telemetry.StateRaised)) == 2 })
	if sec == driftSeconds {
		t.Fatal("the drifting machines were never raised")
	}
	waitFor(t, "both raises queued to disk (2 messages each)", 10*time.Second, func() bool { return d.q.Len() == 4 })
	if d.Ready(ctx) == nil || len(b.delivered()) != 0 {
		t.Fatalf("broker down: ready %v, %d messages delivered; want not ready, none", d.Ready(ctx), len(b.delivered()))
	}

	b.set("up")
	feedDrift(t, b, &sec, hot, calm, func() bool { return false })
	if d.Ready(ctx) != nil {
		t.Fatalf("broker up, daemon not ready: %v", d.Ready(ctx))
	}
	waitFor(t, "2 raises and 2 clears delivered", 20*time.Second, func() bool { return len(b.delivered()) >= 8 })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := "pump-1:raised:event pump-1:raised:state pump-3:raised:event pump-3:raised:state " +
		"pump-1:cleared:event pump-1:cleared:state pump-3:cleared:event pump-3:cleared:state status:offline (disconnect)"
	if got := received(t, cfg, b.delivered()); got != want {
		t.Fatalf("the broker got\n  %s\nwant\n  %s", got, want)
	}
	if n := value(d.met.PublishErrors); n != 0 || d.q.Len() != 0 {
		t.Errorf("%v publish errors, %d left on disk; want 0, 0 (the outage was a disconnect, not a failed publish)", n, d.q.Len())
	}
}

// TestDaemonCarriesRetainedAlertThroughFakeBroker: the next run reads an open alert
// back from the retained state the previous run published (delivered on the state
// filter it subscribes to before connecting) and clears it under the same id when the
// machine calms, with no second "raised". The same against Mosquitto is
// TestRestartCarriesOpenAlertIntegration.
func TestDaemonCarriesRetainedAlertThroughFakeBroker(t *testing.T) {
	model := writeModel(t, t.TempDir(), "pump", "")
	sick := []string{"pump-1"}
	first := newFakeBroker("up")
	d, stop := runOnFake(t, fakeDaemonConfig(t, model), first)
	sec := 0
	feedDrift(t, first, &sec, sick, nil, func() bool { return value(d.met.Alerts.WithLabelValues(telemetry.StateRaised)) == 1 })
	waitFor(t, "the raise delivered", 10*time.Second, func() bool { return len(first.delivered()) >= 2 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	raised := first.delivered()[1] // the retained state, as the broker keeps it
	if !raised.Retained {
		t.Fatalf("second message %s is not the retained state", raised.Topic)
	}

	cfg := fakeDaemonConfig(t, model)
	next := newFakeBroker("up")
	d2, stop2 := runOnFake(t, cfg, next)
	next.deliver(t, testTopics.AlertStateFilter(), raised.Topic, raised.Payload)
	feedDrift(t, next, &sec, sick, nil, func() bool { return false })
	waitFor(t, "the clear delivered", 10*time.Second, func() bool { return len(next.delivered()) >= 2 })
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	if got, want := received(t, cfg, next.delivered()), "pump-1:cleared:event pump-1:cleared:state status:offline (disconnect)"; got != want {
		t.Fatalf("the next run sent %s, want %s", got, want)
	}
	var before, after telemetry.Alert
	if json.Unmarshal(raised.Payload, &before) != nil || json.Unmarshal(next.delivered()[0].Payload, &after) != nil || before.ID == "" || after.ID != before.ID {
		t.Errorf("cleared id %q, raised id %q: want the episode's one id", after.ID, before.ID)
	}
	if n := value(d2.met.Alerts.WithLabelValues(telemetry.StateRaised)); n != 0 {
		t.Errorf("the next run raised %v alerts, want 0", n)
	}
}
