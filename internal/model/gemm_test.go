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
	cpu0 := cpuTime()
	for b.Loop() {
		gemm(m, n, k, a, false, bb, true, c, false, &buf)
	}
	b.ReportMetric(2*m*n*k*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(2*m*n*k*float64(b.N)/cpu.Seconds()/1e9, "GFLOP/cpu-s")
	}
}

// TestGemmFloat32 covers the float32 path, which the SIMD build sends to its
// vector kernels: every transpose case, with row and column counts around
// the kernels' block sizes (8 rows; 16 and 32 columns) so edge blocks, the
// narrow-panel kernel and padding are all exercised. Float32 sums of k
// products carry rounding error up to about k·eps·Σ|a·b|, the bound used.
func TestGemmFloat32(t *testing.T) { checkGemmFloat32(t) }

func checkGemmFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var buf gemmBuf[float32]
	for _, m := range []int{1, 7, 8, 9, 17, 64} {
		for _, n := range []int{1, 8, 16, 17, 32, 33, 70} {
			for _, k := range []int{1, 5, 13, 64} {
				for _, ta := range []bool{false, true} {
					for _, tb := range []bool{false, true} {
						a, b := randSlice(rng, m*k), randSlice(rng, k*n)
						want := naiveGemm(m, n, k, a, ta, b, tb)
						absA, absB := make([]float64, len(a)), make([]float64, len(b))
						for i, v := range a {
							a[i] = float64(float32(v))
							absA[i] = math.Abs(a[i])
						}
						for i, v := range b {
							b[i] = float64(float32(v))
							absB[i] = math.Abs(b[i])
						}
						want = naiveGemm(m, n, k, a, ta, b, tb)
						bound := naiveGemm(m, n, k, absA, ta, absB, tb)
						got := make([]float32, m*n)
						for i := range got {
							got[i] = 1 // overwritten when add is false
						}
						gemm(m, n, k, toF32(a), ta, toF32(b), tb, got, false, &buf)
						tol := func(i int) float64 { return float64(k+2) * 6e-8 * (bound[i] + 1e-30) }
						for i := range want {
							if math.Abs(float64(got[i])-want[i]) > tol(i) {
								t.Fatalf("m=%d n=%d k=%d ta=%v tb=%v: c[%d]=%v want %v", m, n, k, ta, tb, i, got[i], want[i])
							}
						}
						// gemmBias: the forward pass's bias + product.
						bias := toF32(randSlice(rng, n))
						gemmBias(m, n, k, toF32(a), ta, toF32(b), tb, bias, got, &buf)
						for i := range want {
							if w := want[i] + float64(bias[i%n]); math.Abs(float64(got[i])-w) > float64(k+2)*6e-8*(bound[i]+math.Abs(float64(bias[i%n]))) {
								t.Fatalf("m=%d n=%d k=%d ta=%v tb=%v bias: c[%d]=%v want %v", m, n, k, ta, tb, i, got[i], w)
							}
						}
						gemm(m, n, k, toF32(a), ta, toF32(b), tb, got, false, &buf)
						gemm(m, n, k, toF32(a), ta, toF32(b), tb, got, true, &buf)
						for i := range want {
							if math.Abs(float64(got[i])-2*want[i]) > 2*tol(i) {
								t.Fatalf("m=%d n=%d k=%d ta=%v tb=%v add: c[%d]=%v want %v", m, n, k, ta, tb, i, got[i], 2*want[i])
							}
						}
					}
				}
			}
		}
	}
}
