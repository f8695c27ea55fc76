package model

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkAdam times one Adam step over the parameter count of the large
// training-benchmark shape (128-256-256-8), with gradients of a realistic
// size (1e-3 relative).
func BenchmarkAdam(b *testing.B) {
	const n = 128*256 + 256*256 + 256*8 + 256 + 256 + 8
	rng := rand.New(rand.NewPCG(1, 1))
	p, g := make([]float32, n), make([]float32, n)
	for i := range p {
		p[i] = float32(rng.NormFloat64())
		g[i] = float32(rng.NormFloat64() * 1e-3)
	}
	o := NewAdam[float32]()
	b.ReportAllocs()
	for b.Loop() {
		o.Step(p, g, n, 1e-3)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gparams/s")
}
