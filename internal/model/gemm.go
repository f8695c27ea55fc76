package model

// Matrix products for training and batch inference. Go does not vectorise,
// so speed comes from register tiling: a 4x4 block of C is accumulated in
// registers while both operands stream from packed panels that are
// contiguous in the order the micro-kernel reads them. Packing also turns
// every transpose case into the same kernel.

const tile = 4

// gemmBuf holds packing scratch so steady-state calls allocate nothing.
type gemmBuf[T Float] struct{ a, b []T }

func growTo[T Float](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// gemm computes C = op(A)·op(B), or C += op(A)·op(B) when add is set.
// C is m x n row-major; op(A) is m x k, stored k x m when transA; op(B) is
// k x n, stored n x k when transB.
func gemm[T Float](m, n, k int, a []T, transA bool, b []T, transB bool, c []T, add bool, buf *gemmBuf[T]) {
	if m == 0 || n == 0 {
		return
	}
	if gemmFast(m, n, k, a, transA, b, transB, c, add, buf) {
		return
	}
	pm, pn := (m+tile-1)/tile, (n+tile-1)/tile
	buf.a = growTo(buf.a, pm*tile*k)
	buf.b = growTo(buf.b, pn*tile*k)
	pack(buf.a, a, m, k, transA)
	pack(buf.b, b, n, k, !transB)
	c = c[:m*n]
	for pi := 0; pi < pm; pi++ {
		ap := buf.a[pi*tile*k : (pi+1)*tile*k]
		i0 := pi * tile
		mr := min(tile, m-i0)
		for pj := 0; pj < pn; pj++ {
			bp := buf.b[pj*tile*k : (pj+1)*tile*k]
			j0 := pj * tile
			nr := min(tile, n-j0)
			if mr == tile && nr == tile {
				kernel4x4(ap, bp, c[i0*n+j0:], n, add)
			} else {
				kernelEdge(ap, bp, c[i0*n+j0:], n, mr, nr, add)
			}
		}
	}
}

// gemmBias sets C (m x n) = bias + op(A)·op(B), bias added to every row.
// The portable path copies the bias into C and accumulates onto it, which
// rounds as (Σ products) + bias, the order the single-sample matVec uses.
func gemmBias[T Float](m, n, k int, a []T, transA bool, b []T, transB bool, bias, c []T, buf *gemmBuf[T]) {
	if m == 0 || n == 0 {
		return
	}
	if gemmBiasFast(m, n, k, a, transA, b, transB, bias, c, buf) {
		return
	}
	for r := 0; r < m; r++ {
		copy(c[r*n:(r+1)*n], bias)
	}
	gemm(m, n, k, a, transA, b, transB, c, true, buf)
}

// pack lays out the r x k logical matrix M into panels of tile rows, each
// stored p-major: dst[panel*tile*k + p*tile + i%tile] = M[i][p]. src is
// M row-major, or M transposed (k x r) when pMajor. Padding rows are zero.
func pack[T Float](dst, src []T, r, k int, pMajor bool) {
	packW(dst, src, r, k, pMajor, tile)
}

// packW is pack with panels of w rows.
func packW[T Float](dst, src []T, r, k int, pMajor bool, tile int) {
	pr := (r + tile - 1) / tile
	if pMajor {
		for p := 0; p < k; p++ {
			row := src[p*r : (p+1)*r]
			for i, v := range row {
				dst[(i/tile)*tile*k+p*tile+i%tile] = v
			}
		}
	} else {
		for i := 0; i < r; i++ {
			row := src[i*k : (i+1)*k]
			d := dst[(i/tile)*tile*k+i%tile:]
			for p, v := range row {
				d[p*tile] = v
			}
		}
	}
	for i := r; i < pr*tile; i++ {
		d := dst[(i/tile)*tile*k+i%tile:]
		for p := 0; p < k; p++ {
			d[p*tile] = 0
		}
	}
}

// kernel4x4 accumulates a full 4x4 block; sixteen named accumulators keep
// the block in registers (an array would be kept in memory).
func kernel4x4[T Float](ap, bp, c []T, ldc int, add bool) {
	var c00, c01, c02, c03, c10, c11, c12, c13 T
	var c20, c21, c22, c23, c30, c31, c32, c33 T
	bp = bp[:len(ap)]
	for p := 0; p+tile <= len(ap); p += tile {
		a := ap[p : p+tile : p+tile]
		b := bp[p : p+tile : p+tile]
		a0, a1, a2, a3 := a[0], a[1], a[2], a[3]
		b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	store4(c[0:4:4], c00, c01, c02, c03, add)
	store4(c[ldc:ldc+4:ldc+4], c10, c11, c12, c13, add)
	store4(c[2*ldc:2*ldc+4:2*ldc+4], c20, c21, c22, c23, add)
	store4(c[3*ldc:3*ldc+4:3*ldc+4], c30, c31, c32, c33, add)
}

func store4[T Float](c []T, v0, v1, v2, v3 T, add bool) {
	if add {
		v0 += c[0]
		v1 += c[1]
		v2 += c[2]
		v3 += c[3]
	}
	c[0], c[1], c[2], c[3] = v0, v1, v2, v3
}

// kernelEdge handles partial blocks at the right and bottom borders.
func kernelEdge[T Float](ap, bp, c []T, ldc, mr, nr int, add bool) {
	var acc [tile * tile]T
	bp = bp[:len(ap)]
	for p := 0; p+tile <= len(ap); p += tile {
		for i := 0; i < mr; i++ {
			ai := ap[p+i]
			for j := 0; j < nr; j++ {
				acc[i*tile+j] += ai * bp[p+j]
			}
		}
	}
	for i := 0; i < mr; i++ {
		for j := 0; j < nr; j++ {
			if add {
				c[i*ldc+j] += acc[i*tile+j]
			} else {
				c[i*ldc+j] = acc[i*tile+j]
			}
		}
	}
}
