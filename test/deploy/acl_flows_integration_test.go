package deploy_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/telemetry"
)

func (in *inbox) has(topic, payload string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Contains(in.got[topic], payload)
}

// prime publishes on topic until sub's inbox has received something there. Because one
// connection's SUBSCRIBE packets are handled in order, this also proves that every
// subscription registered before the primed one has been answered by the broker.
func prime(t *testing.T, pub *mqttclient.Client, topic string, in *inbox) {
	t.Helper()
	waitUntil(t, "subscription on "+topic, func() bool {
		publish(t, pub, topic, "prime")
		return in.count(topic) > 0
	})
}

// TestMosquittoRefusesBadCredentialsIntegration: the shipped broker config admits no
// anonymous client, no wrong password and no unknown user.
func TestMosquittoRefusesBadCredentialsIntegration(t *testing.T) {
	b := startACLBroker(t, "mosquitto.conf", map[string]string{"listener": "listener {{PORT}} 127.0.0.1"})
	cases := []struct{ name, user, password string }{
		{"anonymous", "", ""},
		{"wrong password", "ingest", "not-the-password"},
		{"unknown user", "mallory", "whatever"},
		{"password of another user", "infer", b.passwords["viewer"]},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("refused-%d", i)
			if c, err := b.client(t, id, tc.user, tc.password, 2*time.Second); err == nil {
				c.Disconnect(0)
				t.Fatalf("broker accepted user %q", tc.user)
			}
			// The adapter only says "not connected in time"; ask the broker directly
			// why, so this cannot pass against a broker that never answers.
			if code := connackCode(t, b.m.Port, id, tc.user, tc.password); code != connRefusedNotAuthorized {
				t.Fatalf("CONNACK return code %d for user %q, want %d (not authorised)", code, tc.user, connRefusedNotAuthorized)
			}
		})
	}
	if code := connackCode(t, b.m.Port, "accepted", "viewer", b.passwords["viewer"]); code != 0 {
		t.Fatalf("CONNACK return code %d for the viewer's right password, want 0", code)
	}
}

