//go:build goexperiment.simd && amd64

package model

import "simd/archsimd"

// Element-wise loops of a training step on AVX-512. Each computes exactly
// what the portable loop it replaces computes (same operations in the same
// order, no fused multiply-add), so a run gives the same bits with or
// without them; they exist because the portable ReLU loops branch on the
// sign of every element, which mispredicts about half the time on real
// activations, and Adam's scalar loop was a sixth of a large step.

//
// No scalar float code may run between the vector instructions and the
// VZEROUPPER (ClearAVXUpperBits) that ends every loop here: Go's scalar
// float32/float64 arithmetic is legacy SSE, and on this machine one SSE
// instruction per iteration while the upper halves of the vector registers
// were dirty (the compiler reloaded scalar arguments inside the loop for a
// scalar tail after it) made Adam 25 times slower than the scalar loop.
// Tails therefore use partial vector loads and stores.

// reluFast sets z[i] = 0 where z[i] < 0 (NaN and -0 pass unchanged).
func reluFast[T Float](z []T) bool {
	z32, ok := any(z).([]float32)
	if !ok || !haveAVX512 {
		return false
	}
	relu512(z32)
	return true
}

func relu512(z []float32) {
	var zero archsimd.Float32x16
	for i := 0; i < len(z); i += 16 {
		s := z[i:]
		v := archsimd.LoadFloat32x16SlicePart(s)
		zero.Merge(v, v.Less(zero)).StoreSlicePart(s)
	}
	archsimd.ClearAVXUpperBits()
}

// reluGradFast sets g[i] = 0 where y[i] <= 0.
func reluGradFast[T Float](y, g []T) bool {
	y32, ok := any(y).([]float32)
	if !ok || !haveAVX512 {
		return false
	}
	reluGrad512(y32, any(g).([]float32))
	return true
}

func reluGrad512(y, g []float32) {
	g = g[:len(y)]
	var zero archsimd.Float32x16
	for i := 0; i < len(y); i += 16 {
		v := archsimd.LoadFloat32x16SlicePart(y[i:])
		gv := archsimd.LoadFloat32x16SlicePart(g[i:])
		zero.Merge(gv, v.LessEqual(zero)).StoreSlicePart(g[i:])
	}
	archsimd.ClearAVXUpperBits()
}

// addRowsFast sets dst[j] += Σ_r src[r*len(dst)+j] over rows rows, summing
// rows in order as the portable loop does.
func addRowsFast[T Float](dst, src []T, rows int) bool {
	d32, ok := any(dst).([]float32)
	if !ok || !haveAVX512 {
		return false
	}
	addRows512(d32, any(src).([]float32), rows)
	return true
}

func addRows512(dst, src []float32, rows int) {
	w := len(dst)
	src = src[:rows*w]
	for j := 0; j < w; j += 16 {
		acc := archsimd.LoadFloat32x16SlicePart(dst[j:])
		for r := 0; r < rows; r++ {
			acc = acc.Add(archsimd.LoadFloat32x16SlicePart(src[r*w+j : (r+1)*w]))
		}
		acc.StoreSlicePart(dst[j:])
	}
	archsimd.ClearAVXUpperBits()
}

// adamFast is the loop of Adam.Step; see there.
func adamFast[T Float](params, g, m, v []T, b1, b2, eps, c1, c2, lr T) bool {
	p32, ok := any(params).([]float32)
	if !ok || !haveAVX512 {
		return false
	}
	adam512(p32, any(g).([]float32), any(m).([]float32), any(v).([]float32),
		float32(b1), float32(b2), float32(eps), float32(c1), float32(c2), float32(lr))
	return true
}

func adam512(p, g, m, v []float32, b1, b2, eps, c1, c2, lr float32) {
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	f := archsimd.BroadcastFloat32x16
	vb1, vb2, vnb1, vnb2 := f(b1), f(b2), f(1-b1), f(1-b2)
	veps, vc1, vc2, vlr := f(eps), f(c1), f(c2), f(lr)
	for i := 0; i < len(p); i += 16 {
		// Zero-filled lanes past the end compute 0/(0+eps) and are not stored.
		gi := archsimd.LoadFloat32x16SlicePart(g[i:])
		mi := vb1.Mul(archsimd.LoadFloat32x16SlicePart(m[i:])).Add(vnb1.Mul(gi))
		vi := vb2.Mul(archsimd.LoadFloat32x16SlicePart(v[i:])).Add(vnb2.Mul(gi).Mul(gi))
		mi.StoreSlicePart(m[i:])
		vi.StoreSlicePart(v[i:])
		step := vlr.Mul(mi.Mul(vc1)).Div(vi.Mul(vc2).Sqrt().Add(veps))
		archsimd.LoadFloat32x16SlicePart(p[i:]).Sub(step).StoreSlicePart(p[i:])
	}
	archsimd.ClearAVXUpperBits()
}
