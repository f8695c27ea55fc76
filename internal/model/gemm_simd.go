//go:build goexperiment.simd && amd64

package model

import "simd/archsimd"

// With GOEXPERIMENT=simd on amd64, float32 products run on the AVX-512
// path (gemm512, below) when the CPU has it, else on a 4x16 AVX2
// micro-kernel: eight 8-lane FMA accumulators, A broadcast per row, B
// loaded as two vectors per step. Other element types and CPUs without
// AVX2/FMA fall back to the portable kernel.

const simdRows, simdCols = 4, 16

var (
	haveAVX2   = archsimd.X86.AVX2() && archsimd.X86.FMA()
	haveAVX512 = archsimd.X86.AVX512()
)

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
	if haveAVX512 {
		gemm512(m, n, k, a32, transA, b32, transB, nil, c32, add, bb)
		return true
	}
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
	// Dirty upper halves of the vector registers slow every later legacy-SSE
	// instruction (all of Go's scalar float code); see vec_simd.go.
	archsimd.ClearAVXUpperBits()
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
	// The caller's edge merging is scalar (legacy SSE) code: leave the
	// upper register halves clean for it (see vec_simd.go).
	archsimd.ClearAVXUpperBits()
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

// The AVX-512 micro-kernels (gemm_avx512_amd64.s) compute an 8 x 32 (or
// 8 x 16) block of C from A read in place and a packed panel of B.
//
//go:noescape
func kern8x32(k int, a *float32, rs, cs int, b *float32, ldb int, c *float32, ldc int, bias *float32, add bool)

//go:noescape
func kern8x16(k int, a *float32, rs, cs int, b *float32, ldb int, c *float32, ldc int, bias *float32, add bool)

//go:noescape
func transpose8x8(src *float32, lds int, dst *float32, ldd int)

const mr512 = 8

// gemm512 is gemm on AVX-512. Only B is packed: A is read where it lies
// (row-major or transposed, through its two strides), which saves a
// transposing copy of the activations or deltas on every call; B is copied
// into panels of nr columns so the kernel's two vector loads per step are
// contiguous and the panel stays in L1 while every row block of A passes
// over it. Narrow outputs (n <= 16, the output layer) use 16-column panels
// so that half of every vector is not padding.
//
// With bias (len n) every row of C starts from it instead of zero: the
// forward pass's b + x·Wᵀ without first copying b into every row of C.
func gemm512(m, n, k int, a []float32, transA bool, b []float32, transB bool, bias, c []float32, add bool, buf *gemmBuf[float32]) {
	nr := 32
	if n <= 16 {
		nr = 16
	}
	pn := (n + nr - 1) / nr
	// B row-major with whole panels is read in place, its rows n apart.
	inPlace := !transB && n%nr == 0
	ldb := nr
	if inPlace {
		b, ldb = b[:k*n], n
	} else {
		buf.b = growTo(buf.b, pn*nr*k)
		packPanels(buf.b, b, n, k, transB, nr)
	}
	rs, cs := k, 1 // A(i,p) = a[i*rs + p*cs]
	if transA {
		rs, cs = 1, m
	}
	a, c = a[:m*k], c[:m*n]
	full := m - m%mr512
	var edge [mr512 * 32]float32
	var biasPad [32]float32 // the bias of a ragged last panel, zero-padded
	for pj := 0; pj < pn; pj++ {
		j0 := pj * nr
		var bp []float32
		if inPlace {
			bp = b[j0:]
		} else {
			bp = buf.b[pj*nr*k : (pj+1)*nr*k]
		}
		w := min(nr, n-j0)
		var bias0 *float32
		if bias != nil {
			if w == nr {
				_ = bias[j0+nr-1] // the kernel reads nr floats from bias0
				bias0 = &bias[j0]
			} else {
				clear(biasPad[:])
				copy(biasPad[:], bias[j0:j0+w])
				bias0 = &biasPad[0]
			}
		}
		for i0 := 0; i0 < full; i0 += mr512 {
			// The kernel reads A rows i0..i0+7 and writes 8 rows of C; both
			// are in bounds for a full block (checked by the slicing above).
			if w == nr {
				kern512(nr, k, &a[i0*rs], rs, cs, &bp[0], ldb, &c[i0*n+j0], n, bias0, add)
				continue
			}
			kern512(nr, k, &a[i0*rs], rs, cs, &bp[0], ldb, &edge[0], nr, bias0, false)
			mergeEdge(c[i0*n+j0:], n, edge[:], nr, mr512, w, add)
		}
		if full < m {
			// Fewer than 8 rows left: copy them, zero-padded, into a packed
			// p-major block so the kernel reads nothing outside A.
			rows := m - full
			buf.a = growTo(buf.a, mr512*k)
			ap := buf.a
			clear(ap)
			for p := 0; p < k; p++ {
				for i := 0; i < rows; i++ {
					ap[p*mr512+i] = a[(full+i)*rs+p*cs]
				}
			}
			kern512(nr, k, &ap[0], 1, mr512, &bp[0], ldb, &edge[0], nr, bias0, false)
			mergeEdge(c[full*n+j0:], n, edge[:], nr, rows, w, add)
		}
	}
}

