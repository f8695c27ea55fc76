package infer

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/telemetry"
	"github.com/faultline/faultline/internal/testenv"
)

// The daemon reads telemetry published on a custom topic tree (--tag-template, the
// grammar ingest reads), scores it as it scores the contract's topics and publishes
// the alerts on the contract's alert topics of the machine the template names. Both
// kinds of template: a telemetry payload per machine, and one value per sensor topic.
func TestTagTemplateIntegration(t *testing.T) {
	for _, tc := range []struct {
		name, template string
		// publish sends one second of one machine on the template's tree.
		publish func(t *testing.T, cl *mqttclient.Client, m telemetry.Machine, s telemetry.Sample)
	}{
		{"telemetry payload", "acme/site/line/machine/data", func(t *testing.T, cl *mqttclient.Client, m telemetry.Machine, s telemetry.Sample) {
			pubTopic(t, cl, fmt.Sprintf("acme/%s/%s/%s/data", m.Site, m.Line, m.Machine), telemetry.EncodeTelemetry(nil, s))
		}},
		{"per-sensor values", "acme/+/site/line/machine/sensor", func(t *testing.T, cl *mqttclient.Client, m telemetry.Machine, s telemetry.Sample) {
			for _, v := range s.Values {
				pubTopic(t, cl, fmt.Sprintf("acme/gw7/%s/%s/%s/%s", m.Site, m.Line, m.Machine, v.Sensor),
					fmt.Appendf(nil, `{"ts":%d,"value":%g}`, s.Time.UnixMilli(), v.V))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			broker := testenv.Mosquitto(t)
			model := writeModel(t, t.TempDir(), "pump", "")
			obs := newObserver(t, broker.URL, "observer", false)
			rd := startDaemon(t, broker, func(c *Config) { c.Model, c.TagTemplate = model, tc.template })
			waitFor(t, "daemon online", 10*time.Second, func() bool { return obs.lastStatus() == StatusOnline })
			pub := publisherClient(t, broker.URL)
			sick, calm, contract := machineID("pump-0001"), machineID("pump-0002"), machineID("pump-0003")
			for sec := 0; sec < driftSeconds; sec++ {
				tc.publish(t, pub, sick, sampleAt(sec, true))
				tc.publish(t, pub, calm, sampleAt(sec, false))
				// The template replaces the contract's telemetry topics (as in ingest):
				// a machine drifting there is not read.
				publish(t, pub, contract, sampleAt(sec, true))
			}
			// A topic the template's filter delivers but whose machine level breaks
			// the naming rule is counted as a bad topic, not scored.
			bad := sampleAt(0, true)
			tc.publish(t, pub, telemetry.Machine{Site: "plant", Line: "l1", Machine: "_bad"}, bad)
			waitFor(t, "raised and cleared", 10*time.Second, func() bool { return len(obs.get()) >= 2 })
			waitFor(t, "the bad topic counted", 5*time.Second, func() bool {
				return value(rd.d.met.Drops.WithLabelValues(DropBadTopic)) >= 1
			})
			time.Sleep(300 * time.Millisecond) // anything extra (pump-0002, pump-0003) would show now
			got := obs.get()
			if states(got) != "pump-0001:raised pump-0001:cleared" {
				t.Fatalf("alerts = %q, want raised and cleared for pump-0001 only", states(got))
			}
			if a := got[0]; a.Site != "plant" || a.Line != "l1" || a.Top[0].Sensor != "bearing_temp" {
				t.Errorf("raised alert: %+v", a)
			}
			if n := rd.d.Engine().Machines(); n != 2 {
				t.Errorf("%d machines scored, want the template's 2 (not the contract topic's)", n)
			}
		})
	}
}

func pubTopic(t *testing.T, cl *mqttclient.Client, topic string, payload []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := cl.Publish(ctx, topic, 1, false, payload); err != nil {
		t.Fatal(err)
	}
}
