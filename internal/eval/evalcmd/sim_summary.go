package evalcmd

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/faultline/faultline/internal/eval"
	"github.com/faultline/faultline/internal/telemetry"
	"github.com/faultline/faultline/simulators"
)

// summarize matches alerts with the faulty period's truth through eval.Summarize (what
// `make demo` reports too), prints its per-fault table and adds the per-kind and
// false-alert detail.
func (p *simPlan) summarize(truth []telemetry.Truth, alerts []telemetry.Alert, w io.Writer) (*SimResult, error) {
	from := p.start.Add(p.healthy)
	s := eval.Summarize(truth, alerts, from, from.Add(p.faulty), p.f.grace)
	s.Print(w)
	res := &SimResult{Machines: len(p.machines), Failures: s.Failures, AlertedBefore: s.Detected, Other: s.Other,
		OtherAlerted: s.OtherDetected, Alerts: s.Alerts, FalseAlerts: s.FalseAlerts, HealthyDays: s.HealthyDays,
		Kinds: map[string]SimKind{}}
	if s.Failures > 0 {
		res.AlertedPct = 100 * float64(s.Detected) / float64(s.Failures)
	}
	if len(s.LeadTimes) > 0 {
		res.MedianLeadS = medianOf(durSeconds(s.LeadTimes))
		res.MedianLeadFraction = medianOf(s.LeadFractions)
	}
	for _, e := range s.Episodes {
		res.Episodes = append(res.Episodes, episodeOf(e))
		k := res.Kinds[e.Kind]
		k.Injected++
		if e.Detected {
			k.Alerted++
			want := telemetry.FaultProcess
			if strings.HasPrefix(e.Kind, "sensor_") {
				want = telemetry.FaultSensor
			}
			if e.Fault == want {
				k.RightFault++
			}
		}
		res.Kinds[e.Kind] = k
	}
	restarts := restartTimes(truth)
	res.DownDays = downDays(truth, from.Add(p.faulty))
	res.False = falseAlerts(s.Episodes, alerts, restarts, p.f.grace)
	if days := res.HealthyDays - res.DownDays; days > 0 {
		res.FalsePer30 = float64(s.FalseAlerts) / days * 30
	}
	for _, a := range alerts {
		if a.State == telemetry.StateUpdated && a.Reason == telemetry.ReasonNewCause {
			res.NewCauses++
		}
		if a.State == telemetry.StateRaised {
			res.Raises++
		}
	}
	if det := s.Detected + s.OtherDetected; det > 0 {
		res.RaisesPerDetected = float64(res.Raises-s.FalseAlerts) / float64(det)
	}
	res.Targets = map[string]bool{
		"alerted_before_failure>=95%":  res.AlertedPct >= 95,
		"median_lead_fraction>=0.2":    res.MedianLeadFraction >= 0.2,
		"false_per_30_machine_days<=1": res.FalsePer30 <= 1,
	}
	return res, nil
}

func episodeOf(e *eval.Episode) SimEpisode {
	out := SimEpisode{Machine: e.Machine, Kind: e.Kind, Sensor: e.Sensor, Onset: e.Onset}
	if e.LifeEnding() {
		fa := e.FailureAt
		out.FailureAt = &fa
	}
	if e.Detected {
		hit := e.FirstHit
		out.FirstHit = &hit
		if e.LifeEnding() && e.FailureAt.After(e.Onset) {
			out.LeadFrac = float64(e.FailureAt.Sub(hit)) / float64(e.FailureAt.Sub(e.Onset))
		}
	}
	return out
}

// restartTimes lists, per machine, the maintenance events that end a failure's downtime.
func restartTimes(truth []telemetry.Truth) map[string][]time.Time {
	out := map[string][]time.Time{}
	failed := map[string]bool{}
	for _, t := range truth {
		switch t.Event {
		case simulators.EventFailure:
			failed[t.Machine] = true
		case simulators.EventMaintenance:
			if failed[t.Machine] {
				out[t.Machine] = append(out[t.Machine], t.TS)
				failed[t.Machine] = false
			}
		}
	}
	return out
}

