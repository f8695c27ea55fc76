package model

import (
	"fmt"
	"math"
)

// LossKind selects the training objective.
type LossKind uint8

// The losses; each is averaged over all samples and outputs.
const (
	MSE LossKind = iota
	MAE
	Huber
	// AsymMSE is squared error weighted by Late where the prediction is
	// above the target: w·r² with w = Late if r = y - t > 0, else 1.
	AsymMSE
)

// Loss is a loss function; Delta is Huber's threshold and Late is AsymMSE's
// weight of over-predictions (Late > 1 makes them cost more than
// under-predictions of the same size); each is ignored by the other kinds.
type Loss struct {
	Kind  LossKind
	Delta float64
	Late  float64
}

func (l Loss) validate() error {
	switch l.Kind {
	case MSE, MAE:
		return nil
	case Huber:
		if !(l.Delta > 0) || math.IsInf(l.Delta, 1) {
			return fmt.Errorf("model: huber delta %v must be positive and finite", l.Delta)
		}
		return nil
	case AsymMSE:
		if !(l.Late >= 1) || math.IsInf(l.Late, 1) {
			return fmt.Errorf("model: asymmetric mse late weight %v must be at least 1 and finite", l.Late)
		}
		return nil
	}
	return fmt.Errorf("model: unknown loss kind %d", l.Kind)
}

// lossGrad returns the summed (not averaged) loss of y against t and, when
// g is not nil, writes d(sum)/dy * scale into g. The sum is accumulated in
// float64 so epoch losses do not drift with batch count.
func lossGrad[T Float](l Loss, y, t, g []T, scale T) float64 {
	t = t[:len(y)]
	var sum float64
	d, late := T(l.Delta), T(l.Late)
	for i, yv := range y {
		r := yv - t[i]
		var v float64
		var gr T
		switch l.Kind {
		case MSE:
			v, gr = float64(r)*float64(r), 2*r
		case MAE:
			v, gr = math.Abs(float64(r)), sign(r)
		case AsymMSE:
			w := T(1)
			if r > 0 {
				w = late
			}
			v, gr = float64(w)*float64(r)*float64(r), 2*w*r
		default:
			if a := T(math.Abs(float64(r))); a <= d {
				v, gr = 0.5*float64(r)*float64(r), r
			} else {
				v, gr = l.Delta*(float64(a)-0.5*l.Delta), d*sign(r)
			}
		}
		sum += v
		if g != nil {
			g[i] = gr * scale
		}
	}
	return sum
}

func sign[T Float](x T) T {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}
