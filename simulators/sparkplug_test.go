package simulators

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

// TestSparkplugMatchesJSON: the same plant published as JSON and as Sparkplug B, the
// Sparkplug messages decoded by Faultline's decoder, gives the same machines, times and
// values; a rebirth request makes the next messages BIRTH certificates again.
func TestSparkplugMatchesJSON(t *testing.T) {
	run := func(sp bool) *recorder {
		p := newPlant(t, func(c *Config) { c.Machines, c.MachinesPerLine, c.Rate = 5, 3, 1 })
		rec := &recorder{keep: true}
		opt := RunOptions{Topics: telemetry.MustTopics(""), Duration: 2 * time.Minute}
		if sp {
			edges := NewSparkplugEdges(p.Machines(), 3)
			if len(edges.Lines()) != 2 {
				t.Fatalf("lines %v, want 2 edge nodes for 5 machines at 3 a line", edges.Lines())
			}
			opt.Sparkplug = edges
			// A rebirth request while running: sent in from another goroutine, as the
			// MQTT client does.
			go edges.HandleCommand(edges.Lines()[0], telemetry.RebirthPayload(time.Now()))
		}
		if err := p.Run(context.Background(), rec, opt); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	want := valuesOf(t, run(false).msgs, false)
	rec := run(true)
	got := valuesOf(t, rec.msgs, true)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Fatalf("Sparkplug gave %d values, JSON %d; first differences: %v", len(got), len(want), firstDiff(got, want))
	}
	births := 0
	for _, m := range rec.msgs {
		if t, err := telemetry.ParseSparkplugTopic(m.topic); err == nil && t.Type == telemetry.SPNBirth {
			births++
		}
	}
	if births < 2 {
		t.Fatalf("%d NBIRTH messages, want one per line", births)
	}
}

// valuesOf decodes recorded telemetry into sorted "machine sensor@ms=value" lines.
func valuesOf(t *testing.T, msgs []message, sp bool) []string {
	t.Helper()
	var out []string
	add := func(m telemetry.Machine, s telemetry.Sample) {
		for _, v := range s.Values {
			out = append(out, fmt.Sprintf("%s %s@%d=%g", m.Key(), v.Sensor, s.Time.UnixMilli(), v.V))
		}
	}
	topics := telemetry.MustTopics("")
	lim := telemetry.DefaultLimits()
	dec, _ := telemetry.NewSparkplugDecoder(telemetry.DefaultSparkplugConfig(), lim)
	var r telemetry.SparkplugResult
	for _, m := range msgs {
		if !sp {
			tp, err := topics.Parse(m.topic)
			if err != nil || tp.Kind != telemetry.KindTelemetry {
				continue
			}
			ss, _, err := telemetry.DecodeTelemetry(m.payload, lim, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range ss {
				add(tp.Machine, s)
			}
			continue
		}
		if !telemetry.IsSparkplugTopic(m.topic) {
			continue
		}
		if err := dec.Decode(&r, m.topic, m.payload, time.Now()); err != nil || len(r.Rejected) > 0 || r.Rebirth.Topic != "" {
			t.Fatalf("%s: %v, rejected %v, rebirth %q", m.topic, err, r.Rejected, r.Rebirth.Topic)
		}
		for _, s := range r.Samples {
			add(s.Machine, s.Sample)
		}
	}
	sort.Strings(out)
	return out
}

func firstDiff(a, b []string) []string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return []string{a[i], b[i]}
		}
	}
	return nil
}
