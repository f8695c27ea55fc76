package model

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// sample draws n points uniform on [-1,1]^d and applies f.
func sample(rng *rand.Rand, n, d, outs int, f func(x, y []float64)) Dataset[float64] {
	ds := Dataset[float64]{X: make([]float64, n*d), Y: make([]float64, n*outs)}
	for i := range n {
		x := ds.X[i*d : (i+1)*d]
		for j := range x {
			x[j] = 2*rng.Float64() - 1
		}
		f(x, ds.Y[i*outs:(i+1)*outs])
	}
	return ds
}

func testMSE(t *testing.T, net *MLP[float64], d Dataset[float64]) float64 {
	t.Helper()
	l, err := net.Objective(d.X, d.Y, Loss{Kind: MSE}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLearnsKnownFunctions(t *testing.T) {
	cases := []struct {
		name  string
		d     int
		outs  int
		f     func(x, y []float64)
		bound float64 // test MSE; target variances are ~0.1-0.3, so the bound means >99.9% explained
	}{
		{"sin(x1)+x2^2", 2, 1, func(x, y []float64) { y[0] = math.Sin(x[0]) + x[1]*x[1] }, 1e-4}, // reached 1.3e-5 when written
		{"three outputs", 2, 3, func(x, y []float64) {
			y[0], y[1], y[2] = x[0]*x[1], x[0]-0.5*x[1], math.Cos(2*x[0])
		}, 1e-4}, // reached 7e-6 when written
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 1))
			tr, te := sample(rng, 2000, c.d, c.outs, c.f), sample(rng, 500, c.d, c.outs, c.f)
			net, _ := New[float64](c.d, []Layer{{32, Tanh}, {32, Tanh}, {c.outs, Linear}}, 3)
			cfg := TrainConfig[float64]{Epochs: 150, BatchSize: 32, Schedule: Cosine{Base: 0.01, Min: 1e-4, Epochs: 150}, Seed: 5}
			if _, err := Train(context.Background(), net, tr, Dataset[float64]{}, cfg, nil); err != nil {
				t.Fatal(err)
			}
			if mse := testMSE(t, net, te); mse > c.bound {
				t.Errorf("test MSE %.3g, want < %.3g", mse, c.bound)
			} else {
				t.Logf("test MSE %.3g (bound %.3g)", mse, c.bound)
			}
		})
	}
}

func TestTrainDeterministic(t *testing.T) {
	run := func(seed uint64) []float32 {
		rng := rand.New(rand.NewPCG(2, 2))
		d := sample(rng, 300, 3, 2, func(x, y []float64) { y[0], y[1] = x[0]*x[2], math.Sin(x[1]) })
		net, _ := New[float32](3, []Layer{{16, ReLU}, {2, Linear}}, seed)
		cfg := TrainConfig[float32]{Epochs: 5, BatchSize: 16, Seed: seed, L2: 1e-3, ClipNorm: 1, Optimizer: NewAdamW[float32](0.01)}
		if _, err := Train(context.Background(), net, Dataset[float32]{toF32(d.X), toF32(d.Y)}, Dataset[float32]{}, cfg, nil); err != nil {
			t.Fatal(err)
		}
		return net.Params()
	}
	a, b, c := run(9), run(9), run(10)
	if !slices.Equal(a, b) {
		t.Error("same seed gave different weights")
	}
	if slices.Equal(a, c) {
		t.Error("different seeds gave identical weights")
	}
}