// TestMosquittoACLIntegration runs every role of deploy/mosquitto/acl against a real
// broker: allowed flows arrive, forbidden publishes are dropped and forbidden
// subscriptions receive nothing. A forbidden message is checked after a later allowed
// "marker" message has arrived at the same subscriber: the broker routes a publish before
// it acknowledges it, so a forbidden message that got through would have come first.
func TestMosquittoACLIntegration(t *testing.T) {
	b := startACLBroker(t, "mosquitto.conf", map[string]string{"listener": "listener {{PORT}} 127.0.0.1"})
	tp := telemetry.MustTopics("factory")
	m := testMachine
	tel, alerts, state := tp.Telemetry(m), tp.Alerts(m), tp.AlertState(m)
	share, err := telemetry.Shared("ingest", tp.TelemetryFilter())
	if err != nil {
		t.Fatal(err)
	}

	ingestIn, inferIn, viewerIn, evalIn := newInbox(), newInbox(), newInbox(), newInbox()
	ingest := b.mustClient(t, "ingest")
	ingest.Subscribe(share, 1, ingestIn.handle)
	infer := b.mustClient(t, "infer")
	infer.Subscribe(tp.TelemetryFilter(), 1, inferIn.handle)
	viewer := b.mustClient(t, "viewer")
	viewer.Subscribe(tp.TelemetryFilter(), 1, viewerIn.handle) // forbidden: registered first
	viewer.Subscribe(tp.TruthFilter(), 1, viewerIn.handle)     // forbidden
	viewer.Subscribe(tp.AlertsFilter(), 1, viewerIn.handle)
	evaluator := b.mustClient(t, "evaluator")
	evaluator.Subscribe(tp.TruthFilter(), 1, evalIn.handle)
	evaluator.Subscribe("factory/_deadletter/#", 1, evalIn.handle)
	evaluator.Subscribe(tp.AlertsFilter(), 1, evalIn.handle)
	sim := b.mustClient(t, "simulator")

	prime(t, sim, tel, ingestIn)
	prime(t, sim, tel, inferIn)
	prime(t, infer, alerts, viewerIn)
	prime(t, infer, alerts, evalIn)

	t.Run("telemetry reaches ingest (shared) and infer, not the viewer", func(t *testing.T) {
		publish(t, sim, tel, "reading-1")
		waitUntil(t, "ingest gets telemetry", func() bool { return ingestIn.has(tel, "reading-1") })
		waitUntil(t, "infer gets telemetry", func() bool { return inferIn.has(tel, "reading-1") })
		publish(t, infer, alerts, "marker-telemetry")
		waitUntil(t, "viewer marker", func() bool { return viewerIn.has(alerts, "marker-telemetry") })
		if n := viewerIn.count(tel); n != 0 {
			t.Fatalf("viewer received %d telemetry messages; its ACL grants alerts only", n)
		}
	})

	t.Run("simulator cannot publish alerts", func(t *testing.T) {
		publish(t, sim, alerts, "fake-alert")
		publish(t, sim, state, "fake-state")
		publish(t, infer, alerts, "marker-sim")
		waitUntil(t, "viewer marker", func() bool { return viewerIn.has(alerts, "marker-sim") })
		if viewerIn.has(alerts, "fake-alert") || evalIn.has(alerts, "fake-alert") {
			t.Fatal("a viewer received an alert published by the simulator user")
		}
	})

	t.Run("viewer and ingest cannot publish alerts", func(t *testing.T) {
		publish(t, viewer, alerts, "viewer-alert")
		publish(t, ingest, alerts, "ingest-alert")
		publish(t, infer, alerts, "marker-viewer")
		waitUntil(t, "evaluator marker", func() bool { return evalIn.has(alerts, "marker-viewer") })
		for _, p := range []string{"viewer-alert", "ingest-alert"} {
			if evalIn.has(alerts, p) || viewerIn.has(alerts, p) {
				t.Fatalf("%s was delivered; only infer may publish alerts", p)
			}
		}
	})

	t.Run("infer and viewer cannot publish telemetry", func(t *testing.T) {
		publish(t, infer, tel, "infer-reading")
		publish(t, viewer, tel, "viewer-reading")
		publish(t, sim, tel, "marker-tel")
		waitUntil(t, "ingest marker", func() bool { return ingestIn.has(tel, "marker-tel") })
		if ingestIn.has(tel, "infer-reading") || ingestIn.has(tel, "viewer-reading") {
			t.Fatal("ingest received telemetry from a user that may not publish it")
		}
	})

	t.Run("truth reaches the evaluator, not the viewer", func(t *testing.T) {
		publish(t, sim, tp.Truth(m), "truth-1")
		waitUntil(t, "evaluator gets truth", func() bool { return evalIn.has(tp.Truth(m), "truth-1") })
		publish(t, infer, alerts, "marker-truth")
		waitUntil(t, "viewer marker", func() bool { return viewerIn.has(alerts, "marker-truth") })
		if viewerIn.count(tp.Truth(m)) != 0 {
			t.Fatal("viewer received simulator truth")
		}
	})

	t.Run("maintenance reaches infer and ingest; only maintenance and the simulator announce it", func(t *testing.T) {
		maint := tp.Maintenance(m)
		ingestM, inferM := newInbox(), newInbox()
		b.mustClient(t, "ingest").Subscribe(tp.MaintenanceFilter(), 1, ingestM.handle)
		b.mustClient(t, "infer").Subscribe(tp.MaintenanceFilter(), 1, inferM.handle)
		cmms := b.mustClient(t, "maintenance")
		prime(t, cmms, maint, ingestM)
		prime(t, cmms, maint, inferM)
		publish(t, viewer, maint, "viewer-work")
		publish(t, infer, maint, "infer-work")
		publish(t, sim, maint, "sim-work")
		publish(t, cmms, maint, "work-1")
		waitUntil(t, "ingest gets work done", func() bool { return ingestM.has(maint, "work-1") && ingestM.has(maint, "sim-work") })
		waitUntil(t, "infer gets work done", func() bool { return inferM.has(maint, "work-1") && inferM.has(maint, "sim-work") })
		for _, p := range []string{"viewer-work", "infer-work"} {
			if ingestM.has(maint, p) || inferM.has(maint, p) {
				t.Fatalf("%s was delivered; only the maintenance and simulator users may announce work", p)
			}
		}
	})

	t.Run("dead letters: only ingest's own topic", func(t *testing.T) {
		publish(t, ingest, tp.DeadLetter("ingest"), "bad-payload")
		waitUntil(t, "dead letter", func() bool { return evalIn.has(tp.DeadLetter("ingest"), "bad-payload") })
		publish(t, ingest, tp.DeadLetter("infer"), "spoofed")
		publish(t, infer, tp.DeadLetter("infer"), "marker-dl")
		waitUntil(t, "dead-letter marker", func() bool { return evalIn.has(tp.DeadLetter("infer"), "marker-dl") })
		if evalIn.has(tp.DeadLetter("infer"), "spoofed") {
			t.Fatal("ingest wrote to infer's dead-letter topic")
		}
	})

	t.Run("infer reads its retained alert state back", func(t *testing.T) {
		if err := infer.Publish(ctx5(t), state, 1, true, []byte("open")); err != nil {
			t.Fatal(err)
		}
		again := newInbox()
		infer2 := b.mustClient(t, "infer")
		// The ACL is written in literal filters; so is this check.
		infer2.Subscribe("factory/+/+/+/alerts/state", 1, again.handle)
		waitUntil(t, "retained state", func() bool { return again.has(state, "open") })
	})
}

func ctx5(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestMosquittoStatusWillIntegration: each service may set its last will and online
// marker on its own status topic, and the evaluator sees both.
func TestMosquittoStatusWillIntegration(t *testing.T) {
	b := startACLBroker(t, "mosquitto.conf", map[string]string{"listener": "listener {{PORT}} 127.0.0.1"})
	tp := telemetry.MustTopics("factory")
	evalIn := newInbox()
	evaluator := b.mustClient(t, "evaluator")
	evaluator.Subscribe("factory/_status/#", 1, evalIn.handle)
	for _, svc := range []struct{ user, service string }{{"ingest", "ingest"}, {"infer", "infer"}, {"simulator", "simulate"}} {
		topic := tp.Status(svc.service, "i1")
		b.mustClient(t, svc.user, func(c *mqttclient.Config) {
			c.Will = &mqttclient.StatusMessage{Topic: topic, Payload: []byte("offline"), QoS: 1}
			c.Online = &mqttclient.StatusMessage{Topic: topic, Payload: []byte("online"), QoS: 1}
		})
		waitUntil(t, svc.user+" online marker", func() bool { return evalIn.has(topic, "online") })
	}
}
