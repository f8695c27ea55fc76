package infer

import (
	"sort"
	"strconv"
	"strings"

	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/scoring"
	"github.com/faultline/faultline/internal/telemetry"
)

// TopN is how many contributing sensors an alert names.
const TopN = 3

// AlertID is stable for one alert episode of a machine and kind, so receivers can
// merge raised/updated/cleared and drop duplicates of an at-least-once delivery.
func AlertID(m telemetry.Machine, kind string, ev alerting.Event) string {
	return m.Key() + "/" + kind + "/" + strconv.FormatInt(ev.StartedAt.UnixMilli(), 10)
}

// alertKind is the alert kind a model raises.
func alertKind(a *artifact.Model) string {
	if a.Task == artifact.TaskRUL {
		return telemetry.AlertRUL
	}
	return telemetry.AlertAnomaly
}

// BuildAlert turns a scoring result carrying a transition into the contract's payload.
func BuildAlert(m telemetry.Machine, a *artifact.Model, r *scoring.Result) telemetry.Alert {
	kind := alertKind(a)
	ev := r.Event
	al := telemetry.Alert{
		ID: AlertID(m, kind, ev), Site: m.Site, Line: m.Line, Machine: m.Machine,
		Kind: kind, State: stateName(ev.Transition), Reason: ev.Reason.String(), Severity: ev.Severity.String(),
		Score: r.Score, Threshold: r.Threshold, StartedAt: ev.StartedAt.UTC(), TS: r.Time.UTC(),
		Model: a.Name, ModelVersion: a.Version,
	}
	if kind == telemetry.AlertRUL {
		rul := r.RUL
		al.RUL = &rul
		if a.Band != nil {
			lo, hi := r.RULLo, r.RULHi
			al.RULLo, al.RULHi = &lo, &hi
		}
	} else {
		al.Top = TopSensors(a.Targets, r.Shares, TopN)
		if r.Baseline > 1 && r.SensorIssue == "" {
			// A sensor fault's level is not divided: the moved normal is no part of it.
			al.Baseline = r.Baseline
		}
		if ev.Transition != alerting.Cleared {
			al.Cause = causeName(a.Targets, r.Cause)
			al.Fault, al.Issue = telemetry.FaultProcess, r.SensorIssue
			if r.SensorIssue != "" {
				// The faulty sensor may be a context sensor, which has no share.
				name := a.Spec.Sensors[r.IssueSensor]
				al.Fault, al.Cause = telemetry.FaultSensor, name
				al.Top = []telemetry.Contribution{{Sensor: name, Share: 1}}
			}
		}
	}
	al.Message = Message(al)
	return al
}

// causeName is the target scoring.Result.Cause indexes, "" for none (-1).
func causeName(targets []string, k int) string {
	if k < 0 || k >= len(targets) {
		return ""
	}
	return targets[k]
}

func stateName(t alerting.Transition) string {
	switch t {
	case alerting.Raised:
		return telemetry.StateRaised
	case alerting.Cleared:
		return telemetry.StateCleared
	}
	return telemetry.StateUpdated
}

// TopSensors returns the n largest shares, largest first (ties by name for a stable
// order). Zero shares are left out.
func TopSensors(names []string, shares []float64, n int) []telemetry.Contribution {
	out := make([]telemetry.Contribution, 0, len(shares))
	for i, s := range shares {
		if s > 0 && i < len(names) {
			out = append(out, telemetry.Contribution{Sensor: names[i], Share: s})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Share != out[j].Share {
			return out[i].Share > out[j].Share
		}
		return out[i].Sensor < out[j].Sensor
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// Message is the human-readable summary, e.g.
// "pump-0003: anomaly warning, score 2.4 (threshold 1.0); top sensors: bearing_temp 61%, vib_rms 30%".
func Message(a telemetry.Alert) string {
	var b strings.Builder
	b.WriteString(a.Machine)
	b.WriteString(": ")
	b.WriteString(a.Kind)
	b.WriteByte(' ')
	if a.State == telemetry.StateCleared {
		b.WriteString("cleared")
	} else {
		b.WriteString(a.Severity)
		if a.State == telemetry.StateUpdated {
			b.WriteString(" (updated")
			if a.Reason == telemetry.ReasonNewCause && a.Cause != "" {
				b.WriteString(": new cause ")
				b.WriteString(a.Cause)
			}
			b.WriteByte(')')
		}
	}
	if a.RUL != nil {
		b.WriteString(", predicted RUL ")
		b.WriteString(num(*a.RUL))
		if a.RULLo != nil && a.RULHi != nil {
			b.WriteString(" (")
			b.WriteString(num(*a.RULLo))
			b.WriteString(" to ")
			b.WriteString(num(*a.RULHi))
			b.WriteByte(')')
		}
	} else {
		b.WriteString(", score ")
		b.WriteString(num(a.Score))
	}
	b.WriteString(" (threshold ")
	b.WriteString(num(a.Threshold))
	if a.Baseline > 1 {
		b.WriteString(", against a normal moved x")
		b.WriteString(num(a.Baseline))
	}
	b.WriteByte(')')
	if len(a.Top) > 0 {
		b.WriteString("; top sensors: ")
		b.WriteString(FormatTop(a.Top))
	}
	if a.Fault == telemetry.FaultSensor && len(a.Top) > 0 {
		b.WriteString("; sensor fault: ")
		b.WriteString(a.Top[0].Sensor)
		b.WriteByte(' ')
		b.WriteString(a.Issue)
	}
	return b.String()
}

// FormatTop renders contributions as "bearing_temp 61%, vib_rms 30%".
func FormatTop(top []telemetry.Contribution) string {
	parts := make([]string, len(top))
	for i, c := range top {
		parts[i] = c.Sensor + " " + strconv.FormatFloat(100*c.Share, 'f', 0, 64) + "%"
	}
	return strings.Join(parts, ", ")
}

func num(v float64) string {
	if v >= 100 || v <= -100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
