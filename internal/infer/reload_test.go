package infer

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/telemetry"
)

// TestReloadCarriesOpenAlertUnderItsID: an alert open when its model is reloaded is
// carried into the machine's new stream. The log said `"id":""` and "restored an
// alert that was active before the restart" although nothing had restarted.
func TestReloadCarriesOpenAlertUnderItsID(t *testing.T) {
	dir := t.TempDir()
	p := writeModel(t, dir, "pump", "")
	var col collector
	var logs bytes.Buffer
	c := EngineConfig{Model: p, MaxMachines: 10, Topics: testTopics, Limits: telemetry.DefaultLimits()}
	c.Limits.MaxFuture = 0
	e, err := NewEngine(c, NewMetrics(nil), zerolog.New(&logs), col.emit, nil)
	if err != nil {
		t.Fatal(err)
	}
	tp := testTopics.Telemetry(machineID("pump-1"))
	sec := 0
	for ; sec < driftSeconds && len(col.get()) == 0; sec++ {
		e.Ingest(tp, telemetry.EncodeTelemetry(nil, sampleAt(sec, true)))
	}
	if states(col.get()) != "pump-1:raised" {
		t.Fatalf("alerts before the reload = %q, want one raise", states(col.get()))
	}
	id := col.get()[0].ID
	writeModel(t, dir, "pump", "")
	e.Reload(true)
	e.Ingest(tp, telemetry.EncodeTelemetry(nil, sampleAt(sec, true)))
	var carried map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(line, "before the restart") {
			t.Errorf("a reload is logged as a restart: %s", line)
		}
		if strings.Contains(line, "carried an open alert over the model reload") {
			if err := json.Unmarshal([]byte(line), &carried); err != nil {
				t.Fatal(err)
			}
		}
	}
	if carried == nil || carried["id"] != id {
		t.Fatalf("carried-over log %v, want it with id %q; logs:\n%s", carried, id, logs.String())
	}
}
