//go:build goexperiment.simd && amd64

package model

import "testing"

// BenchmarkPackTransposed times packing a transposed 256 x 256 B (the
// forward pass's weight matrix) into 32-column panels.
func BenchmarkPackTransposed(b *testing.B) {
	const n, k = 256, 256
	src := make([]float32, n*k)
	for i := range src {
		src[i] = float32(i)
	}
	dst := make([]float32, n*k)
	for b.Loop() {
		packPanels(dst, src, n, k, true, 32)
	}
	b.ReportMetric(float64(n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
}
