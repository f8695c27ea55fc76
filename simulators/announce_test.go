package simulators

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

// A motor whose bearing wears from 30 min (failure at 4 h 30) gets an imbalance at
// 1 h, repaired at 2 h: that repair leaves the wear active and is not announced (the
// machine is not new); the replacement after the failure leaves no fault and is. Run
// publishes on .../maintenance exactly the records Announced takes, at their times.
func TestAnnouncedRepairLeavingAFault(t *testing.T) {
	p := newPlant(t, func(c *Config) {
		c.Machines, c.Types = 1, []string{TypeMotor}
		c.Schedule = mustSchedule(t, "motor-0001=bearing_wear@30m+4h,motor-0001=imbalance@1h+1h")
		c.Downtime = time.Hour
	})
	var tb bytes.Buffer
	rec := &recorder{keep: true}
	tp := telemetry.MustTopics("")
	if err := p.Run(context.Background(), rec, RunOptions{Topics: tp, Truth: &tb, Duration: 7 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	start := p.cfg.Start
	var events, announced []string
	for _, line := range bytes.Split(bytes.TrimSpace(tb.Bytes()), []byte("\n")) {
		var tr telemetry.Truth
		if err := json.Unmarshal(line, &tr); err != nil {
			t.Fatal(err)
		}
		if tr.Event == "" {
			continue
		}
		ev := tr.Event + "@" + tr.TS.Sub(start).String()
		if tr.Event == EventMaintenance {
			ev += "/" + faultKinds(tr.Faults)
		}
		events = append(events, ev)
		if Announced(tr) {
			announced = append(announced, tr.TS.Sub(start).String())
		}
	}
	wantEvents := "fault_onset@30m0s fault_onset@1h0m0s maintenance@2h0m0s/bearing_wear failure@4h30m0s maintenance@5h30m0s/"
	if got := strings.Join(events, " "); got != wantEvents {
		t.Fatalf("events %q, want %q", got, wantEvents)
	}
	if got := strings.Join(announced, " "); got != "5h30m0s" {
		t.Fatalf("announced %q, want only the replacement after the failure (5h30m0s)", got)
	}
	var sent []string
	for _, m := range rec.msgs {
		if tpc, err := tp.Parse(m.topic); err == nil && tpc.Kind == telemetry.KindMaintenance {
			mt, err := telemetry.DecodeMaintenance(m.payload)
			if err != nil {
				t.Fatal(err)
			}
			sent = append(sent, mt.TS.Sub(start).String())
		}
	}
	if got := strings.Join(sent, " "); got != "5h30m0s" {
		t.Fatalf("maintenance messages at %q, want the announced work only", got)
	}
}

func TestAnnouncedRule(t *testing.T) {
	wear := []telemetry.Fault{{Kind: telemetry.FaultBearingWear}}
	for _, c := range []struct {
		tr   telemetry.Truth
		want bool
	}{
		{telemetry.Truth{Event: EventMaintenance}, true},                // repair or replacement, nothing left
		{telemetry.Truth{Event: EventMaintenance, Faults: wear}, false}, // the wear goes on
		{telemetry.Truth{Event: EventFailure}, false},
		{telemetry.Truth{Event: EventFaultOnset, Faults: wear}, false},
		{telemetry.Truth{}, false}, // periodic
	} {
		if got := Announced(c.tr); got != c.want {
			t.Errorf("Announced(%+v) = %v, want %v", c.tr, got, c.want)
		}
	}
}

func faultKinds(fs []telemetry.Fault) string {
	var k []string
	for _, f := range fs {
		k = append(k, f.Kind)
	}
	return strings.Join(k, ",")
}
