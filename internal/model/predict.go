package model

import "fmt"

// Predictor evaluates a network without allocating. It holds scratch
// buffers, so one Predictor must not be used by two goroutines at once;
// the MLP it reads is never written and can back any number of Predictors.
// Weights are read at call time, so a Predictor sees later training.
type Predictor[T Float] struct {
	net  *MLP[T]
	a, b []T // ping-pong activations for single samples
	ws   *workspace[T]
}

// predictChunk is the batch size PredictBatch processes at a time: large
// enough for the tiled kernel to pay off, small enough to stay in cache.
const predictChunk = 64

// NewPredictor returns a Predictor for n.
func (n *MLP[T]) NewPredictor() *Predictor[T] {
	w := n.maxWidth()
	return &Predictor[T]{net: n, a: make([]T, w), b: make([]T, w)}
}

// Predict writes the outputs for one sample x into dst, which is grown only
// if too short, and returns it. It panics if len(x) != Inputs(), like an
// out-of-range index: a wrong width is a programming error.
func (p *Predictor[T]) Predict(x, dst []T) []T {
	n := p.net
	if len(x) != n.inputs {
		panic(fmt.Sprintf("model: Predict got %d inputs, want %d", len(x), n.inputs))
	}
	cur, next := x, p.a
	for l, ly := range n.layers {
		z := next[:ly.Size]
		matVec(n.weights(l), n.biases(l), cur, z)
		activate(ly.Act, z)
		cur = z
		if &next[0] == &p.a[0] {
			next = p.b
		} else {
			next = p.a
		}
	}
	if cap(dst) < len(cur) {
		dst = make([]T, len(cur))
	}
	dst = dst[:len(cur)]
	copy(dst, cur)
	return dst
}

// matVec sets z = b + W·x with W stored len(z) x len(x). Four rows at a
// time share each load of x; every sum runs over x in order, the same order
// as the batch kernel, so single and batch predictions agree bit for bit
// (in the portable build; the SIMD build's fused multiply-adds round
// differently in the last bit). The explicit T(...) conversions stop the
// compiler from fusing multiply and add (Go fuses on arm64), so every
// architecture rounds the same way and `infer score` gives identical bytes.
func matVec[T Float](w, b, x, z []T) {
	in := len(x)
	j := 0
	for ; j+4 <= len(z); j += 4 {
		w0 := w[j*in : (j+1)*in]
		w1 := w[(j+1)*in : (j+2)*in]
		w2 := w[(j+2)*in : (j+3)*in]
		w3 := w[(j+3)*in : (j+4)*in]
		var s0, s1, s2, s3 T
		for k, xv := range x {
			s0 += T(w0[k] * xv)
			s1 += T(w1[k] * xv)
			s2 += T(w2[k] * xv)
			s3 += T(w3[k] * xv)
		}
		z[j], z[j+1], z[j+2], z[j+3] = b[j]+s0, b[j+1]+s1, b[j+2]+s2, b[j+3]+s3
	}
	for ; j < len(z); j++ {
		wj := w[j*in : (j+1)*in]
		var s T
		for k, xv := range x {
			s += T(wj[k] * xv)
		}
		z[j] = b[j] + s
	}
}

// PredictBatch evaluates the samples in x (flat, row-major) and writes the
// outputs, row-major, into dst, grown only if too short. It panics if
// len(x) is not a multiple of Inputs().
func (p *Predictor[T]) PredictBatch(x, dst []T) []T {
	n := p.net
	if len(x)%n.inputs != 0 {
		panic(fmt.Sprintf("model: PredictBatch got %d values, not a multiple of %d inputs", len(x), n.inputs))
	}
	rows, in, out := len(x)/n.inputs, n.inputs, n.Outputs()
	if cap(dst) < rows*out {
		dst = make([]T, rows*out)
	}
	dst = dst[:rows*out]
	if p.ws == nil {
		p.ws = newWorkspace(n, predictChunk)
	}
	for r := 0; r < rows; r += predictChunk {
		m := min(predictChunk, rows-r)
		copy(p.ws.acts[0], x[r*in:(r+m)*in])
		copy(dst[r*out:(r+m)*out], p.ws.forward(m))
	}
	return dst
}