// Validation targets are the negated training targets, so every step that
// lowers the training loss raises the validation loss: the best epoch is the
// first one and early stopping must hand back exactly its weights.
func TestEarlyStoppingRestoresBest(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	tr := sample(rng, 200, 2, 1, func(x, y []float64) { y[0] = 2*x[0] - x[1] + 1 })
	val := Dataset[float64]{X: tr.X, Y: make([]float64, len(tr.Y))}
	for i, v := range tr.Y {
		val.Y[i] = -v
	}
	net, _ := New[float64](2, []Layer{{8, Tanh}, {1, Linear}}, 1)
	var afterFirst []float64
	cfg := TrainConfig[float64]{Epochs: 50, BatchSize: 20, Patience: 3, Schedule: ConstantLR(0.01)}
	h, err := Train(context.Background(), net, tr, val, cfg, func(s EpochStats) {
		if s.Epoch == 0 {
			afterFirst = slices.Clone(net.Params())
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !h.Stopped || len(h.Epochs) != 4 || h.BestEpoch != 0 {
		t.Fatalf("stopped=%v after %d epochs, best %d; want stop after 4, best 0", h.Stopped, len(h.Epochs), h.BestEpoch)
	}
	if h.Epochs[3].ValLoss <= h.Epochs[0].ValLoss {
		t.Fatalf("validation loss did not rise: %v", h.Epochs)
	}
	if !slices.Equal(net.Params(), afterFirst) {
		t.Error("weights are not those of the best epoch")
	}
}

func TestTrainErrors(t *testing.T) {
	net, _ := New[float64](2, []Layer{{1, Linear}}, 1)
	good := Dataset[float64]{X: []float64{1, 2, 3, 4}, Y: []float64{1, 2}}
	cfg := TrainConfig[float64]{Epochs: 1}
	nan := math.NaN()
	cases := []struct {
		name string
		tr   Dataset[float64]
		val  Dataset[float64]
		cfg  TrainConfig[float64]
		is   error
	}{
		{"empty", Dataset[float64]{}, Dataset[float64]{}, cfg, ErrEmpty},
		{"ragged x", Dataset[float64]{X: []float64{1, 2, 3}, Y: []float64{1}}, Dataset[float64]{}, cfg, nil},
		{"target count", Dataset[float64]{X: []float64{1, 2}, Y: []float64{1, 2}}, Dataset[float64]{}, cfg, nil},
		{"nan input", Dataset[float64]{X: []float64{1, nan}, Y: []float64{1}}, Dataset[float64]{}, cfg, nil},
		{"inf target", Dataset[float64]{X: []float64{1, 2}, Y: []float64{math.Inf(1)}}, Dataset[float64]{}, cfg, nil},
		{"bad val", good, Dataset[float64]{X: []float64{1, 2}}, cfg, nil},
		{"no epochs", good, Dataset[float64]{}, TrainConfig[float64]{}, nil},
		{"negative l2", good, Dataset[float64]{}, TrainConfig[float64]{Epochs: 1, L2: -1}, nil},
		{"huber delta", good, Dataset[float64]{}, TrainConfig[float64]{Epochs: 1, Loss: Loss{Kind: Huber}}, nil},
		{"patience without val", good, Dataset[float64]{}, TrainConfig[float64]{Epochs: 1, Patience: 2}, nil},
		{"diverges", good, Dataset[float64]{}, TrainConfig[float64]{Epochs: 3, Optimizer: SGD[float64]{}, Schedule: ConstantLR(1e200)}, ErrDiverged},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Train(context.Background(), net.Clone(), c.tr, c.val, c.cfg, nil)
			if err == nil || (c.is != nil && !errors.Is(err, c.is)) {
				t.Errorf("err = %v, want an error (is %v)", err, c.is)
			}
		})
	}
}

func TestTrainCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	net, _ := New[float64](1, []Layer{{1, Linear}}, 1)
	_, err := Train(ctx, net, Dataset[float64]{X: []float64{1}, Y: []float64{1}}, Dataset[float64]{}, TrainConfig[float64]{Epochs: 1}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestNewRejectsBadShapes(t *testing.T) {
	for _, c := range []struct {
		in     int
		layers []Layer
	}{{0, []Layer{{1, Linear}}}, {1, nil}, {1, []Layer{{0, Linear}}}, {1, []Layer{{1, Activation(99)}}}, {MaxWidth, []Layer{{MaxWidth, ReLU}}}} {
		if _, err := New[float32](c.in, c.layers, 1); err == nil {
			t.Errorf("New(%d, %v) accepted", c.in, c.layers)
		}
	}
}
