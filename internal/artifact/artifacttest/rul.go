package artifacttest

import (
	"time"

	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/features"
)

// RUL returns a rul model over sensors with window w whose network outputs zero, so
// every window predicts RUL = rul (the target centre), with short-history padding and
// an 80% band of [rul+lo, rul+hi] (no band when lo == hi == 0). Horizon 30: warn
// under 30, critical under 15, 2 of 3 windows.
func RUL(sensors []string, w int, rul, lo, hi float64) *artifact.Model {
	m := Anomaly(sensors, w)
	nf := m.Spec.NumFeatures()
	b := zeroNet(nf, 1)
	m.Name, m.Task, m.Created = "test-rul", artifact.TaskRUL, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m.Spec = features.DefaultSpec(sensors, w)
	m.Targets, m.TargetCenter, m.TargetScale, m.ResidualScale, m.Smoothing = []string{"rul"}, []float64{rul}, []float64{125}, nil, 0
	m.RULCap, m.Nets, m.PadShort = 125, [][]byte{b}, true
	m.Alert = alerting.Config{Levels: alerting.Levels{Warn: 30, Critical: 15, Clear: 36, Above: false}, K: 2, M: 3, ClearAfter: 3}
	if lo != 0 || hi != 0 {
		m.Band = &artifact.RULBand{Coverage: 0.8, Lo: []float64{lo}, Hi: []float64{hi}}
	}
	return m
}

// RULAged is RUL with an age column (artifact.Model.AgeColumn): the networks take one
// more input, the age, and still predict rul whatever it is.
func RULAged(sensors []string, w int, rul, lo, hi float64, ageColumn string) *artifact.Model {
	m := RUL(sensors, w, rul, lo, hi)
	nf := m.Spec.NumFeatures() + 1
	m.AgeColumn, m.Nets = ageColumn, [][]byte{zeroNet(nf, 1)}
	m.Input = features.NewScaler(features.ZScore)
	rows := make([][]float64, 4)
	for i := range rows {
		rows[i] = make([]float64, nf)
		for j := range rows[i] {
			rows[i][j] = float64(i * (j + 1))
		}
	}
	if err := m.Input.Fit(rows); err != nil {
		panic(err)
	}
	return m
}
