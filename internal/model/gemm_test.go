package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// naiveGemm is the textbook triple loop in float64, the reference for gemm.
func naiveGemm(m, n, k int, a []float64, transA bool, b []float64, transB bool) []float64 {
	c := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				av := a[i*k+p]
				if transA {
					av = a[p*m+i]
				}
				bv := b[p*n+j]
				if transB {
					bv = b[j*k+p]
				}
				s += av * bv
			}
			c[i*n+j] = s
		}
	}
	return c
}

func TestGemmMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var buf gemmBuf[float64]
	for _, sz := range [][3]int{{1, 1, 1}, {4, 4, 4}, {5, 7, 3}, {9, 13, 17}, {64, 32, 64}, {3, 8, 1}} {
		m, n, k := sz[0], sz[1], sz[2]
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				a := randSlice(rng, m*k)
				b := randSlice(rng, k*n)
				want := naiveGemm(m, n, k, a, ta, b, tb)
				got := make([]float64, m*n)
				gemm(m, n, k, a, ta, b, tb, got, false, &buf)
				// Same products summed in the same p order: only rounding of
				// identical operations, so 1e-12 relative is generous.
				for i := range want {
					if math.Abs(got[i]-want[i]) > 1e-12*(1+math.Abs(want[i])) {
						t.Fatalf("%v ta=%v tb=%v: c[%d]=%v want %v", sz, ta, tb, i, got[i], want[i])
					}
				}
				gemm(m, n, k, a, ta, b, tb, got, true, &buf)
				for i := range want {
					if math.Abs(got[i]-2*want[i]) > 1e-12*(1+math.Abs(want[i])) {
						t.Fatalf("%v add: c[%d]=%v want %v", sz, i, got[i], 2*want[i])
					}
				}
			}
		}
	}
}

func randSlice(rng *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = rng.NormFloat64()
	}
	return s
}

func BenchmarkGemm(b *testing.B) {
	const m, n, k = 256, 256, 256
	rng := rand.New(rand.NewPCG(1, 2))
	a := make([]float32, m*k)
	bb := make([]float32, k*n)
	for i := range a {
		a[i] = float32(rng.NormFloat64())
		bb[i] = float32(rng.NormFloat64())
	}
	c := make([]float32, m*n)
	var buf gemmBuf[float32]
	b.ReportAllocs()
	for b.Loop() {
		gemm(m, n, k, a, false, bb, true, c, false, &buf)
	}
	b.ReportMetric(2*m*n*k*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
