package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Gradient checks follow gonum's optimize/functions/validate.go: central
// differences (f(p+h)-f(p-h))/2h with h = 1e-6 in float64. Truncation error
// is O(h²) ≈ 1e-12 and rounding error ≈ eps/h ≈ 1e-10 relative to the loss,
// so agreement to 1e-6 (relative, floored at 1e-7 absolute) is a tolerance
// with two orders of margin that still catches any wrong term.
const (
	fdStep   = 1e-6
	fdRelTol = 1e-6
	fdAbsTol = 1e-7
)

func randData(rng *rand.Rand, rows, cols int) []float64 {
	s := make([]float64, rows*cols)
	for i := range s {
		s[i] = rng.NormFloat64()
	}
	return s
}

func checkGradient(t *testing.T, net *MLP[float64], x, y []float64, loss Loss, l2 float64) {
	t.Helper()
	p := net.Params()
	grad := make([]float64, len(p))
	if _, err := net.Objective(x, y, loss, l2, grad); err != nil {
		t.Fatal(err)
	}
	for i := range p {
		orig := p[i]
		p[i] = orig + fdStep
		fp, _ := net.Objective(x, y, loss, l2, nil)
		p[i] = orig - fdStep
		fm, _ := net.Objective(x, y, loss, l2, nil)
		p[i] = orig
		fd := (fp - fm) / (2 * fdStep)
		if d := math.Abs(fd - grad[i]); d > fdAbsTol && d > fdRelTol*math.Abs(fd) {
			t.Errorf("param %d: backprop %.10g, finite difference %.10g", i, grad[i], fd)
		}
	}
}

func TestGradientCheck(t *testing.T) {
	losses := []Loss{{Kind: MSE}, {Kind: MAE}, {Kind: Huber, Delta: 0.5}}
	acts := []Activation{Linear, ReLU, LeakyReLU, Tanh, Sigmoid}
	for _, loss := range losses {
		for _, act := range acts {
			for _, out := range []Activation{Linear, act} {
				name := fmt.Sprintf("%v/hidden=%v/out=%v", []string{"mse", "mae", "huber"}[loss.Kind], act, out)
				t.Run(name, func(t *testing.T) {
					rng := rand.New(rand.NewPCG(7, uint64(act)))
					net, err := New[float64](3, []Layer{{5, act}, {4, act}, {2, out}}, 11)
					if err != nil {
						t.Fatal(err)
					}
					for i := range net.Params() { // non-zero biases exercise their gradient
						net.Params()[i] += 0.1 * rng.NormFloat64()
					}
					x, y := randData(rng, 6, 3), randData(rng, 6, 2)
					checkGradient(t, net, x, y, loss, 0.05)
				})
			}
		}
	}
}

// The float32 fast path runs the same code as the checked float64 one;
// this confirms nothing precision-specific breaks it. float32 has 24-bit
// mantissas and sums of ~10 terms here, so 1e-4 relative is its noise.
func TestFloat32GradientMatchesFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n32, _ := New[float32](4, []Layer{{8, Tanh}, {6, ReLU}, {3, Linear}}, 5)
	n64 := Convert[float64](n32)
	x, y := randData(rng, 10, 4), randData(rng, 10, 3)
	x32, y32 := toF32(x), toF32(y)
	g32 := make([]float32, len(n32.Params()))
	g64 := make([]float64, len(g32))
	l32, _ := n32.Objective(x32, y32, Loss{Kind: MSE}, 0.01, g32)
	l64, _ := n64.Objective(widen(x32), widen(y32), Loss{Kind: MSE}, 0.01, g64)
	if math.Abs(l32-l64) > 1e-4*l64 {
		t.Errorf("loss float32 %v, float64 %v", l32, l64)
	}
	for i := range g64 {
		if math.Abs(float64(g32[i])-g64[i]) > 1e-4*(math.Abs(g64[i])+1e-2) {
			t.Errorf("grad %d: float32 %v, float64 %v", i, g32[i], g64[i])
		}
	}
}

func toF32(s []float64) []float32 {
	d := make([]float32, len(s))
	for i, v := range s {
		d[i] = float32(v)
	}
	return d
}

// widen widens float32 values so both precisions see identical inputs.
func widen(s []float32) []float64 {
	d := make([]float64, len(s))
	for i, v := range s {
		d[i] = float64(v)
	}
	return d
}
