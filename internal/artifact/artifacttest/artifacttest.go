// Package artifacttest builds small, valid models for tests of the packages that load
// and score them, without running the trainer.
package artifacttest

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/features"
	"github.com/faultline/faultline/internal/model"
)

// Anomaly returns an anomaly model over sensors with window w whose network predicts
// each sensor's window mean as exactly zero (weights zero, biases zero): the residual
// of sensor s is then its window mean divided by residual scale 1, so a test controls
// the score through the values it feeds. Warn 1, critical 3, clear 0.8, 2 of 3 windows.
func Anomaly(sensors []string, w int) *artifact.Model {
	spec := features.DefaultSpec(sensors, w)
	nf, nt := spec.NumFeatures(), len(sensors)
	b := zeroNet(nf, nt)
	in := features.NewScaler(features.ZScore)
	rows := make([][]float64, 8)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range rows {
		rows[i] = make([]float64, nf)
		for j := range rows[i] {
			rows[i][j] = rng.NormFloat64()
		}
	}
	if err := in.Fit(rows); err != nil {
		panic(err)
	}
	ones, zeros := make([]float64, nt), make([]float64, nt)
	for i := range ones {
		ones[i] = 1
	}
	return &artifact.Model{
		Name: "test-anomaly", Version: "1", Created: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Task: artifact.TaskAnomaly,
		Spec: spec, Input: in, Targets: append([]string(nil), sensors...), TargetCenter: zeros, TargetScale: ones,
		ResidualScale: ones, Smoothing: 1, Period: 1, Nets: [][]byte{b},
		Alert: alerting.Config{Levels: alerting.Levels{Warn: 1, Critical: 3, Clear: 0.8, Above: true}, K: 2, M: 3, ClearAfter: 2},
	}
}

// Finite reports whether every value is finite.
func Finite(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// zeroNet is a network of nIn inputs and nOut outputs whose parameters are all 0 (it
// predicts 0), encoded for artifact.Model.Nets.
func zeroNet(nIn, nOut int) []byte {
	net, err := model.New[float32](nIn, []model.Layer{{Size: 4, Act: model.ReLU}, {Size: nOut, Act: model.Linear}}, 1)
	if err != nil {
		panic(err)
	}
	for i := range net.Params() {
		net.Params()[i] = 0
	}
	b, err := net.MarshalBinary()
	if err != nil {
		panic(err)
	}
	return b
}
