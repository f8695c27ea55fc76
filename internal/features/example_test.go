package features_test

import (
	"fmt"
	"math"

	"github.com/faultline/faultline/internal/features"
)

// Training extracts in batch and fits a scaler; the daemon streams the
// same spec and scaler and gets the same numbers.
func Example() {
	spec := features.DefaultSpec([]string{"temp", "vib"}, 4)
	spec.Features = []string{features.FeatMean, features.FeatSlope}
	spec.MaxMissingFrac = 0.25 // one filled sample per 4-sample window is fine
	rows := [][]float64{{20, 0.1}, {21, 0.2}, {math.NaN(), 0.3}, {23, 0.4}, {24, 0.5}, {25, 0.7}}

	X, ends, stats, _ := features.ExtractBatch(spec, rows)
	scaler := features.NewScaler(features.ZScore)
	_ = scaler.Fit(X)

	ex, _ := features.NewExtractor(spec)
	x, z := make([]float64, ex.NumFeatures()), make([]float64, ex.NumFeatures())
	for _, r := range rows {
		if ready, _ := ex.Push(r, x); ready {
			_ = scaler.Transform(x, z)
			fmt.Printf("%.4g %.3f\n", x, z)
		}
	}
	fmt.Println(spec.FeatureNames(), ends, stats.Emitted, stats.FilledCells)
	// Output:
	// [21.25 0.9 0.25 0.1] [-1.225 -1.225 -1.177 -0.707]
	// [22.25 1.1 0.35 0.1] [0.000 0.000 -0.091 -0.707]
	// [23.25 1.3 0.475 0.13] [1.225 1.225 1.268 1.414]
	// [temp.mean temp.slope vib.mean vib.slope] [3 4 5] 3 1
}
