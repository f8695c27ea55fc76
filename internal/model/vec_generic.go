//go:build !(goexperiment.simd && amd64)

package model

// Hooks for vector versions of element-wise loops; the portable build has
// none (see vec_simd.go).

func reluFast[T Float]([]T) bool                                { return false }
func reluGradFast[T Float](_, _ []T) bool                       { return false }
func addRowsFast[T Float](_, _ []T, _ int) bool                 { return false }
func adamFast[T Float](_, _, _, _ []T, _, _, _, _, _, _ T) bool { return false }
