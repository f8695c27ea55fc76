package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refForward is the textbook forward pass h = f(W·x + b) in float64,
// written independently of the package's kernels.
func refForward(n *MLP[float64], x []float64) []float64 {
	h := x
	for l, ly := range n.layers {
		w, b, in := n.weights(l), n.biases(l), len(h)
		z := make([]float64, ly.Size)
		for j := range z {
			s := b[j]
			for k := range h {
				s += w[j*in+k] * h[k]
			}
			switch ly.Act {
			case ReLU:
				s = math.Max(s, 0)
			case LeakyReLU:
				if s < 0 {
					s *= 0.01
				}
			case Tanh:
				s = math.Tanh(s)
			case Sigmoid:
				s = 1 / (1 + math.Exp(-s))
			}
			z[j] = s
		}
		h = z
	}
	return h
}

func TestPredictMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	layers := []Layer{{9, ReLU}, {7, LeakyReLU}, {6, Tanh}, {5, Sigmoid}, {3, Linear}}
	n64, _ := New[float64](5, layers, 2)
	n32 := Convert[float32](n64)
	x := randData(rng, 70, 5) // 70 rows: one full predictChunk plus a partial one
	p64, p32 := n64.NewPredictor(), n32.NewPredictor()
	batch64 := p64.PredictBatch(x, nil)
	batch32 := p32.PredictBatch(toF32(x), nil)
	for r := 0; r < 70; r++ {
		xr := x[r*5 : (r+1)*5]
		want := refForward(n64, xr)
		got := p64.Predict(xr, nil)
		got32 := p32.Predict(toF32(xr), nil)
		for j, w := range want {
			// float64: same sums in a different association only at the bias, 1e-12.
			if math.Abs(got[j]-w) > 1e-12 {
				t.Fatalf("row %d out %d: Predict %v, reference %v", r, j, got[j], w)
			}
			// Single and batch paths sum in the same order: bit for bit,
			// unless the SIMD build fuses multiply-adds (then float32 rounding).
			if !fusedKernel && (batch64[r*3+j] != got[j] || batch32[r*3+j] != got32[j]) {
				t.Fatalf("row %d out %d: batch and single predictions differ", r, j)
			}
			if math.Abs(float64(batch32[r*3+j]-got32[j])) > 1e-5 || batch64[r*3+j] != got[j] {
				t.Fatalf("row %d out %d: batch and single predictions differ", r, j)
			}
			// float32 rounding over 5 layers of width <= 9: 1e-5 absolute.
			if math.Abs(float64(got32[j])-w) > 1e-5 {
				t.Fatalf("row %d out %d: float32 %v, reference %v", r, j, got32[j], w)
			}
		}
	}
}

func TestPredictZeroAllocs(t *testing.T) {
	net, _ := New[float32](64, []Layer{{64, ReLU}, {32, ReLU}, {8, Linear}}, 1)
	p := net.NewPredictor()
	x, dst := make([]float32, 64), make([]float32, 8)
	if a := testing.AllocsPerRun(100, func() { p.Predict(x, dst) }); a != 0 {
		t.Errorf("Predict: %v allocs per call, want 0", a)
	}
	xb, db := make([]float32, 64*100), make([]float32, 8*100)
	p.PredictBatch(xb, db) // first call sizes the batch scratch
	if a := testing.AllocsPerRun(20, func() { p.PredictBatch(xb, db) }); a != 0 {
		t.Errorf("PredictBatch: %v allocs per call, want 0", a)
	}
}

func TestPredictPanicsOnWidth(t *testing.T) {
	net, _ := New[float32](3, []Layer{{1, Linear}}, 1)
	defer func() {
		if recover() == nil {
			t.Error("no panic for a wrong input width")
		}
	}()
	net.NewPredictor().Predict(make([]float32, 2), nil)
}
