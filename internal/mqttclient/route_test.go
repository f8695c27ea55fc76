package mqttclient

import (
	"testing"

	"github.com/rs/zerolog"
)

func TestFilterMatches(t *testing.T) {
	for _, tc := range []struct {
		filter, topic string
		want          bool
	}{
		{"factory/+/+/+/telemetry", "factory/s/l/m1/telemetry", true},
		{"factory/+/+/+/telemetry", "factory/s/l/m1/alerts", false},
		{"factory/+/+/+/telemetry", "factory/s/l/telemetry", false},
		{"factory/+/+/+/telemetry", "factory/s/l/m1/telemetry/x", false},
		{"factory/#", "factory", true}, // # includes the parent level
		{"factory/#", "factory/s/l/m1/alerts/state", true},
		{"factory/#", "plant/s", false},
		{"#", "a/b", true},
		{"+", "a", true},
		{"+", "a/b", false},
		{"a/+", "a/", true}, // an empty level is a level
		{"a/b", "a/b", true},
		{"a/b", "a/bc", false},
		{"$share/grp/factory/+/+/+/telemetry", "factory/s/l/m1/telemetry", true},
		{"$queue/factory/+/+/+/telemetry", "factory/s/l/m1/telemetry", true},
		{"#", "$SYS/broker/uptime", false}, // wildcards never match $ topics at the root
		{"$SYS/#", "$SYS/broker/uptime", true},
	} {
		if got := FilterMatches(tc.filter, tc.topic); got != tc.want {
			t.Errorf("FilterMatches(%q, %q) = %v, want %v", tc.filter, tc.topic, got, tc.want)
		}
	}
}

// fakeMsg is an in-process paho.Message for the unit test of unrouted.
type fakeMsg struct {
	topic string
	acked int
}

func (m *fakeMsg) Duplicate() bool   { return false }
func (m *fakeMsg) Qos() byte         { return 1 }
func (m *fakeMsg) Retained() bool    { return false }
func (m *fakeMsg) Topic() string     { return m.topic }
func (m *fakeMsg) MessageID() uint16 { return 1 }
func (m *fakeMsg) Payload() []byte   { return nil }
func (m *fakeMsg) Ack()              { m.acked++ }

// unrouted hands an early message to every matching subscription's handler (which
// acks it under ManualAck) and acks, counts and drops one that matches none.
func TestUnrouted(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ManualAck = true
	cl, err := New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	cl.Subscribe("factory/+/+/+/telemetry", 1, func(m Message) { got["telemetry"]++; m.Ack() })
	cl.Subscribe("factory/#", 1, func(m Message) { got["all"]++; m.Ack() })
	m := &fakeMsg{topic: "factory/s/l/m1/telemetry"}
	cl.unrouted(m)
	if got["telemetry"] != 1 || got["all"] != 1 || cl.Unmatched() != 0 {
		t.Fatalf("handlers %v, unmatched %d", got, cl.Unmatched())
	}
	stray := &fakeMsg{topic: "old-root/s/l/m1/telemetry"}
	cl.unrouted(stray)
	if stray.acked != 1 || cl.Unmatched() != 1 || len(got) != 2 {
		t.Fatalf("stray message: acked %d, unmatched %d, handlers %v", stray.acked, cl.Unmatched(), got)
	}
}
