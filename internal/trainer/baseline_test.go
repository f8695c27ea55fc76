package trainer_test

import (
	"context"
	"math"
	"math/rand/v2"
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
