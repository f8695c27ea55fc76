package trainer

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/features"
)

// Detectors an anomaly model can run (Options.Detector).
const (
	DetectorMonitor = "monitor" // the PCA monitor of the window features alone
	DetectorNets    = "nets"    // the per-sensor normal-behaviour networks alone
	DetectorBoth    = "both"    // both, the score is the larger
)

// MonitorVariance is the share of the standardised features' variance the monitor's
// principal subspace keeps (the rest is what SPE measures).
const MonitorVariance = 0.9

// fitMonitor fits the PCA monitor on standardised training windows xs: the
// eigenvectors of their covariance that keep MonitorVariance of the total variance.
// Components with a negligible variance are left out (a short history of many
// features has fewer windows than features), since T2 divides by the variance. The
// levels are placed by calibration; they start at 1.
func fitMonitor(xs [][]float64) (*artifact.Monitor, error) {
	n, d := len(xs), len(xs[0])
	if n < 3 {
		return nil, fmt.Errorf("%w: %d windows are too few for the monitor", ErrData, n)
	}
	cov := mat.NewSymDense(d, nil)
	data := mat.NewDense(n, d, nil)
	for i, x := range xs {
		for j, v := range x {
			data.Set(i, j, v)
		}
	}
	cov.SymOuterK(1/float64(n-1), data.T())
	var eig mat.EigenSym
	if !eig.Factorize(cov, true) {
		return nil, fmt.Errorf("monitor: eigendecomposition of the %dx%d feature covariance failed", d, d)
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	order := make([]int, d)
	var total float64
	for i := range order {
		order[i] = i
		total += math.Max(0, vals[i])
	}
	if !(total > 0) {
		return nil, fmt.Errorf("%w: the window features do not vary: nothing to monitor", ErrData)
	}
	sort.Slice(order, func(a, b int) bool { return vals[order[a]] > vals[order[b]] })
	mo := &artifact.Monitor{T2Level: 1, SPELevel: 1}
	var kept float64
	for _, i := range order {
		if kept >= MonitorVariance*total || vals[i] <= 1e-9*total {
			break
		}
		p := make([]float64, d)
		for j := range p {
			p[j] = vecs.At(j, i)
		}
		mo.Components = append(mo.Components, p)
		mo.Variance = append(mo.Variance, vals[i])
		kept += vals[i]
	}
	return mo, nil
}

// monitorInputs are the feature indexes of every sensor but the context ones.
func monitorInputs(spec features.Spec, context []string) []int {
	var out []int
	for i, n := range spec.FeatureNames() {
		if !slices.Contains(context, n[:strings.LastIndexByte(n, '.')]) {
			out = append(out, i)
		}
	}
	return out
}

// monitored keeps the monitored columns of xs (all without context sensors).
func monitored(xs [][]float64, spec features.Spec, context []string) [][]float64 {
	if len(context) == 0 {
		return xs
	}
	idx := monitorInputs(spec, context)
	out := make([][]float64, len(xs))
	for r, x := range xs {
		out[r] = make([]float64, len(idx))
		for k, i := range idx {
			out[r][k] = x[i]
		}
	}
	return out
}
