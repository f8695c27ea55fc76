package artifact

import (
	"fmt"
	"math"
)

// Monitor is a multivariate statistical monitor of the standardised window features
// (principal component analysis, the classic of process monitoring): the features of a
// healthy window lie close to a low-dimensional subspace, with a known spread inside
// it. Two statistics come out of each window z (the input scaler's output):
//
//	T2  = sum_j (p_j . z)^2 / Variance[j]   the distance inside the subspace
//	SPE = |z - sum_j (p_j . z) p_j|^2       the distance from the subspace
//
// Each is divided by its level (a high quantile over held-out healthy windows) and the
// larger is the monitor's raw score, on the same scale as the residual score (1 is the
// healthy tail). Why it is there: a per-sensor network trained on a few hundred windows
// of many sensors learns them by heart and calls every new normal window anomalous
// (Tennessee Eastman: 80 % false alarms); PCA has a closed form, needs no tuning and
// generalises from short histories (docs/model.md).
type Monitor struct {
	// Inputs are the indexes of the monitored inputs (all when empty). The features of
	// context sensors are left out: they are the operating conditions, which move where
	// they like (ambient temperature over a season) without the machine being unwell.
	Inputs []int `json:"inputs,omitempty"`
	// Components are the loadings p_j, one per monitored input, orthonormal.
	Components [][]float64 `json:"components"`
	// Variance of each component's score over the healthy training windows.
	Variance []float64 `json:"variance"`
	T2Level  float64   `json:"t2_level"`
	SPELevel float64   `json:"spe_level"`
}

func (mo *Monitor) validate(nIn int, add func(string, ...any)) {
	for _, i := range mo.Inputs {
		if i < 0 || i >= nIn {
			add("monitor input %d: want 0..%d", i, nIn-1)
			return
		}
	}
	if len(mo.Inputs) > 0 {
		nIn = len(mo.Inputs)
	}
	if len(mo.Components) == 0 || len(mo.Components) != len(mo.Variance) || len(mo.Components) > nIn {
		add("monitor: %d components, %d variances for %d inputs: want 1..inputs of each", len(mo.Components), len(mo.Variance), nIn)
		return
	}
	for j, p := range mo.Components {
		if len(p) != nIn {
			add("monitor component %d has %d loadings, want %d", j, len(p), nIn)
			return
		}
		for _, v := range p {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				add("monitor component %d: non-finite loading", j)
				return
			}
		}
		if v := mo.Variance[j]; !(v > 0) || math.IsInf(v, 0) {
			add("monitor variance %d is %v: want finite and > 0", j, v)
		}
	}
	for _, l := range []float64{mo.T2Level, mo.SPELevel} {
		if !(l > 0) || math.IsInf(l, 0) {
			add("monitor levels t2 %v, spe %v: want finite and > 0", mo.T2Level, mo.SPELevel)
			return
		}
	}
}

// String summarises the monitor for logs.
func (mo *Monitor) String() string {
	return fmt.Sprintf("pca %d components, t2 level %.3g, spe level %.3g", len(mo.Components), mo.T2Level, mo.SPELevel)
}
