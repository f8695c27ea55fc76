package model

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time of the process (user + system). On a machine
// shared with other work, samples per CPU-second is the steadier figure:
// wall time also counts the time other processes held the core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

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

// benchTrainStep times optimizer steps over 64 batches of random inputs
// and noise targets, taken in turn. Fitting one fixed batch of zero targets
// (as this once did) drives gradients and Adam's moments to zero within a
// few thousand steps, and float32 denormals then make every step many
// times slower than a real one.
func benchTrainStep(b *testing.B, inputs int, layers []Layer, batch int) {
	net, _ := New[float32](inputs, layers, 1)
	rng := rand.New(rand.NewPCG(1, 1))
	const batches = 64
	d := Dataset[float32]{X: make([]float32, batches*batch*inputs), Y: make([]float32, batches*batch*net.Outputs())}
	for i := range d.X {
		d.X[i] = float32(rng.NormFloat64())
	}
	for i := range d.Y {
		d.Y[i] = float32(rng.NormFloat64())
	}
	cfg, _ := (&TrainConfig[float32]{Epochs: 1, BatchSize: batch}).withDefaults()
	tr, err := newTrainer(net, d, Dataset[float32]{}, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	cpu0 := cpuTime()
	for b.Loop() {
		tr.step(tr.perm[i*batch:(i+1)*batch], 1e-3)
		i = (i + 1) % batches
	}
	sps := float64(batch) * float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(sps, "samples/s")
	b.ReportMetric(sps*trainFlops(inputs, layers)/1e9, "GFLOP/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(batch)*float64(b.N)/cpu.Seconds(), "samples/cpu-s")
	}
}

func BenchmarkTrainStep64x64x32x8(b *testing.B) {
	benchTrainStep(b, 64, []Layer{{64, ReLU}, {32, ReLU}, {8, Linear}}, 64)
}

func BenchmarkTrainStep128x256x256x8(b *testing.B) {
	benchTrainStep(b, 128, []Layer{{256, ReLU}, {256, ReLU}, {8, Linear}}, 256)
}
