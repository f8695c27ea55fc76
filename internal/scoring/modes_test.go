package scoring

import (
	"math"
	"testing"

	"github.com/faultline/faultline/internal/artifact"
)

// Hand-checked: constant raw scores give z = 0; a jump to 2 after a history of 1s has
// spread 0, floored at MinStd 0.1, so z = (2-1)/0.1 = 10 with Short 1.
func TestLikelihoodArithmetic(t *testing.T) {
	l := newLikelihood(&artifact.Likelihood{Short: 1, Long: 4, MinHistory: 2, MinStd: 0.1})
	for i := 0; i < 6; i++ {
		if z := l.score(1); z != 0 {
			t.Fatalf("step %d: z %v for a constant score", i, z)
		}
	}
	if z := l.score(2); math.Abs(z-10) > 1e-9 {
		t.Fatalf("z %v, want 10", z)
	}
	// Long history [1 1 1 2]: mean 1.25, sd sqrt(0.1875); Short 1 -> z of 3.
	want := (3 - 1.25) / math.Sqrt(0.1875)
	if z := l.score(3); math.Abs(z-want) > 1e-9 {
		t.Fatalf("z %v, want %v", z, want)
	}
	l.reset()
	if z := l.score(50); z != 0 {
		t.Fatalf("after reset z %v, want 0 (warm-up)", z)
	}
}

// The forecaster pairs row n's actual mean of h rows with the prediction of row n-h.
func TestForecasterAlignment(t *testing.T) {
	m := &artifact.Model{Modes: artifact.Modes{Forecast: 2}, Targets: []string{"v"}}
	m.Spec.Sensors = []string{"v"}
	f := newForecaster(m)
	ok := []bool{}
	for n := int64(0); n < 5; n++ {
		f.observe(n, []float64{float64(n)})
		ok = append(ok, f.record(n, []float64{10 * float64(n)}))
	}
	if ok[0] || ok[1] || !ok[4] {
		t.Fatalf("ready %v, want false until row 2", ok)
	}
	// Row 4: actual = mean(rows 3, 4) = 3.5, expected = prediction of row 2 = 20.
	if f.actual[0] != 3.5 || f.expects[0] != 20 {
		t.Fatalf("actual %v expects %v, want 3.5 and 20", f.actual, f.expects)
	}
	f.reset()
	f.observe(5, []float64{5})
	if f.record(5, []float64{50}) {
		t.Fatal("scored right after a reset")
	}
	f.observe(6, []float64{math.NaN()})
	f.observe(7, []float64{7})
	f.record(6, []float64{60})
	if f.record(7, []float64{70}) {
		t.Fatal("row 7 scored though row 6 is missing")
	}
	f.observe(8, []float64{8})
	if !f.record(8, []float64{80}) || f.actual[0] != 7.5 || f.expects[0] != 60 {
		t.Fatalf("row 8: actual %v expects %v, want 7.5 and 60", f.actual, f.expects)
	}
}