// downDays is the machine-days between failures and their maintenance (or the end):
// eval.Summarize counts that silence as healthy time, though nothing can alert then.
func downDays(truth []telemetry.Truth, end time.Time) float64 {
	var total time.Duration
	down := map[string]time.Time{}
	for _, t := range truth {
		switch {
		case t.Event == simulators.EventFailure:
			down[t.Machine] = t.TS
		case t.Event == simulators.EventMaintenance && !down[t.Machine].IsZero():
			total += t.TS.Sub(down[t.Machine])
			delete(down, t.Machine)
		}
	}
	for _, at := range down {
		total += end.Sub(at)
	}
	return total.Hours() / 24
}

// falseAlerts repeats eval.Summarize's matching rule (an alert inside an episode, a
// life-ending one up to its failure, the others up to their last record + grace) to
// list the alerts it counted as false, with the time since the machine's last restart.
func falseAlerts(eps []*eval.Episode, alerts []telemetry.Alert, restarts map[string][]time.Time, grace time.Duration) []SimFalse {
	var out []SimFalse
	for _, a := range alerts {
		hit := slices.ContainsFunc(eps, func(e *eval.Episode) bool {
			end := e.LastSeen.Add(grace)
			if e.LifeEnding() {
				end = e.FailureAt
			}
			return e.Machine == a.Machine && !a.TS.Before(e.Onset) && !a.TS.After(end)
		})
		if hit {
			continue
		}
		since := -1.0
		for _, r := range restarts[a.Machine] {
			if !r.After(a.TS) {
				since = a.TS.Sub(r).Seconds()
			}
		}
		out = append(out, SimFalse{Machine: a.Machine, TS: a.TS, SinceRestart: since})
	}
	return out
}

func durSeconds(d []time.Duration) []float64 {
	out := make([]float64, len(d))
	for i, v := range d {
		out[i] = v.Seconds()
	}
	return out
}

// medianOf is the upper median, as eval.Summary.Print reports it.
func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	return s[len(s)/2]
}

func flagMap(fs *flag.FlagSet) map[string]string {
	out := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) { out[f.Name] = f.Value.String() })
	return out
}

func printSim(w io.Writer, r *SimResult) {
	kinds := make([]string, 0, len(r.Kinds))
	for k := range r.Kinds {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	fmt.Fprintf(w, "\n%-16s %8s %8s %11s\n", "fault kind", "injected", "alerted", "right fault")
	for _, k := range kinds {
		fmt.Fprintf(w, "%-16s %8d %8d %11d\n", k, r.Kinds[k].Injected, r.Kinds[k].Alerted, r.Kinds[k].RightFault)
	}
	afterRestart := 0
	for _, f := range r.False {
		if f.SinceRestart >= 0 && f.SinceRestart < 6*3600 {
			afterRestart++
		}
	}
	fmt.Fprintf(w, "alerts: %d raised or updated with a new cause (%d of them new-cause updates); %d raises, %.2f per detected fault\n", r.Alerts, r.NewCauses, r.Raises, r.RaisesPerDetected)
	fmt.Fprintf(w, "false alerts within 6 h of a restart after maintenance: %d of %d\n", afterRestart, len(r.False))
	fmt.Fprintf(w, "healthy machine-days %.1f (of which %.1f down after a failure; the rate uses the other %.1f)\n",
		r.HealthyDays, r.DownDays, r.HealthyDays-r.DownDays)
	fmt.Fprintf(w, "failures=%d alerted_before_failure_pct=%.1f median_lead_h=%.1f median_lead_fraction=%.2f other_faults=%d other_alerted=%d false_alerts=%d false_per_30_machine_days=%.2f raises_per_detected=%.2f targets_met=%v\n",
		r.Failures, r.AlertedPct, r.MedianLeadS/3600, r.MedianLeadFraction, r.Other, r.OtherAlerted, r.FalseAlerts, r.FalsePer30, r.RaisesPerDetected, allMet(r.Targets))
}

func allMet(t map[string]bool) bool {
	for _, ok := range t {
		if !ok {
			return false
		}
	}
	return len(t) > 0
}
