package infer

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

// Work on a machine in alarm clears its alert with reason maintenance (same id as the
// raise) and restarts its stream: the fault that is still there after the work raises
// a new alert, one window after the work, with a new id.
func TestMaintenanceClearsAndRestarts(t *testing.T) {
	p := writeModel(t, t.TempDir(), "pump", "")
	var col collector
	e, met := newTestEngine(t, EngineConfig{Model: p}, &col)
	pump := machineID("pump-0001")
	topic := testTopics.Telemetry(pump)
	for sec := 0; sec < 35; sec++ {
		e.Ingest(topic, telemetry.EncodeTelemetry(nil, sampleAt(sec, true)))
	}
	if states(col.get()) != "pump-0001:raised" {
		t.Fatalf("alerts %q before the work, want one raise", states(col.get()))
	}
	work := t0.Add(35 * time.Second)
	msg := telemetry.EncodeMaintenance(nil, telemetry.Maintenance{TS: work, Action: "bearing replaced", By: "WO-17"})
	if err := e.Maintain(testTopics.Maintenance(pump), msg); err != nil {
		t.Fatal(err)
	}
	got := col.get()
	if states(got) != "pump-0001:raised pump-0001:cleared" {
		t.Fatalf("alerts %q, want the raise cleared by the work", states(got))
	}
	clr := got[1]
	if clr.ID != got[0].ID || clr.Reason != telemetry.ReasonMaintenance || !clr.TS.Equal(work) || clr.Severity != got[0].Severity ||
		clr.Message != "pump-0001: anomaly cleared by maintenance: bearing replaced (WO-17)" {
		t.Fatalf("clear %+v", clr)
	}
	payload, err := json.Marshal(clr)
	if err != nil {
		t.Fatal(err)
	}
	if line := FormatAlertLine(payload, false); !strings.HasSuffix(line, "cleared  -         pump-0001: anomaly cleared by maintenance: bearing replaced (WO-17)") {
		t.Errorf("infer watch shows %q", line)
	}
	// bearing_temp stays at 5 until second 45: the fault outlived the work.
	for sec := 35; sec < driftSeconds; sec++ {
		e.Ingest(topic, telemetry.EncodeTelemetry(nil, sampleAt(sec, true)))
	}
	got = col.get()
	if states(got) != "pump-0001:raised pump-0001:cleared pump-0001:raised pump-0001:cleared" {
		t.Fatalf("alerts %q after the work", states(got))
	}
	if again := got[2]; again.ID == got[0].ID || again.StartedAt.Before(work.Add((testWindow-1)*time.Second)) {
		t.Fatalf("second raise %+v: want a new episode, a full window after the work at %v", again, work)
	}
	if n := value(met.Maintenance); n != 1 {
		t.Fatalf("maintenance_total %v, want 1", n)
	}
}

