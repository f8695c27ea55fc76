package model

import (
	"math"
	"testing"
)

// Every case starts from p = [1, -2] with lr = 0.1; the first entry is a
// weight and the second a bias (nw = 1). Expected values are worked by hand
// from each update formula in doc.go; the working is in the comments.
// Tolerance 1e-12: a few float64 operations, so only last-bit rounding.
func TestOptimizerSteps(t *testing.T) {
	g1, g2 := []float64{0.5, -0.1}, []float64{-0.25, 0.3}
	cases := []struct {
		name  string
		opt   Optimizer[float64]
		grads [][]float64
		want  [][]float64 // params after each step
	}{
		// p -= 0.1·g.
		{"sgd", SGD[float64]{}, [][]float64{g1, g1}, [][]float64{{0.95, -1.99}, {0.9, -1.98}}},
		// v1 = g; v2 = 0.9·0.5+0.5 = 0.95 (and -0.19); p -= 0.1·v.
		{"momentum", &Momentum[float64]{Mu: 0.9}, [][]float64{g1, g1}, [][]float64{{0.95, -1.99}, {0.855, -1.971}}},
		// p -= 0.1·(g + 0.9·v): 1-0.1·0.95 = 0.905; then 0.905-0.1·(0.5+0.855) = 0.7695.
		{"nesterov", &Nesterov[float64]{Mu: 0.9}, [][]float64{g1, g1}, [][]float64{{0.905, -1.981}, {0.7695, -1.9539}}},
		// eps = 0: step 1 is lr·sign(g); step 2 is lr·sign(g)/√2.
		{"adagrad", &AdaGrad[float64]{}, [][]float64{g1, g1},
			[][]float64{{0.9, -1.9}, {0.9 - 0.1/math.Sqrt2, -1.9 + 0.1/math.Sqrt2}}},
		// s1 = 0.1·g², so the step is lr·sign(g)/√0.1; s2 = 0.19·g².
		{"rmsprop", &RMSprop[float64]{Rho: 0.9}, [][]float64{g1, g1}, [][]float64{
			{1 - 0.1/math.Sqrt(0.1), -2 + 0.1/math.Sqrt(0.1)},
			{1 - 0.1/math.Sqrt(0.1) - 0.1/math.Sqrt(0.19), -2 + 0.1/math.Sqrt(0.1) + 0.1/math.Sqrt(0.19)}}},
		// Step 1: m̂ = g, v̂ = g², so -lr·sign(g). Step 2 with g2:
		// m = 0.9·0.05 - 0.1·0.25 = 0.02, m̂ = 0.02/0.19; v = 0.999·0.00025 + 0.001·0.0625,
		// v̂ = v/0.001999; 0.9 - 0.1·m̂/√v̂ = 0.87336629603396 (second entry likewise).
		{"adam", &Adam[float64]{Beta1: 0.9, Beta2: 0.999}, [][]float64{g1, g2},
			[][]float64{{0.9, -1.9}, {0.87336629603396, -1.9494189833297082}}},
		// Weight shrinks by (1 - 0.1·0.5) first: 0.95 - 0.1 = 0.85; the bias is not decayed.
		{"adamw", &AdamW[float64]{Adam: Adam[float64]{Beta1: 0.9, Beta2: 0.999}, WeightDecay: 0.5},
			[][]float64{g1}, [][]float64{{0.85, -1.9}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := []float64{1, -2}
			for s, g := range c.grads {
				c.opt.Step(p, g, 1, 0.1)
				for i := range p {
					if math.Abs(p[i]-c.want[s][i]) > 1e-12 {
						t.Errorf("step %d param %d = %.15g, want %.15g", s+1, i, p[i], c.want[s][i])
					}
				}
			}
		})
	}
}

// Adam's first step is -lr·sign(g) whatever |g| is, with default eps the
// deviation is eps/|g| relative: 1e-8/1e-3 = 1e-5.
func TestAdamFirstStepIsSign(t *testing.T) {
	p := []float32{0, 0, 0}
	NewAdam[float32]().Step(p, []float32{1e-3, -50, 2}, 3, 0.01)
	for i, want := range []float32{-0.01, 0.01, -0.01} {
		if math.Abs(float64(p[i]-want)) > 1e-5*0.01+1e-9 {
			t.Errorf("p[%d] = %v, want %v", i, p[i], want)
		}
	}
}

func TestClipGlobalNorm(t *testing.T) {
	g := []float64{3, 4} // norm 5
	if n := clipGlobalNorm(g, 1); n != 5 || math.Abs(g[0]-0.6) > 1e-15 || math.Abs(g[1]-0.8) > 1e-15 {
		t.Errorf("norm %v, clipped %v; want 5, [0.6 0.8]", n, g)
	}
	before := append([]float64(nil), g...)
	clipGlobalNorm(g, 10) // under the limit: untouched
	if g[0] != before[0] || g[1] != before[1] {
		t.Errorf("clipping below the limit changed %v", g)
	}
}

func TestSchedules(t *testing.T) {
	cases := []struct {
		name  string
		s     Schedule
		epoch int
		want  float64
	}{
		{"constant", ConstantLR(0.01), 99, 0.01},
		{"step before", StepDecay{Base: 1, Gamma: 0.5, Every: 10}, 9, 1},
		{"step after two", StepDecay{Base: 1, Gamma: 0.5, Every: 10}, 20, 0.25},
		{"cosine start", Cosine{Base: 1, Min: 0.1, Epochs: 10}, 0, 1},
		{"cosine half", Cosine{Base: 1, Min: 0.1, Epochs: 10}, 5, 0.55}, // cos(π/2) = 0
		{"cosine end", Cosine{Base: 1, Min: 0.1, Epochs: 10}, 10, 0.1},
	}
	for _, c := range cases {
		if got := c.s.LR(c.epoch); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: LR(%d) = %v, want %v", c.name, c.epoch, got, c.want)
		}
	}
}
