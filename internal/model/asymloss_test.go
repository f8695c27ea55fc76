package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// By hand, Late = 2, residuals r = y - t:
//
//	y=3,   t=1:    r = 2    (late)  v = 2·2²    = 8     g = 2·2·2      = 8
//	y=1,   t=2:    r = -1   (early) v = 1·1²    = 1     g = 2·1·(-1)   = -2
//	y=0.5, t=-1:   r = 1.5  (late)  v = 2·1.5²  = 4.5   g = 2·2·1.5    = 6
//	y=-2,  t=0.5:  r = -2.5 (early) v = 2.5²    = 6.25  g = 2·(-2.5)   = -5
//	y=4,   t=4:    r = 0            v = 0               g = 0
//
// lossGrad returns the sum (19.75) and writes g·scale.
func TestAsymMSEByHand(t *testing.T) {
	l := Loss{Kind: AsymMSE, Late: 2}
	y := []float64{3, 1, 0.5, -2, 4}
	tg := []float64{1, 2, -1, 0.5, 4}
	wantG := []float64{8, -2, 6, -5, 0}
	for _, scale := range []float64{1, 0.25} {
		g := make([]float64, len(y))
		if sum := lossGrad(l, y, tg, g, scale); sum != 19.75 {
			t.Errorf("scale %v: loss %v, want 19.75", scale, sum)
		}
		for i := range g {
			if want := wantG[i] * scale; g[i] != want {
				t.Errorf("scale %v: g[%d] = %v, want %v", scale, i, g[i], want)
			}
		}
	}
	// float32 takes the same path; these values are exact in float32 too.
	g32 := make([]float32, len(y))
	if sum := lossGrad(l, toF32(y), toF32(tg), g32, 1); sum != 19.75 {
		t.Errorf("float32: loss %v, want 19.75", sum)
	}
	for i := range g32 {
		if float64(g32[i]) != wantG[i] {
			t.Errorf("float32: g[%d] = %v, want %v", i, g32[i], wantG[i])
		}
	}
}

// Objective averages over samples and outputs like MSE: a one-layer linear
// net with zero weights and bias b predicts b for every row.
func TestAsymMSEObjectiveMean(t *testing.T) {
	net, err := New[float64](1, []Layer{{2, Linear}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	p := net.Params()
	clear(p)
	p[len(p)-2], p[len(p)-1] = 1, -1 // biases of outputs 0 and 1
	x := []float64{0, 0}             // two rows
	y := []float64{0, 0, 3, -2}      // row targets (0,0) and (3,-2)
	// residuals: row 0 (1, -1), row 1 (-2, 1); Late = 3:
	// values 3·1 + 1 + 4 + 3·1 = 11, mean over 4 = 2.75.
	got, err := net.Objective(x, y, Loss{Kind: AsymMSE, Late: 3}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got != 2.75 {
		t.Errorf("objective %v, want 2.75", got)
	}
}

func TestAsymMSELateOneIsMSE(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	y, tg := randData(rng, 20, 3), randData(rng, 20, 3)
	gm, ga := make([]float64, len(y)), make([]float64, len(y))
	sm := lossGrad(Loss{Kind: MSE}, y, tg, gm, 1.0/60)
	sa := lossGrad(Loss{Kind: AsymMSE, Late: 1}, y, tg, ga, 1.0/60)
	if sm != sa {
		t.Errorf("loss: mse %v, asym late=1 %v", sm, sa)
	}
	for i := range gm {
		if gm[i] != ga[i] {
			t.Errorf("g[%d]: mse %v, asym late=1 %v", i, gm[i], ga[i])
		}
	}

	net, err := New[float64](3, []Layer{{6, Tanh}, {3, Linear}}, 9)
	if err != nil {
		t.Fatal(err)
	}
	x := randData(rng, 20, 3)
	gradM, gradA := make([]float64, len(net.Params())), make([]float64, len(net.Params()))
	om, err := net.Objective(x, tg, Loss{Kind: MSE}, 0.01, gradM)
	if err != nil {
		t.Fatal(err)
	}
	oa, err := net.Objective(x, tg, Loss{Kind: AsymMSE, Late: 1}, 0.01, gradA)
	if err != nil {
		t.Fatal(err)
	}
	if om != oa {
		t.Errorf("objective: mse %v, asym late=1 %v", om, oa)
	}
	for i := range gradM {
		if gradM[i] != gradA[i] {
			t.Errorf("grad %d: mse %v, asym late=1 %v", i, gradM[i], gradA[i])
		}
	}
}

func TestAsymMSEValidate(t *testing.T) {
	for _, late := range []float64{0, 0.5, 0.999, -1, math.NaN(), math.Inf(1), math.Inf(-1)} {
		if err := (Loss{Kind: AsymMSE, Late: late}).validate(); err == nil {
			t.Errorf("late %v: no error", late)
		}
	}
	for _, late := range []float64{1, 1.5, 2, 100} {
		if err := (Loss{Kind: AsymMSE, Late: late}).validate(); err != nil {
			t.Errorf("late %v: %v", late, err)
		}
	}
	net, _ := New[float64](1, []Layer{{1, Linear}}, 1)
	if _, err := net.Objective([]float64{0}, []float64{0}, Loss{Kind: AsymMSE}, 0, nil); err == nil {
		t.Error("Objective accepted AsymMSE with zero Late")
	}
}

// Same finite-difference check as TestGradientCheck. With random targets
// the residuals fall on both sides of zero, so both branches are checked;
// the loss is C¹ at r = 0 (both sides have slope 0).
func TestAsymMSEGradientCheck(t *testing.T) {
	acts := []Activation{Linear, ReLU, LeakyReLU, Tanh, Sigmoid}
	for _, late := range []float64{1.5, 3} {
		for _, act := range acts {
			for _, out := range []Activation{Linear, act} {
				t.Run(fmt.Sprintf("late=%v/hidden=%v/out=%v", late, act, out), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(7, uint64(act)))
					net, err := New[float64](3, []Layer{{5, act}, {4, act}, {2, out}}, 11)
					if err != nil {
						t.Fatal(err)
					}
					for i := range net.Params() {
						net.Params()[i] += 0.1 * rng.NormFloat64()
					}
					x, y := randData(rng, 6, 3), randData(rng, 6, 2)
					pred := net.NewPredictor().PredictBatch(x, nil)
					var nLate, nEarly int
					for i, p := range pred {
						if p > y[i] {
							nLate++
						} else {
							nEarly++
						}
					}
					if nLate == 0 || nEarly == 0 {
						t.Fatalf("residuals all on one side (late %d, early %d); pick another seed", nLate, nEarly)
					}
					checkGradient(t, net, x, y, Loss{Kind: AsymMSE, Late: late}, 0.05)
				})
			}
		}
	}
}
