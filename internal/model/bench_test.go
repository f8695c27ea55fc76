package model

import (
	"math/rand/v2"
	"testing"
)

func BenchmarkPredict(b *testing.B) {
	net, _ := New[float32](64, []Layer{{64, ReLU}, {32, ReLU}, {8, Linear}}, 1)
	p := net.NewPredictor()
	x, dst := make([]float32, 64), make([]float32, 8)
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	b.ReportAllocs()
	for b.Loop() {
		p.Predict(x, dst)
	}
}

// trainFlops counts multiply-adds x2 per sample actually executed by one
// training step: forward W·x per layer, dW per layer, and dx for every
// layer but the first.
func trainFlops(inputs int, layers []Layer) float64 {
	var macs, in int
	in = inputs
	for l, ly := range layers {
		macs += 2 * in * ly.Size
		if l > 0 {
			macs += in * ly.Size
		}
		in = ly.Size
	}
	return 2 * float64(macs)
}

func benchTrainStep(b *testing.B, inputs int, layers []Layer, batch int) {
	net, _ := New[float32](inputs, layers, 1)
	rng := rand.New(rand.NewPCG(1, 1))
	d := Dataset[float32]{X: make([]float32, batch*inputs), Y: make([]float32, batch*net.Outputs())}
	for i := range d.X {
		d.X[i] = float32(rng.NormFloat64())
	}
	cfg, _ := (&TrainConfig[float32]{Epochs: 1, BatchSize: batch}).withDefaults()
	tr, err := newTrainer(net, d, Dataset[float32]{}, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		tr.step(tr.perm, 1e-3)
	}
	sps := float64(batch) * float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(sps, "samples/s")
	b.ReportMetric(sps*trainFlops(inputs, layers)/1e9, "GFLOP/s")
}

func BenchmarkTrainStep64x64x32x8(b *testing.B) {
	benchTrainStep(b, 64, []Layer{{64, ReLU}, {32, ReLU}, {8, Linear}}, 64)
}

func BenchmarkTrainStep128x256x256x8(b *testing.B) {
	benchTrainStep(b, 128, []Layer{{256, ReLU}, {256, ReLU}, {8, Linear}}, 256)
}
