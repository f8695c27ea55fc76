package scoring

import (
	"math"
	"strings"

	"github.com/faultline/faultline/internal/artifact"
)

// monitorStage computes the PCA monitor's statistics (artifact.Monitor) of one
// standardised feature vector, and each target's contribution to the larger one, so
// an alert the monitor raises still names the sensors behind it.
type monitorStage struct {
	mo     *artifact.Monitor
	inputs []int // the monitored inputs
	target []int // target index of each monitored input, -1 for non-target sensors'
	z      []float64
	t      []float64
	r      []float64
}

func newMonitorStage(m *artifact.Model) *monitorStage {
	names := m.Spec.FeatureNames()
	inputs := m.Monitor.Inputs
	if len(inputs) == 0 {
		for i := range m.NumInputs() {
			inputs = append(inputs, i)
		}
	}
	ms := &monitorStage{mo: m.Monitor, inputs: inputs, target: make([]int, len(inputs)), t: make([]float64, len(m.Monitor.Components)),
		r: make([]float64, len(inputs)), z: make([]float64, len(inputs))}
	for k, i := range inputs {
		ms.target[k] = -1
		if i < len(names) {
			ms.target[k] = indexOf(m.Targets, names[i][:strings.LastIndexByte(names[i], '.')])
		}
	}
	return ms
}

// stats returns T2 and SPE of the monitored inputs of x, each divided by its level.
func (ms *monitorStage) stats(x []float64) (t2, spe float64) {
	z := ms.z
	for k, i := range ms.inputs {
		z[k] = x[i]
	}
	for j, p := range ms.mo.Components {
		var s float64
		for i, v := range p {
			s += v * z[i]
		}
		ms.t[j] = s
		t2 += s * s / ms.mo.Variance[j]
	}
	for i, v := range z {
		ms.r[i] = v
	}
	for j, p := range ms.mo.Components {
		tj := ms.t[j]
		for i, v := range p {
			ms.r[i] -= tj * v
		}
	}
	for _, v := range ms.r {
		spe += v * v
	}
	return t2 / ms.mo.T2Level, spe / ms.mo.SPELevel
}

// blame writes each target's share of the statistic that decided (after stats):
// squared residuals for SPE, and for T2 each input's part z_i * (P Lambda^-1 t)_i
// (negative parts count as none).
func (ms *monitorStage) blame(useT2 bool, shares []float64) {
	z := ms.z
	clear(shares)
	var total float64
	for i, k := range ms.target {
		if k < 0 {
			continue
		}
		var c float64
		if useT2 {
			for j, p := range ms.mo.Components {
				c += p[i] * ms.t[j] / ms.mo.Variance[j]
			}
			c = math.Max(0, c*z[i])
		} else {
			c = ms.r[i] * ms.r[i]
		}
		shares[k] += c
		total += c
	}
	if total > 0 {
		for k := range shares {
			shares[k] /= total
		}
	}
}
