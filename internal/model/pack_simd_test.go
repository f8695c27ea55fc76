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

// BenchmarkKernel8x32 times the micro-kernel alone on cache-resident
// operands (k = 256), the ceiling for the whole gemm.
func BenchmarkKernel8x32(b *testing.B) {
	const k = 256
	a := make([]float32, 8*k)
	bp := make([]float32, 32*k)
	c := make([]float32, 8*32)
	for i := range a {
		a[i] = 1e-3
	}
	cpu0 := cpuTime()
	for b.Loop() {
		kern8x32(k, &a[0], k, 1, &bp[0], 32, &c[0], 32, nil, false)
	}
	flops := 2 * 8 * 32 * k * float64(b.N)
	b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(flops/cpu.Seconds()/1e9, "GFLOP/cpu-s")
	}
}

// BenchmarkTrainStepAVX2 is the large train step on the AVX2 kernel that
// CPUs without AVX-512 use.
func BenchmarkTrainStepAVX2(b *testing.B) {
	if !haveAVX2 {
		b.Skip("CPU has no AVX2/FMA")
	}
	defer func(v bool) { haveAVX512 = v }(haveAVX512)
	haveAVX512 = false
	b.Run("64x64x32x8", BenchmarkTrainStep64x64x32x8)
	b.Run("128x256x256x8", BenchmarkTrainStep128x256x256x8)
}
