package trainer_test

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/scoring"
	"github.com/faultline/faultline/internal/trainer"
)

// movedPlant is a minute-sampled machine whose three sensors follow one load; from
// minute shiftAt it runs at another operating point (the load's mean up by shift),
// and from minute faultAt sensor c leaves its relation to the load, by 0.5 more each
// hour.
func movedPlant(n, shiftAt int, shift float64, faultAt int, seed uint64) trainer.Series {
	rng := rand.New(rand.NewPCG(seed, 11))
	s := trainer.Series{Asset: "m"}
	for i := range n {
		load := 1 + 0.3*math.Sin(2*math.Pi*float64(i)/1440) + 0.05*rng.NormFloat64()
		if i >= shiftAt {
			load += shift
		}
		c := 3*load + 0.1*rng.NormFloat64()
		if i >= faultAt {
			c += 0.5 * float64(i-faultAt) / 60
		}
		s.T = append(s.T, float64(1_700_000_000+60*i))
		s.Rows = append(s.Rows, []float64{load + 0.05*rng.NormFloat64(), 2*load + 0.1*rng.NormFloat64(), c})
	}
	return s
}

// movedStream trains with o on train (sensors a, b, c) and returns a fresh scoring
// stream of the model.
func movedStream(t *testing.T, o trainer.Options, train trainer.Series) *scoring.Stream {
	t.Helper()
	d := trainer.Data{Columns: []string{"a", "b", "c"}, Series: []trainer.Series{train}}
	m, _, err := trainer.Fit(context.Background(), d, o)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scoring.New(m)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sc.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// raises scores s with m's default stream and returns the minutes of raised alerts.
func raises(t *testing.T, o trainer.Options, train, s trainer.Series) []int {
	t.Helper()
	st := movedStream(t, o, train)
	var out []int
	for i, row := range s.Rows {
		r, ok, err := st.Push(time.Unix(int64(s.T[i]), 0), row)
		if err != nil {
			t.Fatal(err)
		}
		if ok && r.Event.Transition == alerting.Raised {
			out = append(out, i)
		}
	}
	return out
}

// Trained on three days, a machine that moves to another operating point for good
// alarms for weeks without the baseline; with it (the default) the alarms stop
// within days, and a fault in the fourth week is still caught within hours.
func TestBaselineFollowsAMovedPlantAndStillCatchesAFault(t *testing.T) {
	const day = 1440
	train := movedPlant(3*day, math.MaxInt, 0, math.MaxInt, 1)
	live := movedPlant(28*day, 2*day, 0.25, 25*day, 2)
	healthy := func(r []int) (late, fault int) {
		fault = -1
		for _, m := range r {
			switch {
			case m >= 25*day && fault < 0:
				fault = m - 25*day
			case m >= 9*day && m < 25*day: // a week after the move
				late++
			}
		}
		return late, fault
	}
	offLate, _ := healthy(raises(t, trainer.Options{Seed: 1, BaselineHalfLife: -1}, train, live))
	onLate, onFault := healthy(raises(t, trainer.Options{Seed: 1}, train, live))
	t.Logf("raises in days 9-25 after the move: %d without the baseline, %d with it; fault caught after %d min", offLate, onLate, onFault)
	if offLate < 3 {
		t.Fatalf("without the baseline the moved plant raised %d alerts in days 9-25: the test plant does not move enough", offLate)
	}
	if onLate > 1 {
		t.Fatalf("with the baseline the moved plant still raised %d alerts in days 9-25, want at most 1", onLate)
	}
	if onFault < 0 || onFault > 6*60 {
		t.Fatalf("the fault on day 25 was caught after %d min, want within 6 h", onFault)
	}
}

// The default detector gets a baseline; the networks (declared context) and a
// negative half-life do not, and an out-of-range half-life is refused.
func TestBaselineDefaults(t *testing.T) {
	d := trainer.Data{Columns: []string{"load", "current", "temp"}, Series: []trainer.Series{synth(2000, 1, 0, 0)}}
	for _, c := range []struct {
		o    trainer.Options
		want bool
	}{
		{trainer.Options{Seed: 1}, true},
		{trainer.Options{Seed: 1, BaselineHalfLife: -time.Second}, false},
		{trainer.Options{Seed: 1, Epochs: 5, Context: []string{"load"}}, false},
		{trainer.Options{Seed: 1, Epochs: 5, Context: []string{"load"}, BaselineHalfLife: 48 * time.Hour}, true},
	} {
		m, _, err := trainer.Fit(context.Background(), d, c.o)
		if err != nil {
			t.Fatal(err)
		}
		if (m.Baseline != nil) != c.want {
			t.Errorf("options %+v: baseline %v, want %v", c.o, m.Baseline != nil, c.want)
		}
	}
	// Under a day the decaying history never holds the 12 h warm-up: refused, not
	// silently never on.
	if err := (trainer.Options{BaselineHalfLife: 12 * time.Hour}).Validate(); err == nil {
		t.Error("a 12 h half-life was accepted")
	}
	if err := (trainer.Options{BaselineHalfLife: trainer.MinBaselineHalfLife}).Validate(); err != nil {
		t.Errorf("the minimum half-life was refused: %v", err)
	}
	lk := &artifact.Likelihood{Short: 5, Long: 100, MinHistory: 10, MinStd: 0.05}
	if err := (trainer.Options{BaselineHalfLife: 48 * time.Hour, Likelihood: lk}).Validate(); err == nil {
		t.Error("a baseline with the likelihood score was accepted (it would be dropped silently)")
	}
}

// Days of a stuck transmitter are a sensor fault, not a new normal: the baseline does
// not learn them, so a process fault after them is caught as fast as without them.
func TestBaselineDoesNotLearnAStuckSensor(t *testing.T) {
	const day = 1440
	train := movedPlant(3*day, math.MaxInt, 0, math.MaxInt, 1)
	live := movedPlant(12*day, math.MaxInt, 0, 10*day, 3)
	stuck := live.Rows[4*day][2]
	for i := 4 * day; i < 8*day; i++ {
		live.Rows[i][2] = stuck
	}
	st := movedStream(t, trainer.Options{Seed: 1}, train)
	factor, caught := -1.0, -1
	for i, row := range live.Rows {
		r, ok, err := st.Push(time.Unix(int64(live.T[i]), 0), row)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			continue
		}
		if i == 10*day {
			factor = r.Baseline
		}
		if i >= 10*day && caught < 0 && r.Event.Transition == alerting.Raised {
			caught = i - 10*day
		}
	}
	t.Logf("factor %.2f when the fault starts, caught after %d min", factor, caught)
	if factor < 0 {
		t.Fatal("the window at the fault's start was not scored")
	}
	if factor > 1.3 {
		t.Fatalf("factor %.2f after four days of a stuck sensor: the baseline learned the sensor fault", factor)
	}
	if caught < 0 || caught > 90 {
		t.Fatalf("process fault after the stuck period caught after %d min, want within 90", caught)
	}
}

