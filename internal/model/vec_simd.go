//go:build goexperiment.simd && amd64

package model

import "simd/archsimd"

// Element-wise loops of a training step on AVX-512. Each computes exactly
// what the portable loop it replaces computes (same operations in the same
// order, no fused multiply-add), so a run gives the same bits with or
// without them; they exist because the portable ReLU loops branch on the
// sign of every element, which mispredicts about half the time on real
// activations, and Adam's scalar loop was a sixth of a large step. The
// generic hooks only convert types and call plain float32 functions.
//
// No scalar float code may run between the vector instructions and the
// VZEROUPPER (ClearAVXUpperBits) that ends every loop here: Go's scalar
// float32/float64 arithmetic is legacy SSE, and on this machine one SSE
// instruction per iteration while the upper halves of the vector registers
// were dirty (the compiler reloaded scalar arguments inside the loop for a
// scalar tail after it) made Adam 25 times slower than the scalar loop.
// Tails therefore go through a 16-float buffer in the same vector code
// (archsimd's ...SlicePart loads trip the race detector's checkptr).

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
	n := len(z) - len(z)%16
	for i := 0; i < n; i += 16 {
		v := archsimd.LoadFloat32x16Slice(z[i:])
		zero.Merge(v, v.Less(zero)).StoreSlice(z[i:])
	}
	archsimd.ClearAVXUpperBits()
	if n < len(z) {
		var t [16]float32
		copy(t[:], z[n:])
		v := archsimd.LoadFloat32x16(&t)
		zero.Merge(v, v.Less(zero)).Store(&t)
		archsimd.ClearAVXUpperBits()
		copy(z[n:], t[:])
	}
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
	n := len(y) - len(y)%16
	for i := 0; i < n; i += 16 {
		v := archsimd.LoadFloat32x16Slice(y[i:])
		gv := archsimd.LoadFloat32x16Slice(g[i:])
		zero.Merge(gv, v.LessEqual(zero)).StoreSlice(g[i:])
	}
	archsimd.ClearAVXUpperBits()
	if n < len(y) {
		var ty, tg [16]float32
		copy(ty[:], y[n:])
		copy(tg[:], g[n:])
		v := archsimd.LoadFloat32x16(&ty)
		zero.Merge(archsimd.LoadFloat32x16(&tg), v.LessEqual(zero)).Store(&tg)
		archsimd.ClearAVXUpperBits()
		copy(g[n:], tg[:])
	}
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
	n := w - w%16
	for j := 0; j < n; j += 16 {
		acc := archsimd.LoadFloat32x16Slice(dst[j:])
		for r := 0; r < rows; r++ {
			acc = acc.Add(archsimd.LoadFloat32x16Slice(src[r*w+j:]))
		}
		acc.StoreSlice(dst[j:])
	}
	archsimd.ClearAVXUpperBits()
	if n < w {
		// Gather the ragged columns first: copy is memmove, which must not
		// run between vector instructions (see above).
		var t [16]float32
		var acc [16]float32
		copy(acc[:], dst[n:])
		for r := 0; r < rows; r++ {
			copy(t[:], src[r*w+n:(r+1)*w])
			for j, x := range t[:w-n] {
				acc[j] += x
			}
		}
		copy(dst[n:], acc[:w-n])
	}
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
	n := len(p) - len(p)%16
	for i := 0; i < n; i += 16 {
		gi := archsimd.LoadFloat32x16Slice(g[i:])
		mi := vb1.Mul(archsimd.LoadFloat32x16Slice(m[i:])).Add(vnb1.Mul(gi))
		vi := vb2.Mul(archsimd.LoadFloat32x16Slice(v[i:])).Add(vnb2.Mul(gi).Mul(gi))
		mi.StoreSlice(m[i:])
		vi.StoreSlice(v[i:])
		step := vlr.Mul(mi.Mul(vc1)).Div(vi.Mul(vc2).Sqrt().Add(veps))
		archsimd.LoadFloat32x16Slice(p[i:]).Sub(step).StoreSlice(p[i:])
	}
	archsimd.ClearAVXUpperBits()
	if n < len(p) {
		// The same steps on a zero-padded copy of the tail: padding lanes
		// compute 0/(0+eps) and are not copied back. The copies (memmove)
		// run with the upper register halves clean.
		var tp, tg, tm, tv [16]float32
		copy(tp[:], p[n:])
		copy(tg[:], g[n:])
		copy(tm[:], m[n:])
		copy(tv[:], v[n:])
		gi := archsimd.LoadFloat32x16(&tg)
		mi := vb1.Mul(archsimd.LoadFloat32x16(&tm)).Add(vnb1.Mul(gi))
		vi := vb2.Mul(archsimd.LoadFloat32x16(&tv)).Add(vnb2.Mul(gi).Mul(gi))
		mi.Store(&tm)
		vi.Store(&tv)
		step := vlr.Mul(mi.Mul(vc1)).Div(vi.Mul(vc2).Sqrt().Add(veps))
		archsimd.LoadFloat32x16(&tp).Sub(step).Store(&tp)
		archsimd.ClearAVXUpperBits()
		copy(p[n:], tp[:])
		copy(m[n:], tm[:])
		copy(v[n:], tv[:])
	}
}
