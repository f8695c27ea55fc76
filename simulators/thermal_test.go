package simulators

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

// stepLog is one machine's record of a run: true monitored temperature after each
// step, whether the step was published, and its truth records.
type stepLog struct {
	temp      []float64
	published []bool
	truth     []telemetry.Truth
}

func (l *stepLog) record(p *Plant, i int) {
	e := p.Step()[i]
	l.temp = append(l.temp, p.machines[i].th[0])
	l.published = append(l.published, e.Sample.Values != nil)
	l.truth = append(l.truth, e.Truth...)
}

func eventsOf(truth []telemetry.Truth, start time.Time) string {
	var out []string
	for _, tr := range truth {
		if tr.Event != "" {
			out = append(out, tr.Event+"@"+tr.TS.Sub(start).String())
		}
	}
	return strings.Join(out, " ")
}

// TestOverheatingTripsAtLimit: the failure is the first step whose (true) monitored
// temperature reaches the trip limit; before it the truth has no failure time and no
// RUL; the failure record and every record while down carry failure_at = the trip and
// RUL 0; nothing is published from the trip until maintenance.
func TestOverheatingTripsAtLimit(t *testing.T) {
	for _, typ := range Types() {
		t.Run(typ, func(t *testing.T) {
			id := MachineID(typ, 1)
			p := newPlant(t, func(c *Config) {
				c.Machines, c.Types, c.Rate = 1, []string{typ}, 0.1
				c.Schedule = mustSchedule(t, id+"=overheating@30m+2h")
				c.Downtime, c.TruthEvery = time.Hour, 10*time.Minute
			})
			var l stepLog
			for range p.steps(40 * 3600) {
				l.record(p, 0)
			}
			_, limit := TripLimit(typ)
			trip := -1
			for k, v := range l.temp {
				if v >= limit {
					trip = k
					break
				}
			}
			if trip < 0 {
				t.Fatalf("never reached the %.1f degC trip limit in 40 h (max %.1f)", limit, maxOf(l.temp))
			}
			start, failAt := p.cfg.Start, p.Time(int64(trip))
			upAt := failAt.Add(time.Hour)
			want := "fault_onset@30m0s failure@" + failAt.Sub(start).String() + " maintenance@" + upAt.Sub(start).String()
			if got := eventsOf(l.truth, start); !strings.HasPrefix(got, want) {
				t.Fatalf("events %q, want prefix %q", got, want)
			}
			for _, tr := range l.truth {
				checkTripTruth(t, tr, failAt, upAt)
			}
			for k, pub := range l.published {
				at := p.Time(int64(k))
				if silent := !at.Before(failAt) && at.Before(upAt); silent == pub {
					t.Fatalf("step at %s: published=%v, want %v", at.Sub(start), pub, !silent)
				}
			}
		})
	}
}

func checkTripTruth(t *testing.T, tr telemetry.Truth, failAt, upAt time.Time) {
	t.Helper()
	var fa *time.Time
	if len(tr.Faults) == 1 {
		fa = tr.Faults[0].FailureAt
	}
	switch {
	case tr.TS.Before(failAt):
		if tr.RULSeconds != nil || fa != nil || tr.Health <= 0 {
			t.Errorf("%s: before the trip rul %v failure_at %v health %v, want none, none, > 0", tr.TS, tr.RULSeconds, fa, tr.Health)
		}
	case tr.TS.Before(upAt):
		if tr.Health != 0 || tr.RULSeconds == nil || *tr.RULSeconds != 0 || fa == nil || !fa.Equal(failAt) {
			t.Errorf("%s: while down health %v rul %v failure_at %v, want 0, 0, %s", tr.TS, tr.Health, tr.RULSeconds, fa, failAt)
		}
	case tr.TS.Equal(upAt):
		if tr.Health != 1 || tr.RULSeconds != nil || len(tr.Faults) != 0 {
			t.Errorf("%s: maintenance health %v rul %v faults %v", tr.TS, tr.Health, tr.RULSeconds, tr.Faults)
		}
	}
}

func maxOf(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

// TestOverheatingWaitsForLoad: with the cooling lost, a motor held at low load does not
// trip; raised to full load it trips within the hour. A second motor kept at low load
// is repaired at the inspection (onset + 24 h) without ever failing.
func TestOverheatingWaitsForLoad(t *testing.T) {
	p := newPlant(t, func(c *Config) {
		c.Machines, c.Types, c.Rate = 2, []string{TypeMotor}, 1.0/60
		c.Schedule = mustSchedule(t, "motor-0001=overheating@1h+2h,motor-0002=overheating@1h+2h")
	})
	for _, m := range p.machines {
		m.running, m.setSpeed, m.setLoad, m.segEnd = true, 0.6, 0.35, math.MaxInt64
	}
	var a, b stepLog
	step := func() {
		a.record(p, 0)
		b.temp = append(b.temp, p.machines[1].th[0])
		b.truth = append(b.truth, p.emit[1].Truth...)
	}
	for range p.steps(20 * 3600) {
		step()
	}
	if ev := eventsOf(a.truth, p.cfg.Start); ev != "fault_onset@1h0m0s" {
		t.Fatalf("20 h at low load: events %q, want only the onset (max winding %.1f degC)", ev, maxOf(a.temp))
	}
	low := maxOf(a.temp)
	if base := a.temp[p.steps(3600)-1]; low-base < 10 {
		t.Errorf("cooling loss raised the winding by %.1f K at low load, want a visible rise >= 10 K", low-base)
	}
	p.machines[0].setSpeed, p.machines[0].setLoad = 1, 0.95
	raised := p.Time(p.k)
	for range p.steps(6 * 3600) {
		step()
	}
	_, limit := TripLimit(TypeMotor)
	var failAt time.Time
	for _, tr := range a.truth {
		if tr.Event == EventFailure {
			failAt = *tr.Faults[0].FailureAt
		}
	}
	if failAt.IsZero() || failAt.Sub(raised) > time.Hour {
		t.Fatalf("raised to full load at %s: failure at %v, want within the hour (limit %.1f, max %.1f)", raised, failAt, limit, maxOf(a.temp))
	}
	want := "fault_onset@1h0m0s maintenance@25h0m0s"
	if ev := eventsOf(b.truth, p.cfg.Start); ev != want {
		t.Errorf("motor kept at low load: events %q, want %q", ev, want)
	}
	for _, tr := range b.truth {
		if tr.RULSeconds != nil || len(tr.Faults) > 0 && tr.Faults[0].FailureAt != nil {
			t.Fatalf("%s: untripped fault has rul %v faults %+v", tr.TS, tr.RULSeconds, tr.Faults)
		}
	}
}

// TestRatedTemperatures: the documented rated temperatures are the physics' steady
// state at rated speed and load with a 20 degC ambient.
func TestRatedTemperatures(t *testing.T) {
	for _, typ := range []string{TypePump, TypeMotor} {
		p, m := testMachine(t, typ)
		m.setLoad, m.amb, m.th = 1, 20, [2]float64{20, 20}
		sensor, limit := TripLimit(typ)
		got := settle(p, m, 6*3600, 10, sensorIndex(m.spec, sensor))
		if rated := limit - tripMargin; math.Abs(got-rated) > 0.5 {
			t.Errorf("%s: %s settles at %.2f degC, documented rated %.2f", typ, sensor, got, rated)
		}
	}
	if s, l := TripLimit("boiler"); s != "" || !math.IsNaN(l) {
		t.Errorf("unknown type: %q %v", s, l)
	}
}