// noiseSeries is a five-minute-sampled sensor of AR(1) noise around 50 (unit spread,
// a correlation time of a few samples); from row faultAt on a fault adds step, or
// with ramp > 0 ramp units an hour.
func noiseSeries(n int, seed uint64, faultAt int, step, ramp float64) trainer.Series {
	rng := rand.New(rand.NewPCG(seed, 21))
	s := trainer.Series{Asset: "m"}
	x := 0.0
	for i := range n {
		x = 0.8*x + 0.6*rng.NormFloat64()
		v := 50 + x
		if i >= faultAt {
			v += step + ramp*float64(i-faultAt)/12
		}
		s.T = append(s.T, float64(1_700_000_000+300*i))
		s.Rows = append(s.Rows, []float64{v})
	}
	return s
}

// Stationary noise, trained on NAB's 750 rows (2.6 days) with the defaults: over 20
// weeks of fresh noise, pooled over twelve trainings, the stated 0.25 false alarms a
// week became 0.90 without the tail rule (the held-out block is too short for the
// tail model to see the noise's real tail) and 0.65 with it (the rule allows twice the
// stated rate, and its own exponential model from the upper fifth still understates
// this statistic's far tail). A step of four spreads and a ramp of one spread an hour
// are caught as fast as without the rule (measured 3 and 33 rows: within the hour and
// within four hours).
func TestBaselineHoldsStationaryNoiseToTheStatedRate(t *testing.T) {
	const week = 7 * 24 * 12
	run := func(m *artifact.Model, s trainer.Series, from int) (raises, first int) {
		sc, err := scoring.New(m)
		if err != nil {
			t.Fatal(err)
		}
		st, err := sc.NewStream()
		if err != nil {
			t.Fatal(err)
		}
		first = -1
		for i, row := range s.Rows {
			r, ok, err := st.Push(time.Unix(int64(s.T[i]), 0), row)
			if err != nil {
				t.Fatal(err)
			}
			if ok && r.Event.Transition == alerting.Raised && i >= from {
				raises++
				if first < 0 {
					first = i - from
				}
			}
		}
		return raises, first
	}
	live := noiseSeries(21*week, 99, math.MaxInt, 0, 0)
	var on, off int
	for seed := uint64(1); seed <= 12; seed++ {
		d := trainer.Data{Columns: []string{"v"}, Series: []trainer.Series{noiseSeries(750, seed, math.MaxInt, 0, 0)}}
		m, _, err := trainer.Fit(context.Background(), d, trainer.Options{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if want := 2 * 0.25 * 300 / (7 * 24 * 3600); m.Baseline == nil || math.Abs(m.Baseline.TailRate-want) > 1e-12 {
			t.Fatalf("baseline %+v, want a tail rate of %g (twice the stated rate per window)", m.Baseline, want)
		}
		noTail := *m
		b := *m.Baseline
		b.TailRate = 0
		noTail.Baseline = &b
		n, _ := run(m, live, week)
		o, _ := run(&noTail, live, week)
		on, off = on+n, off+o
		if seed != 2 {
			continue
		}
		for _, f := range []struct {
			name       string
			step, ramp float64
			within     int
		}{{"step of 4", 4, 0, 12}, {"ramp of 1 an hour", 0, 1, 48}} {
			s := noiseSeries(3*week, 3, 2*week, f.step, f.ramp)
			_, first := run(m, s, 2*week)
			_, plain := run(&noTail, s, 2*week)
			t.Logf("%s: caught after %d rows (%d without the tail rule)", f.name, first, plain)
			if first < 0 || first > f.within || first > plain+1 {
				t.Errorf("%s: caught after %d rows, %d without the tail rule; want within %d rows and as fast", f.name, first, plain, f.within)
			}
		}
	}
	perWeek := func(n int) float64 { return float64(n) / (12 * 20) }
	t.Logf("stationary noise, twelve trainings, weeks 2-21: %.2f raises a week with the tail rule, %.2f without", perWeek(on), perWeek(off))
	if perWeek(on) > 3*0.25 || perWeek(on) < 0.25/2 {
		t.Errorf("%.2f raises a week on stationary noise, want the stated 0.25 within a factor of three above or two below", perWeek(on))
	}
	if 5*off < 6*on {
		t.Errorf("without the tail rule %d raises, with it %d: want a fifth fewer at least", off, on)
	}
}

// A model whose baseline holds a tail rate, or whose sensor checks hold reversal
// limits, is written as format 6 (an older daemon would drop the field and score it
// as format 4) and reads back with it; without both it stays format 4, the bytes
// older daemons read.
func TestBaselineTailRateFormat(t *testing.T) {
	d := trainer.Data{Columns: []string{"v"}, Series: []trainer.Series{noiseSeries(750, 1, math.MaxInt, 0, 0)}}
	m, _, err := trainer.Fit(context.Background(), d, trainer.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "FAULTLINE-MODEL 6 ") {
		t.Fatalf("header %q, want format 6", strings.SplitN(buf.String(), "\n", 2)[0])
	}
	back, err := artifact.Decode(&buf)
	if err != nil || back.Baseline == nil || back.Baseline.TailRate != m.Baseline.TailRate {
		t.Fatalf("decoded baseline %+v (%v), want tail rate %v", back.Baseline, err, m.Baseline.TailRate)
	}
	// The sensor checks' reversal limit is format 6 too.
	m.Baseline.TailRate = 0
	buf.Reset()
	if err := m.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "FAULTLINE-MODEL 6 ") || !strings.Contains(buf.String(), "max_reversal") {
		t.Fatalf("with max_reversal alone: header %q, want format 6", strings.SplitN(buf.String(), "\n", 2)[0])
	}
	m.SensorCheck.MaxReversal = nil
	buf.Reset()
	if err := m.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "FAULTLINE-MODEL 4 ") || strings.Contains(buf.String(), "tail_rate") || strings.Contains(buf.String(), "max_reversal") {
		t.Fatalf("without a tail rate: header %q, want format 4 and no tail_rate", strings.SplitN(buf.String(), "\n", 2)[0])
	}
	m.Baseline.TailRate = 1
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), "tail_rate") {
		t.Fatalf("tail rate 1: %v, want refused by name", err)
	}
}
