package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Dataset is a set of samples as flat row-major slices: X holds Inputs()
// values per sample, Y holds Outputs() targets per sample.
type Dataset[T Float] struct {
	X, Y []T
}

// TrainConfig controls Train. The zero value of each optional field picks
// the default given in its comment.
type TrainConfig[T Float] struct {
	Epochs    int              // passes over the training set; required
	BatchSize int              // samples per step; 0 means 32
	Loss      Loss             // zero value is MSE
	Optimizer Optimizer[T]     // nil means NewAdam; its state is kept across calls
	Schedule  Schedule         // nil means ConstantLR(1e-3)
	L2        float64          // adds (L2/2)·||weights||² to the objective
	ClipNorm  float64          // clip gradients to this global norm; 0 disables
	Seed      uint64           // drives batch shuffling
	Patience  int              // epochs without val improvement before stopping; 0 disables
	MinDelta  float64          // improvement smaller than this does not count
	Clock     func() time.Time // for EpochStats.Elapsed; nil means time.Now
}

// EpochStats reports one epoch. Losses are mean data losses (without the
// L2 term); ValLoss is NaN without validation data.
type EpochStats struct {
	Epoch     int
	TrainLoss float64
	ValLoss   float64
	LR        float64
	Elapsed   time.Duration
}

// History is the record of a Train call. BestEpoch is the epoch whose
// weights the network holds when early stopping restored them, else -1.
type History struct {
	Epochs    []EpochStats
	BestEpoch int
	Stopped   bool // early stopping ended training before cfg.Epochs
}

// ErrDiverged reports a loss that became NaN or infinite.
var ErrDiverged = errors.New("model: training diverged")

func (c *TrainConfig[T]) withDefaults() (TrainConfig[T], error) {
	d := *c
	if d.Epochs < 1 {
		return d, fmt.Errorf("model: epochs %d, want >= 1", d.Epochs)
	}
	if d.BatchSize < 0 || d.BatchSize > maxBatchRows {
		return d, fmt.Errorf("model: batch size %d out of range", d.BatchSize)
	}
	if d.BatchSize == 0 {
		d.BatchSize = 32
	}
	for _, v := range []struct {
		name string
		x    float64
	}{{"L2", d.L2}, {"ClipNorm", d.ClipNorm}, {"MinDelta", d.MinDelta}} {
		if !(v.x >= 0) || math.IsInf(v.x, 1) {
			return d, fmt.Errorf("model: %s %v must be finite and >= 0", v.name, v.x)
		}
	}
	if d.Patience < 0 {
		return d, fmt.Errorf("model: patience %d, want >= 0", d.Patience)
	}
	if d.Optimizer == nil {
		d.Optimizer = NewAdam[T]()
	}
	if d.Schedule == nil {
		d.Schedule = ConstantLR(1e-3)
	}
	if d.Clock == nil {
		d.Clock = time.Now
	}
	return d, d.Loss.validate()
}

// Train fits net to train by mini-batch gradient descent on the objective
// of Objective. With validation data and cfg.Patience > 0 it stops once the
// validation loss has not improved by cfg.MinDelta for Patience epochs and
// restores the best weights. The same seed, data and config give the same
// weights bit for bit. onEpoch, if not nil, is called after every epoch.
// On cancellation it returns ctx.Err() with the weights of the last step.
func Train[T Float](ctx context.Context, net *MLP[T], train, val Dataset[T], cfg TrainConfig[T], onEpoch func(EpochStats)) (History, error) {
	hist := History{BestEpoch: -1}
	c, err := cfg.withDefaults()
	if err != nil {
		return hist, err
	}
	tr, err := newTrainer(net, train, val, c)
	if err != nil {
		return hist, err
	}
	start := c.Clock()
	for e := 0; e < c.Epochs; e++ {
		st, err := tr.epoch(ctx, e)
		if err != nil {
			return hist, err
		}
		st.Elapsed = c.Clock().Sub(start)
		hist.Epochs = append(hist.Epochs, st)
		if onEpoch != nil {
			onEpoch(st)
		}
		if tr.earlyStop(e, st.ValLoss) {
			hist.Stopped = e+1 < c.Epochs
			break
		}
	}
	if tr.best != nil {
		copy(net.params, tr.best)
		hist.BestEpoch = tr.bestEpoch
	}
	return hist, nil
}

// trainer is the state of one Train call.
type trainer[T Float] struct {
	net        *MLP[T]
	cfg        TrainConfig[T]
	train, val Dataset[T]
	nTrain     int
	nVal       int
	ws         *workspace[T]
	targets    []T
	perm       []int
	rng        *rand.Rand
	best       []T // best weights so far; nil unless early stopping
	bestLoss   float64
	bestEpoch  int
	wait       int
}

