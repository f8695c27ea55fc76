package infer

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
	"github.com/faultline/faultline/internal/testenv"
)

// TestPerSensorTopicsScored: docs/telemetry.md says infer reads .../sensors/{sensor};
// it subscribed to .../telemetry only, so `simulate --per-sensor-topics` data was never
// scored, counted or logged. The same drift sent one value per message (as the
// simulator does, {"ts","value"}) raises and clears the same alerts as whole samples.
func TestPerSensorTopicsScored(t *testing.T) {
	p := writeModel(t, t.TempDir(), "pump", "")
	var whole, split collector
	ew, _ := newTestEngine(t, EngineConfig{Model: p}, &whole)
	es, met := newTestEngine(t, EngineConfig{Model: p}, &split)
	id := machineID("pump-0001")
	for sec := 0; sec < driftSeconds; sec++ {
		s := sampleAt(sec, true)
		ew.Ingest(testTopics.Telemetry(id), telemetry.EncodeTelemetry(nil, s))
		for _, v := range s.Values {
			payload := fmt.Sprintf(`{"ts":%q,"value":%v}`, s.Time.Format(time.RFC3339Nano), v.V)
			es.IngestSensor(testTopics.Sensor(id, v.Sensor), []byte(payload))
		}
	}
	if states(whole.get()) != "pump-0001:raised pump-0001:cleared" {
		t.Fatalf("whole samples: %q", states(whole.get()))
	}
	if states(split.get()) != states(whole.get()) {
		t.Fatalf("per-sensor topics: alerts %q, whole samples %q", states(split.get()), states(whole.get()))
	}
	if a, b := split.get()[0], whole.get()[0]; a.ID != b.ID || a.Score != b.Score {
		t.Errorf("raise differs: per-sensor %s %v, whole %s %v", a.ID, a.Score, b.ID, b.Score)
	}
	if n := value(met.Messages); n != float64(driftSeconds*len(testSensors)) {
		t.Errorf("messages = %v, want every per-sensor message counted", n)
	}
	if n := value(met.MissingValues); n != 0 {
		t.Errorf("missing values = %v: rows were scored before they were complete", n)
	}
	// A bad value is a counted rejection, not a crash or a silent drop.
	es.IngestSensor(testTopics.Sensor(id, "vib_rms"), []byte(`"fast"`))
	if n := value(met.Drops.WithLabelValues(string(telemetry.ReasonWrongType))); n != 1 {
		t.Errorf("wrong_type drops = %v, want 1", n)
	}
}

// TestPerSensorTopicsIntegration: the daemon subscribes to the per-sensor topics and
// raises from them through a real Mosquitto.
func TestPerSensorTopicsIntegration(t *testing.T) {
	broker := testenv.Mosquitto(t)
	model := writeModel(t, t.TempDir(), "pump", "")
	obs := newObserver(t, broker.URL, "observer", false)
	startDaemon(t, broker, func(c *Config) { c.Model = model })
	waitFor(t, "daemon online", 10*time.Second, func() bool { return obs.lastStatus() == StatusOnline })
	pub := publisherClient(t, broker.URL)
	id := machineID("pump-0001")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for sec := 0; sec < driftSeconds; sec++ {
		s := sampleAt(sec, true)
		for _, v := range s.Values {
			payload := fmt.Sprintf(`{"ts":%q,"value":%v}`, s.Time.Format(time.RFC3339Nano), v.V)
			if err := pub.Publish(ctx, testTopics.Sensor(id, v.Sensor), 1, false, []byte(payload)); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, "raised and cleared from per-sensor topics", 10*time.Second, func() bool { return len(obs.get()) >= 2 })
	if got := states(obs.get()); got != "pump-0001:raised pump-0001:cleared" {
		t.Fatalf("alerts = %q", got)
	}
}
