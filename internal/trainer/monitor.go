package trainer

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"

	"github.com/faultline/faultline/internal/artifact"
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
