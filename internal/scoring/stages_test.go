package scoring

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/artifact"
)

// Reset goes through every stage: a stream that scored, met an outage and was reset
// scores the same rows exactly as a fresh stream does, for models with every optional
// mode (artifact's mode goldens: forecast, likelihood, lagged and weighted level,
// novelty, envelope, monitor, sensor checks, baseline; age, history EWMA, a member,
// padding and a band).
func TestResetEqualsFreshStream(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		file   string
		rows   int
		stages int // row and score stages NewStream builds
		row    func(i int) []float64
	}{
		{"golden-v4-anomaly-modes.model", 1500, 2 + 6, func(i int) []float64 {
			load := math.Sin(float64(i) / 90)
			if i > 900 {
				load += 0.02 * float64(i-900) // a drift the score follows
			}
			v := []float64{load + 0.1*rng.NormFloat64(), 2*load + 0.1*rng.NormFloat64(), 3*load + 0.1*rng.NormFloat64()}
			if i > 1200 && i < 1300 {
				v[1] = 0.5 // stuck
			}
			return v
		}},
		{"golden-v1-rul-modes.model", 150, 1, func(i int) []float64 {
			return []float64{math.Exp(-float64(150-i)/30) + 0.05*rng.NormFloat64(), rng.NormFloat64()}
		}},
	} {
		m, err := artifact.Load(filepath.Join("..", "artifact", "testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		sc, err := New(m)
		if err != nil {
			t.Fatal(err)
		}
		period := time.Duration(m.Period * float64(time.Second))
		rows := make([][]float64, tc.rows)
		at := make([]time.Time, tc.rows)
		t0 := time.Unix(1_800_000_000, 0)
		for i := range rows {
			rows[i] = tc.row(i)
			at[i] = t0.Add(time.Duration(i) * period)
			if i >= tc.rows/3 { // an outage a third of the way in
				at[i] = at[i].Add(time.Duration(m.Spec.MaxFill+5) * period)
			}
		}
		used, _ := sc.NewStream()
		if n := len(used.rowStages) + len(used.scoreStages); n != tc.stages {
			t.Errorf("%s: %d stages, want %d", tc.file, n, tc.stages)
		}
		for i := range rows {
			if _, _, err := used.Push(at[i], rows[i]); err != nil {
				t.Fatal(err)
			}
		}
		used.Reset()
		fresh, _ := sc.NewStream()
		scored := 0
		for i := range rows {
			a, okA, errA := used.Push(at[i], rows[i])
			var ra Result
			if okA {
				ra = *a
			}
			b, okB, errB := fresh.Push(at[i], rows[i])
			if okA != okB || (errA == nil) != (errB == nil) {
				t.Fatalf("%s row %d: ok %v/%v err %v/%v after reset / fresh", tc.file, i, okA, okB, errA, errB)
			}
			if !okA {
				continue
			}
			scored++
			same := func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) }
			if !same(ra.Score, b.Score) || !same(ra.Raw, b.Raw) || !same(ra.RUL, b.RUL) || !same(ra.Baseline, b.Baseline) ||
				ra.Event != b.Event || ra.Cause != b.Cause || ra.SensorIssue != b.SensorIssue {
				t.Fatalf("%s row %d: after reset %+v, fresh %+v", tc.file, i, ra, *b)
			}
		}
		if scored < tc.rows/2 {
			t.Fatalf("%s: only %d of %d rows scored", tc.file, scored, tc.rows)
		}
	}
}
