package trainer_test

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/faultline/faultline/internal/trainer"
)

// lagged makes a machine whose load steps to a new level every 150 rows; its current
// follows the load at once under heavy measurement noise, its temperature follows it
// through a first-order lag of 15 rows under light noise. An hour's (60 rows') mean of
// the temperature depends on the load before the window; its EWMA does not.
func lagged(n int, seed uint64) trainer.Series {
	rng := rand.New(rand.NewPCG(seed, 11))
	s := trainer.Series{Asset: "m1"}
	a := 1 - math.Exp(-1.0/15)
	load, temp := 0.5, 40.0
	for i := 0; i < n; i++ {
		if i%150 == 0 {
			load = 0.2 + 0.8*rng.Float64()
		}
		temp += a * (30 + 20*load - temp)
		cur := 10*load + rng.NormFloat64()
		s.T = append(s.T, float64(1_700_000_000+60*i))
		s.Rows = append(s.Rows, []float64{load, cur, temp + 0.05*rng.NormFloat64()})
	}
	return s
}

// TestTargetFeaturePerSensor: by default each sensor's network predicts the window
// feature it follows best on held-out data: the noisy, instant current its window
// mean, the lagging temperature its EWMA, with a healthy residual far smaller than the
// mean's. A feature asked for with --target-feature is every sensor's, as before.
func TestTargetFeaturePerSensor(t *testing.T) {
	d := trainer.Data{Columns: []string{"load", "current", "temp"}, Series: []trainer.Series{lagged(4000, 1)}}
	base := trainer.Options{Seed: 2, Epochs: 40, Window: 60, Context: []string{"load"}, Detector: trainer.DetectorNets}
	auto, _, err := trainer.Fit(context.Background(), d, base)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"mean", "ewma"}; !slices.Equal(auto.TargetFeatures, want) {
		t.Fatalf("targets %v: features %v, want %v", auto.Targets, auto.TargetFeatures, want)
	}
	if auto.FormatVersion() != 7 {
		t.Fatalf("format %d, want 7 for per-target features", auto.FormatVersion())
	}
	fixed := base
	fixed.TargetFeature = "mean"
	mean, _, err := trainer.Fit(context.Background(), d, fixed)
	if err != nil {
		t.Fatal(err)
	}
	if mean.TargetFeatures != nil || mean.FormatVersion() >= 7 {
		t.Fatalf("--target-feature mean: features %v, format %d; want none and an older format", mean.TargetFeatures, mean.FormatVersion())
	}
	// Same current network either way; the temperature's residual is the lag's error.
	if r := auto.ResidualScale[1] / mean.ResidualScale[1]; r > 0.5 {
		t.Fatalf("temperature residual scale %.3g (ewma) vs %.3g (mean): ratio %.2f, want <= 0.5", auto.ResidualScale[1], mean.ResidualScale[1], r)
	}
	t.Logf("temperature residual scale: ewma %.3g, mean %.3g; current %.3g / %.3g", auto.ResidualScale[1], mean.ResidualScale[1], auto.ResidualScale[0], mean.ResidualScale[0])
}
