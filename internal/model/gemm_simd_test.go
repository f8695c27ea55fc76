//go:build goexperiment.simd && amd64

package model

import "testing"

// TestGemmFloat32AVX2 runs the float32 checks on the AVX2 kernel, which
// CPUs without AVX-512 use, by turning the AVX-512 path off.
func TestGemmFloat32AVX2(t *testing.T) {
	if !haveAVX2 {
		t.Skip("CPU has no AVX2/FMA")
	}
	defer func(v bool) { haveAVX512 = v }(haveAVX512)
	haveAVX512 = false
	checkGemmFloat32(t)
}
