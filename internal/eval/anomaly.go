package eval

import "fmt"

// PointMetrics are row-by-row counts of alert flags against labels.
type PointMetrics struct {
	TP, FP, TN, FN int
	Precision      float64 `json:"precision"`
	Recall         float64 `json:"recall"`
	F1             float64 `json:"f1"`
	FalseAlarmRate float64 `json:"false_alarm_rate"`  // FP / (FP + TN)
	MissedRate     float64 `json:"missed_alarm_rate"` // FN / (FN + TP)
}

// Pointwise compares per-row alert flags with per-row labels (true = anomalous).
// Undefined ratios (no positives, say) are 0, and documented as such in reports.
func Pointwise(labels, alerts []bool) (PointMetrics, error) {
	if len(labels) != len(alerts) {
		return PointMetrics{}, fmt.Errorf("pointwise metrics: %d labels for %d alert flags", len(labels), len(alerts))
	}
	var m PointMetrics
	for i, l := range labels {
		switch a := alerts[i]; {
		case l && a:
			m.TP++
		case !l && a:
			m.FP++
		case l && !a:
			m.FN++
		default:
			m.TN++
		}
	}
	m.Precision = ratio(m.TP, m.TP+m.FP)
	m.Recall = ratio(m.TP, m.TP+m.FN)
	if m.Precision+m.Recall > 0 {
		m.F1 = 2 * m.Precision * m.Recall / (m.Precision + m.Recall)
	}
	m.FalseAlarmRate = ratio(m.FP, m.FP+m.TN)
	m.MissedRate = ratio(m.FN, m.FN+m.TP)
	return m, nil
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Span is a closed interval of row indexes [Start, End].
type Span struct{ Start, End int }

// Spans turns per-row labels into the runs of consecutive true rows.
func Spans(labels []bool) []Span {
	var out []Span
	for i, l := range labels {
		switch {
		case l && (i == 0 || !labels[i-1]):
			out = append(out, Span{i, i})
		case l:
			out[len(out)-1].End = i
		}
	}
	return out
}

// EventMetrics judge alerts as operators see them: was each event (a labelled span,
// ending in a failure or the end of the anomaly) warned of, how long before its end,
// and how many alerts were raised outside every event.
type EventMetrics struct {
	Events   int `json:"events"`
	Detected int `json:"detected"`
	// DetectedOpen counts the detected events with no raise of their own: an alert
	// raised before was still open (see Events).
	DetectedOpen int       `json:"detected_by_open_alert"`
	Alerts       int       `json:"alerts"`       // alert raises in total
	FalseAlerts  int       `json:"false_alerts"` // raises outside every event (and its lead allowance)
	LeadTimes    []float64 `json:"lead_times"`   // per detected event: time from the first raise to the event end
	MeanLead     float64   `json:"mean_lead"`
	MachineDays  float64   `json:"machine_days"`
	FalsePerDay  float64   `json:"false_alerts_per_machine_day"`
}

// Events scores alert raises (row indexes, ascending) against labelled spans. A raise
// counts for an event when it falls in [Start-early, End]: early rows of allowance
// let a predictive alert shortly before the labelled start count. times[i] is row i's
// time in seconds; days is the observed machine-days (0 derives it from times).
//
// active (optional, one flag a row) marks rows with an alert open: an event during
// which an alert raised earlier is still open, and none is raised, counts as detected
// (DetectedOpen) from its first open row; the earlier raise still counts as false when
// it falls outside every event (nothing was wrong when it was raised).
func Events(spans []Span, raises []int, active []bool, times []float64, early int, days float64) (EventMetrics, error) {
	m := EventMetrics{Events: len(spans), Alerts: len(raises)}
	for _, r := range raises {
		if r < 0 || r >= len(times) {
			return EventMetrics{}, fmt.Errorf("event metrics: raise at row %d outside %d rows", r, len(times))
		}
	}
	used := make([]bool, len(raises))
	var leadSum float64
	for _, s := range spans {
		if s.End >= len(times) || s.Start < 0 || s.Start > s.End {
			return EventMetrics{}, fmt.Errorf("event metrics: span [%d, %d] outside %d rows", s.Start, s.End, len(times))
		}
		first := -1
		for k, r := range raises {
			if r >= s.Start-early && r <= s.End {
				used[k] = true
				if first < 0 {
					first = r
				}
			}
		}
		if first < 0 && len(active) == len(times) {
			for i := max(0, s.Start-early); i <= s.End; i++ {
				if active[i] {
					first = i
					m.DetectedOpen++
					break
				}
			}
		}
		if first >= 0 {
			m.Detected++
			lead := times[s.End] - times[first]
			m.LeadTimes = append(m.LeadTimes, lead)
			leadSum += lead
		}
	}
	for _, u := range used {
		if !u {
			m.FalseAlerts++
		}
	}
	if m.Detected > 0 {
		m.MeanLead = leadSum / float64(m.Detected)
	}
	m.MachineDays = days
	if days <= 0 && len(times) > 1 {
		m.MachineDays = (times[len(times)-1] - times[0]) / 86400
	}
	if m.MachineDays > 0 {
		m.FalsePerDay = float64(m.FalseAlerts) / m.MachineDays
	} else {
		m.FalsePerDay = 0 // no observed time: undefined, reported as 0
	}
	return m, nil
}
