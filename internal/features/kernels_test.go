package features

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// allScalar selects every scalar feature, in knownFeatures order.
func allScalarSpec(window int, lags ...int) Spec {
	s := DefaultSpec([]string{"x"}, window)
	s.Features = append([]string(nil), knownFeatures...)
	s.EWMAAlpha = 0.5
	s.Lags = lags
	return s
}

// extractOne runs the kernel on a single window and maps outputs by name.
func extractOne(t *testing.T, spec Spec, x []float64) map[string]float64 {
	t.Helper()
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	dst := make([]float64, spec.NumFeatures())
	if !newKernel(spec).compute([][]float64{x}, dst) {
		t.Fatalf("window %v: non-finite output %v", x, dst)
	}
	out := map[string]float64{}
	for i, n := range spec.FeatureNames() {
		out[n] = dst[i]
	}
	return out
}

func TestScalarFeatures(t *testing.T) {
	tests := []struct {
		name string
		x    []float64
		lags []int
		tol  float64
		want map[string]float64
	}{{
		// Hand computed: deviations ±0.5, ±1.5 -> m2 = 5/4, m4 = 10.25/4,
		// kurt = 2.5625/1.5625 - 3; rms = sqrt(30/4); ewma(α=.5) 1,1.5,2.25,3.125.
		name: "ramp 1..4", x: []float64{1, 2, 3, 4}, lags: []int{1, 3}, tol: 1e-15,
		want: map[string]float64{
			"x.last": 4, "x.mean": 2.5, "x.std": math.Sqrt(1.25), "x.min": 1, "x.max": 4,
			"x.ptp": 3, "x.rms": math.Sqrt(7.5), "x.slope": 1, "x.skew": 0, "x.kurt": -1.36,
			"x.crest": 4 / math.Sqrt(7.5), "x.ewma": 3.125, "x.diff": 3, "x.lag1": 3, "x.lag3": 1,
		},
	}, {
		// A Bernoulli(p=1/4) sample scaled by 3: skew (1-2p)/sqrt(p(1-p)) = 2/sqrt(3),
		// excess kurt (1-6p(1-p))/(p(1-p)) = -2/3 (textbook closed forms);
		// slope from Σ(t-1.5)(x-.75)/Σ(t-1.5)² = 4.5/5.
		name: "spike", x: []float64{0, 0, 0, 3}, lags: []int{2}, tol: 1e-14,
		want: map[string]float64{
			"x.mean": 0.75, "x.std": math.Sqrt(1.6875), "x.skew": 2 / math.Sqrt(3),
			"x.kurt": -2.0 / 3, "x.slope": 0.9, "x.crest": 3 / math.Sqrt(9.0/4), "x.lag2": 0,
			"x.ewma": 1.5, "x.diff": 3,
		},
	}, {
		// Degenerate: constant window -> std = skew = kurt = 0, crest = |c|/|c| = 1.
		// 0.1 is not exact in binary, so the mean carries rounding noise.
		name: "constant 0.1", x: []float64{0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}, lags: []int{6}, tol: 1e-15,
		want: map[string]float64{
			"x.std": 0, "x.skew": 0, "x.kurt": 0, "x.crest": 1, "x.slope": 0, "x.ptp": 0, "x.lag6": 0.1,
		},
	}, {
		// Degenerate: all zero -> rms = 0 so crest = 0 by definition.
		name: "zeros", x: []float64{0, 0, 0}, lags: []int{1}, tol: 0,
		want: map[string]float64{"x.rms": 0, "x.crest": 0, "x.std": 0, "x.skew": 0, "x.kurt": 0},
	}, {
		// Negative ramp: slope -2 by construction, min/max by inspection.
		name: "negative ramp", x: []float64{4, 2, 0, -2, -4}, lags: []int{4}, tol: 1e-15,
		want: map[string]float64{"x.slope": -2, "x.min": -4, "x.max": 4, "x.crest": 4 / math.Sqrt(8), "x.diff": -8, "x.lag4": 4},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := extractOne(t, allScalarSpec(len(tc.x), tc.lags...), tc.x)
			for name, want := range tc.want {
				if g, ok := got[name]; !ok || math.Abs(g-want) > tc.tol*math.Max(1, math.Abs(want)) {
					t.Errorf("%s = %v, want %v (tol %g)", name, g, want, tc.tol)
				}
			}
		})
	}
}

func spectralSpec(window, bands int) Spec {
	s := DefaultSpec([]string{"v"}, window)
	s.Features = []string{FeatStd}
	s.Spectral = Spectral{Sensors: []string{"v"}, Bands: bands}
	return s
}

func TestBandEnergies(t *testing.T) {
	const n = 8
	tests := []struct {
		name string
		x    func(t int) float64
		want [4]float64 // bins 1..4 -> one band each
	}{
		// A cosine of amplitude A on bin j carries A²/2 (one-sided power).
		{"A=2 on bin 2", func(t int) float64 { return 2 * math.Cos(2*math.Pi*2*float64(t)/n) }, [4]float64{0, 2, 0, 0}},
		// The Nyquist bin is not mirrored: ±A alternation has power A².
		{"Nyquist A=3", func(t int) float64 { return 3 * math.Cos(math.Pi*float64(t)) }, [4]float64{0, 0, 0, 9}},
		// DC is removed before the FFT, so a constant offset adds nothing.
		{"offset plus bin 1", func(t int) float64 { return 10 + math.Sin(2*math.Pi*float64(t)/n) }, [4]float64{0.5, 0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := make([]float64, n)
			for i := range x {
				x[i] = tc.x(i)
			}
			got := extractOne(t, spectralSpec(n, 4), x)
			for b, want := range tc.want {
				name := "v.band" + string(rune('0'+b))
				// FFT rounding on values of order 10: 1e-12 absolute.
				if math.Abs(got[name]-want) > 1e-12 {
					t.Errorf("%s = %v, want %v", name, got[name], want)
				}
			}
		})
	}
}

// Parseval: bands sum to the population variance, for odd and even n and
// uneven band splits.
func TestBandEnergiesParseval(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ n, bands int }{{8, 4}, {9, 2}, {32, 5}, {33, 16}, {100, 3}} {
		x := make([]float64, tc.n)
		for i := range x {
			x[i] = rng.NormFloat64()*3 + 7
		}
		got := extractOne(t, spectralSpec(tc.n, tc.bands), x)
		var sum float64
		for b := range tc.bands {
			sum += got[fmt.Sprintf("v.band%d", b)]
		}
		if v := got["v.std"] * got["v.std"]; math.Abs(sum-v) > 1e-12*v {
			t.Errorf("n=%d bands=%d: Σbands=%v, variance=%v", tc.n, tc.bands, sum, v)
		}
	}
}
