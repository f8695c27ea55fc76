//go:build goexperiment.simd && amd64

package model

import "simd/archsimd"

// With GOEXPERIMENT=simd on amd64, float32 products run on a 4x16 AVX2
// micro-kernel: eight 8-lane FMA accumulators, A broadcast per row, B
// loaded as two vectors per step. Other element types and CPUs without
// AVX2/FMA fall back to the portable kernel.

const simdRows, simdCols = 4, 16

var haveAVX2 = archsimd.X86.AVX2() && archsimd.X86.FMA()

func gemmFast[T Float](m, n, k int, a []T, transA bool, b []T, transB bool, c []T, add bool, buf *gemmBuf[T]) bool {
	if !haveAVX2 {
		return false
	}
	a32, ok := any(a).([]float32)
	if !ok {
		return false
	}
	b32, c32 := any(b).([]float32), any(c).([]float32)
	bb := any(buf).(*gemmBuf[float32])
	pm, pn := (m+simdRows-1)/simdRows, (n+simdCols-1)/simdCols
	bb.a = growTo(bb.a, pm*simdRows*k)
	bb.b = growTo(bb.b, pn*simdCols*k)
	packW(bb.a, a32, m, k, transA, simdRows)
	packW(bb.b, b32, n, k, !transB, simdCols)
	c32 = c32[:m*n]
	var edge [simdRows * simdCols]float32
	for pi := 0; pi < pm; pi++ {
		ap := bb.a[pi*simdRows*k : (pi+1)*simdRows*k]
		i0 := pi * simdRows
		mr := min(simdRows, m-i0)
		for pj := 0; pj < pn; pj++ {
			bp := bb.b[pj*simdCols*k : (pj+1)*simdCols*k]
			j0 := pj * simdCols
			nr := min(simdCols, n-j0)
			if mr == simdRows && nr == simdCols {
				kernel4x16(ap, bp, c32[i0*n+j0:], n, add)
				continue
			}
			kernel4x16(ap, bp, edge[:], simdCols, false)
			for i := 0; i < mr; i++ {
				row := c32[(i0+i)*n+j0 : (i0+i)*n+j0+nr]
				for j := range row {
					if add {
						row[j] += edge[i*simdCols+j]
					} else {
						row[j] = edge[i*simdCols+j]
					}
				}
			}
		}
	}
	return true
}

func kernel4x16(ap, bp, c []float32, ldc int, add bool) {
	var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x8
	k := len(ap) / simdRows
	bp = bp[:k*simdCols]
	for p := 0; p < k; p++ {
		b0 := archsimd.LoadFloat32x8Slice(bp[p*simdCols:])
		b1 := archsimd.LoadFloat32x8Slice(bp[p*simdCols+8:])
		a := ap[p*simdRows : p*simdRows+4 : p*simdRows+4]
		a0 := archsimd.BroadcastFloat32x8(a[0])
		c00, c01 = a0.MulAdd(b0, c00), a0.MulAdd(b1, c01)
		a1 := archsimd.BroadcastFloat32x8(a[1])
		c10, c11 = a1.MulAdd(b0, c10), a1.MulAdd(b1, c11)
		a2 := archsimd.BroadcastFloat32x8(a[2])
		c20, c21 = a2.MulAdd(b0, c20), a2.MulAdd(b1, c21)
		a3 := archsimd.BroadcastFloat32x8(a[3])
		c30, c31 = a3.MulAdd(b0, c30), a3.MulAdd(b1, c31)
	}
	storeRow(c[0:], c00, c01, add)
	storeRow(c[ldc:], c10, c11, add)
	storeRow(c[2*ldc:], c20, c21, add)
	storeRow(c[3*ldc:], c30, c31, add)
}

func storeRow(c []float32, v0, v1 archsimd.Float32x8, add bool) {
	if add {
		v0 = v0.Add(archsimd.LoadFloat32x8Slice(c))
		v1 = v1.Add(archsimd.LoadFloat32x8Slice(c[8:]))
	}
	v0.StoreSlice(c)
	v1.StoreSlice(c[8:])
}

// fusedKernel reports whether batch products use fused multiply-adds,
// which round differently from the single-sample path.
var fusedKernel = haveAVX2
