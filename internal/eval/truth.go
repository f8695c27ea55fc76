package eval

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

// Episode is one injected fault on one machine, as the simulator's truth tells it.
type Episode struct {
	Machine   string
	Kind      string
	Sensor    string
	Onset     time.Time
	FailureAt time.Time // zero for faults that do not end the machine's life
	LastSeen  time.Time // last truth record listing the fault
	Detected  bool
	FirstHit  time.Time // first alert raised inside the episode
	Top       string    // top sensor of that alert
	Fault     string    // that alert's fault (telemetry.FaultSensor or FaultProcess), "" if unknown
}

// LifeEnding reports whether the fault ended in a failure.
func (e Episode) LifeEnding() bool { return !e.FailureAt.IsZero() }

// Summary compares alerts with truth.
type Summary struct {
	Episodes      []*Episode
	Failures      int
	Detected      int // failures alerted before they happened
	LeadTimes     []time.Duration
	LeadFractions []float64 // lead time / fault duration
	Other         int       // non-life-ending faults
	OtherDetected int
	FalseAlerts   int
	HealthyDays   float64 // machine-days without an active fault
	Alerts        int
}

// ReadTruth reads the simulator's JSON-lines truth file.
func ReadTruth(r io.Reader) ([]telemetry.Truth, error) {
	var out []telemetry.Truth
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<22)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var t telemetry.Truth
		if err := json.Unmarshal(sc.Bytes(), &t); err != nil {
			return nil, fmt.Errorf("truth line %d: %w", n, err)
		}
		out = append(out, t)
	}
	return out, sc.Err()
}

// ReadTruthFile reads a truth file.
func ReadTruthFile(path string) ([]telemetry.Truth, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open truth %s: %w", path, err)
	}
	defer f.Close()
	return ReadTruth(f)
}

// Summarize matches alerts that announce a problem (raised, or updated with a new
// cause: Alert.Announces) to fault episodes. Such an alert between a fault's onset and
// its failure (or, for faults that do not end the machine's life, while it is active)
// detects it; any other is false. grace extends episodes for alerts
// that outlive the fault's last truth record.
func Summarize(truth []telemetry.Truth, alerts []telemetry.Alert, from, to time.Time, grace time.Duration) Summary {
	eps := map[string]*Episode{}
	machines := map[string]bool{}
	for _, t := range truth {
		machines[t.Machine] = true
		for _, f := range t.Faults {
			key := t.Machine + "|" + f.Kind + "|" + f.Sensor + "|" + f.Onset.String()
			e := eps[key]
			if e == nil {
				e = &Episode{Machine: t.Machine, Kind: f.Kind, Sensor: f.Sensor, Onset: f.Onset}
				eps[key] = e
			}
			if f.FailureAt != nil {
				e.FailureAt = *f.FailureAt
			}
			if t.TS.After(e.LastSeen) {
				e.LastSeen = t.TS
			}
		}
	}
	var s Summary
	for _, e := range eps {
		s.Episodes = append(s.Episodes, e)
	}
	sort.Slice(s.Episodes, func(i, j int) bool {
		a, b := s.Episodes[i], s.Episodes[j]
		if a.Machine != b.Machine {
			return a.Machine < b.Machine
		}
		return a.Onset.Before(b.Onset)
	})
	for _, a := range alerts {
		if !a.Announces() {
			continue
		}
		s.Alerts++
		if hit := match(s.Episodes, a, grace); hit == nil {
			s.FalseAlerts++
		}
	}
	var faultTime time.Duration
	for _, e := range s.Episodes {
		end := e.LastSeen
		if e.LifeEnding() {
			end = e.FailureAt
			s.Failures++
			if e.Detected {
				s.Detected++
				lead := e.FailureAt.Sub(e.FirstHit)
				s.LeadTimes = append(s.LeadTimes, lead)
				if d := e.FailureAt.Sub(e.Onset); d > 0 {
					s.LeadFractions = append(s.LeadFractions, float64(lead)/float64(d))
				}
			}
		} else {
			s.Other++
			if e.Detected {
				s.OtherDetected++
			}
		}
		faultTime += end.Sub(e.Onset)
	}
	total := to.Sub(from) * time.Duration(len(machines))
	s.HealthyDays = (total - faultTime).Hours() / 24
	return s
}

func match(eps []*Episode, a telemetry.Alert, grace time.Duration) *Episode {
	top := a.Cause
	if top == "" && len(a.Top) > 0 {
		top = a.Top[0].Sensor
	}
	// Faults can overlap on one machine. An alert goes to a fault not yet detected,
	// the one on its top sensor first; only when all are detected, to the earliest.
	var first, fresh *Episode
	for _, e := range eps {
		if e.Machine != a.Machine || a.TS.Before(e.Onset) {
			continue
		}
		end := e.LastSeen.Add(grace)
		if e.LifeEnding() {
			end = e.FailureAt
		}
		if a.TS.After(end) {
			continue
		}
		if first == nil {
			first = e
		}
		if !e.Detected && (fresh == nil || e.Sensor == top && fresh.Sensor != top) {
			fresh = e
		}
	}
	if fresh == nil {
		return first
	}
	fresh.Detected, fresh.FirstHit, fresh.Top, fresh.Fault = true, a.TS, top, a.Fault
	return fresh
}

// Print writes the summary table.
func (s Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "\n%-16s %-16s %-22s %-20s %-20s %s\n", "machine", "fault", "onset", "failure", "first alert", "lead / top sensor")
	for _, e := range s.Episodes {
		fail, hit, lead := "-", "missed", ""
		if e.LifeEnding() {
			fail = e.FailureAt.Format("01-02 15:04")
		}
		if e.Detected {
			hit = e.FirstHit.Format("01-02 15:04")
			if e.LifeEnding() {
				lead = fmt.Sprintf("%s before failure", e.FailureAt.Sub(e.FirstHit).Round(time.Minute))
			} else {
				lead = fmt.Sprintf("%s after onset", e.FirstHit.Sub(e.Onset).Round(time.Minute))
			}
			if e.Top != "" {
				lead += " / " + e.Top
			}
		}
		kind := e.Kind
		if e.Sensor != "" {
			kind += ":" + e.Sensor
		}
		fmt.Fprintf(w, "%-16s %-16s %-22s %-20s %-20s %s\n", e.Machine, kind, e.Onset.Format("01-02 15:04"), fail, hit, lead)
	}
	fmt.Fprintf(w, "\nfailures injected: %d, alerted before failure: %d", s.Failures, s.Detected)
	if s.Failures > 0 {
		fmt.Fprintf(w, " (%.0f%%)", 100*float64(s.Detected)/float64(s.Failures))
	}
	if len(s.LeadTimes) > 0 {
		fmt.Fprintf(w, ", median lead time %s (%.0f%% of the fault's duration)", median(s.LeadTimes).Round(time.Minute), 100*medianF(s.LeadFractions))
	}
	fmt.Fprintf(w, "\nother faults injected: %d, alerted: %d\n", s.Other, s.OtherDetected)
	perMonth := 0.0
	if s.HealthyDays > 0 {
		perMonth = float64(s.FalseAlerts) / s.HealthyDays * 30
	}
	fmt.Fprintf(w, "alerts raised or updated with a new cause: %d, false alerts: %d over %.1f healthy machine-days (%.2f per 30 machine-days)\n", s.Alerts, s.FalseAlerts, s.HealthyDays, perMonth)
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func medianF(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}
