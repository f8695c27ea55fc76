//go:build !(goexperiment.simd && amd64)

package model

// gemmFast is the hook for a vector kernel; the portable build has none.
func gemmFast[T Float](int, int, int, []T, bool, []T, bool, []T, bool, *gemmBuf[T]) bool {
	return false
}

// gemmBiasFast is the hook for a kernel that starts C from the bias.
func gemmBiasFast[T Float](int, int, int, []T, bool, []T, bool, []T, []T, *gemmBuf[T]) bool {
	return false
}

// fusedKernel reports whether batch products use fused multiply-adds,
// which round differently from the single-sample path.
const fusedKernel = false
