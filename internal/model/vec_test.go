package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The vector versions of the element-wise loops (SIMD build) must give the
// bits of the portable loops: that is what keeps a seeded run the same
// whichever path it takes. Lengths not a multiple of 16 cover the tails.

func TestAdamVectorMatchesScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 16*40 + 7
	p, g := make([]float32, n), make([]float32, n)
	for i := range p {
		p[i] = float32(rng.NormFloat64())
	}
	vec, ref := NewAdam[float32](), NewAdam[float32]()
	pv, pr := append([]float32(nil), p...), append([]float32(nil), p...)
	for step := 0; step < 5; step++ {
		for i := range g {
			g[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(8)-6)))
		}
		g[3] = 0
		vec.Step(pv, g, n, 1e-3)
		// The reference: the portable loop on its own state.
		ref.m, ref.v = state(ref.m, n), state(ref.v, n)
		ref.t++
		c1 := float32(1 / (1 - math.Pow(float64(ref.Beta1), float64(ref.t))))
		c2 := float32(1 / (1 - math.Pow(float64(ref.Beta2), float64(ref.t))))
		adamScalar(pr, g, ref.m, ref.v, ref.Beta1, ref.Beta2, ref.Eps, c1, c2, 1e-3)
		for i := range pv {
			if math.Float32bits(pv[i]) != math.Float32bits(pr[i]) {
				t.Fatalf("step %d: param %d = %v, scalar loop gives %v", step, i, pv[i], pr[i])
			}
		}
	}
}

func TestReLUVectorMatchesScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const n = 16*9 + 5
	z := make([]float32, n)
	for i := range z {
		z[i] = float32(rng.NormFloat64())
	}
	z[0], z[1], z[17], z[n-1] = float32(math.Copysign(0, -1)), float32(math.NaN()), 0, -1
	got := append([]float32(nil), z...)
	activate(ReLU, got)
	for i, v := range z {
		want := v
		if v < 0 {
			want = 0
		}
		if math.Float32bits(got[i]) != math.Float32bits(want) {
			t.Fatalf("relu(%v) = %v, want %v", v, got[i], want)
		}
	}
	g := make([]float32, n)
	for i := range g {
		g[i] = float32(rng.NormFloat64())
	}
	gg := append([]float32(nil), g...)
	scaleByDerivative(ReLU, z, gg)
	for i, v := range z {
		want := g[i]
		if v <= 0 {
			want = 0
		}
		if math.Float32bits(gg[i]) != math.Float32bits(want) {
			t.Fatalf("relu' at y=%v: %v, want %v", v, gg[i], want)
		}
	}
	db := make([]float32, 19)
	src := make([]float32, 7*19)
	for i := range src {
		src[i] = float32(rng.NormFloat64())
	}
	if addRowsFast(db, src, 7) {
		for j := range db {
			var want float32
			for r := 0; r < 7; r++ {
				want += src[r*19+j]
			}
			if math.Float32bits(db[j]) != math.Float32bits(want) {
				t.Fatalf("bias gradient %d = %v, want %v", j, db[j], want)
			}
		}
	}
}