// A message that is not maintenance changes nothing and is counted with its reason;
// work on a machine that has not reported since a restart clears the alert the previous
// run left open, instead of carrying it into the repaired machine or forgetting it.
func TestMaintenanceRefusedAndBeforeFirstSample(t *testing.T) {
	p := writeModel(t, t.TempDir(), "pump", "")
	var col collector
	e, met := newTestEngine(t, EngineConfig{Model: p}, &col)
	pump := machineID("pump-0001")
	for sec := 0; sec < 35; sec++ {
		e.Ingest(testTopics.Telemetry(pump), telemetry.EncodeTelemetry(nil, sampleAt(sec, true)))
	}
	for _, c := range []struct{ topic, payload, reason string }{
		{testTopics.Maintenance(pump), `bearing replaced`, string(telemetry.ReasonBadJSON)},
		{testTopics.Maintenance(pump), `{"ts":"monday"}`, string(telemetry.ReasonBadTS)},
		{testTopics.Truth(pump), `{}`, DropBadTopic},
	} {
		err := e.Maintain(c.topic, []byte(c.payload))
		if err == nil || value(met.Drops.WithLabelValues(c.reason)) != 1 {
			t.Errorf("%s %s: err %v, drops{%s} %v", c.topic, c.payload, err, c.reason, value(met.Drops.WithLabelValues(c.reason)))
		}
	}
	if states(col.get()) != "pump-0001:raised" || value(met.Maintenance) != 0 {
		t.Fatalf("alerts %q, maintenance_total %v: refused messages changed the machine", states(col.get()), value(met.Maintenance))
	}

	// pump-0002 was alerting when the previous run stopped (its retained state), then
	// repaired while down, before it reported again: that alert is cleared by the work
	// (no stream would ever take it now), and the machine starts afresh.
	other := machineID("pump-0002")
	open, _ := json.Marshal(telemetry.Alert{ID: "x", Kind: telemetry.AlertAnomaly, State: telemetry.StateRaised, Severity: telemetry.SeverityWarning, StartedAt: t0})
	e.RestoreState(testTopics.AlertState(other), open)
	if err := e.Maintain(testTopics.Maintenance(other), nil); err != nil {
		t.Fatal(err)
	}
	for sec := 0; sec < 20; sec++ {
		e.Ingest(testTopics.Telemetry(other), telemetry.EncodeTelemetry(nil, sampleAt(sec, false)))
	}
	var got []telemetry.Alert
	for _, a := range col.get() {
		if a.Machine == "pump-0002" {
			got = append(got, a)
		}
	}
	if len(got) != 1 || got[0].ID != "x" || got[0].State != telemetry.StateCleared || got[0].Reason != telemetry.ReasonMaintenance || got[0].Severity != telemetry.SeverityWarning {
		t.Fatalf("the repaired machine got %+v, want its old alert cleared by maintenance, once", got)
	}
	if !strings.Contains(states(col.get()), "pump-0001:raised") || value(met.Maintenance) != 1 {
		t.Fatalf("maintenance_total %v", value(met.Maintenance))
	}
	// Shutting down: nothing can be published any more, so nothing changes.
	e.Stop()
	n := len(col.get())
	if err := e.Maintain(testTopics.Maintenance(pump), nil); err == nil || value(met.Drops.WithLabelValues(DropStopping)) != 1 || len(col.get()) != n {
		t.Fatalf("maintenance while stopping: %v, drops{stopping} %v, %d alerts after %d", err, value(met.Drops.WithLabelValues(DropStopping)), len(col.get()), n)
	}
}

// A maintenance message delivered again (QoS 1 after a reconnect), or older than the
// alert now open, neither clears that alert nor restarts the machine: the fault
// outlived the work. A model reload's carried alert is cleared by work done before
// the machine reports again.
func TestMaintenanceStaleAndAfterReload(t *testing.T) {
	p := writeModel(t, t.TempDir(), "pump", "")
	var col collector
	e, met := newTestEngine(t, EngineConfig{Model: p}, &col)
	pump := machineID("pump-0001")
	topic := testTopics.Telemetry(pump)
	feed := func(from, to int) {
		for sec := from; sec < to; sec++ {
			e.Ingest(topic, telemetry.EncodeTelemetry(nil, sampleAt(sec, true)))
		}
	}
	feed(0, 35)
	work := telemetry.EncodeMaintenance(nil, telemetry.Maintenance{TS: t0.Add(35 * time.Second), Action: "bearing replaced"})
	if err := e.Maintain(testTopics.Maintenance(pump), work); err != nil {
		t.Fatal(err)
	}
	feed(35, 42) // the fault outlived the work: raised again
	if got := states(col.get()); got != "pump-0001:raised pump-0001:cleared pump-0001:raised" {
		t.Fatalf("alerts %q", got)
	}
	for _, msg := range [][]byte{work, telemetry.EncodeMaintenance(nil, telemetry.Maintenance{TS: t0.Add(30 * time.Second)})} {
		if err := e.Maintain(testTopics.Maintenance(pump), msg); err != nil {
			t.Fatal(err)
		}
	}
	if got := states(col.get()); got != "pump-0001:raised pump-0001:cleared pump-0001:raised" || value(met.Drops.WithLabelValues(DropStaleMaintenance)) != 2 {
		t.Fatalf("alerts %q, drops{stale_maintenance} %v: the redelivered and the older work changed the machine", got, value(met.Drops.WithLabelValues(DropStaleMaintenance)))
	}
	// A reload carries the open alert into the machine's next stream; work done while
	// the machine is down clears it.
	if err := os.Chtimes(p, time.Now(), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	e.Reload(true)
	if err := e.Maintain(testTopics.Maintenance(pump), telemetry.EncodeMaintenance(nil, telemetry.Maintenance{TS: t0.Add(50 * time.Second)})); err != nil {
		t.Fatal(err)
	}
	got := col.get()
	if last := got[len(got)-1]; states(got) != "pump-0001:raised pump-0001:cleared pump-0001:raised pump-0001:cleared" || last.ID != got[2].ID || last.Reason != telemetry.ReasonMaintenance {
		t.Fatalf("alerts %q, last %+v: want the carried alert cleared by the work under its own id", states(got), last)
	}
}