func kern512(nr, k int, a *float32, rs, cs int, b *float32, ldb int, c *float32, ldc int, bias *float32, add bool) {
	if nr == 32 {
		kern8x32(k, a, rs, cs, b, ldb, c, ldc, bias, add)
	} else {
		kern8x16(k, a, rs, cs, b, ldb, c, ldc, bias, add)
	}
}

// mergeEdge writes (or adds) the rows x w corner of an edge block computed
// into scratch with row stride ld into c with row stride ldc.
func mergeEdge(c []float32, ldc int, edge []float32, ld, rows, w int, add bool) {
	for i := 0; i < rows; i++ {
		dst, src := c[i*ldc:i*ldc+w], edge[i*ld:i*ld+w]
		if add {
			for j, v := range src {
				dst[j] += v
			}
		} else {
			copy(dst, src)
		}
	}
}

// packPanels lays out the k x n matrix op(B) as panels of w columns, each k
// rows of w contiguous floats (zero-padded past n): dst[panel*w*k + p*w + j].
// b is k x n row-major, or n x k (B transposed) when trans.
func packPanels(dst, b []float32, n, k int, trans bool, w int) {
	for j0 := 0; j0 < n; j0 += w {
		d := dst[(j0/w)*w*k : (j0/w+1)*w*k]
		cnt := min(w, n-j0)
		if cnt < w {
			clear(d)
		}
		if !trans {
			for p := 0; p < k; p++ {
				copy(d[p*w:p*w+cnt], b[p*n+j0:p*n+j0+cnt])
			}
			continue
		}
		// Whole 8 x 8 blocks in registers; the ragged rest element by element.
		j8, k8 := cnt-cnt%8, k-k%8
		for j := 0; j < j8; j += 8 {
			_ = b[(j0+j+7)*k+k8-1] // the last element the blocks read
			for p := 0; p < k8; p += 8 {
				transpose8x8(&b[(j0+j)*k+p], k, &d[p*w+j], w)
			}
		}
		for j := 0; j < cnt; j++ {
			row := b[(j0+j)*k : (j0+j+1)*k]
			dd := d[j:]
			p0 := k8
			if j >= j8 {
				p0 = 0
			}
			for p := p0; p < k; p++ {
				dd[p*w] = row[p]
			}
		}
	}
}

// gemmBiasFast sets C = bias (every row) + op(A)·op(B) when the AVX-512
// kernel can; see gemmBias.
func gemmBiasFast[T Float](m, n, k int, a []T, transA bool, b []T, transB bool, bias, c []T, buf *gemmBuf[T]) bool {
	a32, ok := any(a).([]float32)
	if !ok || !haveAVX512 {
		return false
	}
	gemm512(m, n, k, a32, transA, any(b).([]float32), transB, any(bias).([]float32)[:n], any(c).([]float32), false, any(buf).(*gemmBuf[float32]))
	return true
}