func newTrainer[T Float](net *MLP[T], train, val Dataset[T], c TrainConfig[T]) (*trainer[T], error) {
	n, err := checkData(net, train.X, train.Y, "training data")
	if err != nil {
		return nil, err
	}
	t := &trainer[T]{net: net, cfg: c, train: train, val: val, nTrain: n, bestLoss: math.Inf(1)}
	if len(val.X) > 0 || len(val.Y) > 0 {
		if t.nVal, err = checkData(net, val.X, val.Y, "validation data"); err != nil {
			return nil, err
		}
	}
	if c.Patience > 0 {
		if t.nVal == 0 {
			return nil, errors.New("model: early stopping (Patience > 0) needs validation data")
		}
		t.best = append([]T(nil), net.params...)
	}
	rows := min(c.BatchSize, max(n, t.nVal))
	t.ws = newWorkspace(net, rows)
	t.targets = make([]T, rows*net.Outputs())
	t.perm = make([]int, n)
	for i := range t.perm {
		t.perm[i] = i
	}
	t.rng = rand.New(rand.NewPCG(c.Seed, c.Seed^0x2545f4914f6cdd1d))
	return t, nil
}

// epoch runs one pass over the shuffled training set and evaluates the
// validation set.
func (t *trainer[T]) epoch(ctx context.Context, e int) (EpochStats, error) {
	lr := t.cfg.Schedule.LR(e)
	st := EpochStats{Epoch: e, LR: lr, ValLoss: math.NaN()}
	t.rng.Shuffle(len(t.perm), func(i, j int) { t.perm[i], t.perm[j] = t.perm[j], t.perm[i] })
	var sum float64
	for b, start := 0, 0; start < t.nTrain; b, start = b+1, start+t.ws.rows {
		if b%64 == 0 && ctx.Err() != nil {
			return st, ctx.Err()
		}
		sum += t.step(t.perm[start:min(start+t.ws.rows, t.nTrain)], T(lr))
	}
	st.TrainLoss = sum / float64(t.nTrain*t.net.Outputs())
	if math.IsNaN(st.TrainLoss) || math.IsInf(st.TrainLoss, 0) {
		return st, fmt.Errorf("%w at epoch %d: train loss %v", ErrDiverged, e, st.TrainLoss)
	}
	if t.nVal > 0 {
		st.ValLoss = t.evaluate(t.val, t.nVal)
	}
	return st, nil
}

// step gathers the samples idx into the batch buffers, computes the
// gradient and applies one optimizer update. It returns the summed loss.
func (t *trainer[T]) step(idx []int, lr T) float64 {
	in, out := t.net.inputs, t.net.Outputs()
	x := t.ws.acts[0]
	for r, i := range idx {
		copy(x[r*in:(r+1)*in], t.train.X[i*in:(i+1)*in])
		copy(t.targets[r*out:(r+1)*out], t.train.Y[i*out:(i+1)*out])
	}
	rows := len(idx)
	sum := t.ws.lossAndGrad(rows, t.targets[:rows*out], t.cfg.Loss, rows*out)
	p := t.net.params
	addL2(p, t.ws.grad, t.net.nWeight, T(t.cfg.L2))
	if t.cfg.ClipNorm > 0 {
		clipGlobalNorm(t.ws.grad, t.cfg.ClipNorm)
	}
	t.cfg.Optimizer.Step(p, t.ws.grad, t.net.nWeight, lr)
	return sum
}

// evaluate returns the mean data loss over d in batch-sized chunks.
func (t *trainer[T]) evaluate(d Dataset[T], n int) float64 {
	in, out := t.net.inputs, t.net.Outputs()
	var sum float64
	for r := 0; r < n; r += t.ws.rows {
		m := min(t.ws.rows, n-r)
		copy(t.ws.acts[0], d.X[r*in:(r+m)*in])
		y := t.ws.forward(m)
		sum += lossGrad[T](t.cfg.Loss, y, d.Y[r*out:(r+m)*out], nil, 0)
	}
	return sum / float64(n*out)
}

// earlyStop records a validation result and reports whether to stop.
func (t *trainer[T]) earlyStop(e int, val float64) bool {
	if t.best == nil {
		return false
	}
	if val < t.bestLoss-t.cfg.MinDelta {
		t.bestLoss, t.bestEpoch, t.wait = val, e, 0
		copy(t.best, t.net.params)
		return false
	}
	t.wait++
	return t.wait >= t.cfg.Patience
}
