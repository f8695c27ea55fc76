package eval

import (
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

func TestSummarize(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	fail := h(20)
	wear := telemetry.Fault{Kind: telemetry.FaultBearingWear, Onset: h(10), FailureAt: &fail}
	stuck := telemetry.Fault{Kind: telemetry.FaultSensorStuck, Sensor: "temp", Onset: h(30)}
	truth := []telemetry.Truth{
		{TS: h(10), Machine: "pump-0001", Faults: []telemetry.Fault{wear}, Event: "fault_onset"},
		{TS: h(19), Machine: "pump-0001", Faults: []telemetry.Fault{wear}},
		{TS: h(30), Machine: "pump-0001", Faults: []telemetry.Fault{stuck}},
		{TS: h(32), Machine: "pump-0001", Faults: []telemetry.Fault{stuck}},
		{TS: h(0), Machine: "motor-0002"},
	}
	alerts := []telemetry.Alert{
		{Machine: "pump-0001", State: telemetry.StateRaised, TS: h(15), Top: []telemetry.Contribution{{Sensor: "vib", Share: 0.7}}},
		{Machine: "pump-0001", State: telemetry.StateCleared, TS: h(16)},
		{Machine: "pump-0001", State: telemetry.StateRaised, TS: h(17)}, // same episode: not false
		{Machine: "motor-0002", State: telemetry.StateRaised, TS: h(5)}, // false
		{Machine: "pump-0001", State: telemetry.StateRaised, TS: h(40)}, // after everything: false
	}
	s := Summarize(truth, alerts, t0, h(48), time.Hour)
	if s.Failures != 1 || s.Detected != 1 || s.Other != 1 || s.OtherDetected != 0 || s.FalseAlerts != 2 || s.Alerts != 4 {
		t.Fatalf("summary %+v", s)
	}
	// Lead time: failure at 20h, first alert at 15h: 5h, half of the 10h fault.
	if s.LeadTimes[0] != 5*time.Hour || s.LeadFractions[0] != 0.5 {
		t.Fatalf("lead %v %v", s.LeadTimes, s.LeadFractions)
	}
	// Healthy machine-days: 2 machines x 48h minus 10h of wear and 2h of stuck sensor.
	if want := (96.0 - 12) / 24; s.HealthyDays != want {
		t.Fatalf("healthy days %v want %v", s.HealthyDays, want)
	}
	var b strings.Builder
	s.Print(&b)
	for _, want := range []string{"failures injected: 1, alerted before failure: 1 (100%)", "5h0m0s before failure / vib", "false alerts: 2"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
}

// Two faults overlap on one machine: the pump is in alarm for imbalance when it starts
// to overheat. The raise detects the imbalance; the update that names a new cause is
// the first alert about the overheating and detects it. A reminder detects nothing.
func TestSummarizeOverlappingFaults(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	fail1, fail2 := h(30), h(20)
	imb := telemetry.Fault{Kind: telemetry.FaultImbalance, Onset: h(2), FailureAt: &fail1}
	hot := telemetry.Fault{Kind: telemetry.FaultOverheating, Onset: h(10), FailureAt: &fail2}
	truth := []telemetry.Truth{
		{TS: h(2), Machine: "pump-0001", Faults: []telemetry.Fault{imb}},
		{TS: h(10), Machine: "pump-0001", Faults: []telemetry.Fault{imb, hot}},
		{TS: h(19), Machine: "pump-0001", Faults: []telemetry.Fault{imb, hot}},
	}
	raised := telemetry.Alert{Machine: "pump-0001", State: telemetry.StateRaised, TS: h(5)}
	reminder := telemetry.Alert{Machine: "pump-0001", State: telemetry.StateUpdated, Reason: telemetry.ReasonReminder, TS: h(11)}
	newCause := telemetry.Alert{Machine: "pump-0001", State: telemetry.StateUpdated, Reason: telemetry.ReasonNewCause, TS: h(15),
		Top: []telemetry.Contribution{{Sensor: "temp", Share: 1}}}
	s := Summarize(truth, []telemetry.Alert{raised, reminder}, t0, h(24), time.Hour)
	if s.Failures != 2 || s.Detected != 1 || s.Alerts != 1 {
		t.Fatalf("without the new cause: %+v", s)
	}
	s = Summarize(truth, []telemetry.Alert{raised, reminder, newCause}, t0, h(24), time.Hour)
	if s.Failures != 2 || s.Detected != 2 || s.Alerts != 2 || s.FalseAlerts != 0 {
		t.Fatalf("with the new cause: %+v", s)
	}
	for _, e := range s.Episodes {
		if e.Kind == telemetry.FaultOverheating && (!e.FirstHit.Equal(h(15)) || e.Top != "temp") {
			t.Fatalf("overheating episode %+v", e)
		}
	}
}

// Two sensor faults overlap: an alert blaming the second sensor detects the second
// fault, though the first began earlier and is not detected yet either.
func TestSummarizeMatchesByCause(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	drift := telemetry.Fault{Kind: telemetry.FaultSensorDrift, Sensor: "flow", Onset: h(1)}
	stuck := telemetry.Fault{Kind: telemetry.FaultSensorStuck, Sensor: "temp", Onset: h(2)}
	truth := []telemetry.Truth{
		{TS: h(1), Machine: "pump-0001", Faults: []telemetry.Fault{drift}},
		{TS: h(2), Machine: "pump-0001", Faults: []telemetry.Fault{drift, stuck}},
		{TS: h(6), Machine: "pump-0001", Faults: []telemetry.Fault{drift, stuck}},
	}
	a := telemetry.Alert{Machine: "pump-0001", State: telemetry.StateRaised, TS: h(3), Cause: "temp",
		Top: []telemetry.Contribution{{Sensor: "flow", Share: 0.6}, {Sensor: "temp", Share: 0.4}}}
	s := Summarize(truth, []telemetry.Alert{a}, t0, h(8), time.Hour)
	for _, e := range s.Episodes {
		if got, want := e.Detected, e.Sensor == "temp"; got != want {
			t.Errorf("%s on %s: detected %v, want %v (the alert's cause is temp, its top share flow)", e.Kind, e.Sensor, got, want)
		}
	}
}
