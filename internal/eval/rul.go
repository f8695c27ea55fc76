package eval

import (
	"fmt"
	"math"
)

// RULErrors summarises predicted against true remaining useful life.
type RULErrors struct {
	N     int     `json:"n"`
	RMSE  float64 `json:"rmse"`
	MAE   float64 `json:"mae"`
	PHM08 float64 `json:"phm08"`
	Bias  float64 `json:"bias"`  // mean(pred - true): > 0 means late predictions
	Early int     `json:"early"` // d < 0
	Late  int     `json:"late"`  // d > 0
}

// PHM08Term is one asset's contribution to the PHM08 score for d = pred - true.
func PHM08Term(d float64) float64 {
	if d < 0 {
		return math.Exp(-d/13) - 1
	}
	return math.Exp(d/10) - 1
}

// RUL compares predictions with truths pairwise. A NaN prediction is an error: the
// caller decides how to treat assets it could not score.
func RUL(pred, truth []float64) (RULErrors, error) {
	if len(pred) != len(truth) {
		return RULErrors{}, fmt.Errorf("rul metrics: %d predictions for %d true values", len(pred), len(truth))
	}
	if len(pred) == 0 {
		return RULErrors{}, fmt.Errorf("rul metrics: no predictions")
	}
	var e RULErrors
	var se, ae, sd float64
	for i, p := range pred {
		if math.IsNaN(p) || math.IsInf(p, 0) || math.IsNaN(truth[i]) {
			return RULErrors{}, fmt.Errorf("rul metrics: asset %d has prediction %v, truth %v (not finite)", i, p, truth[i])
		}
		d := p - truth[i]
		se += d * d
		ae += math.Abs(d)
		sd += d
		e.PHM08 += PHM08Term(d)
		switch {
		case d < 0:
			e.Early++
		case d > 0:
			e.Late++
		}
	}
	n := float64(len(pred))
	e.N = len(pred)
	e.RMSE, e.MAE, e.Bias = math.Sqrt(se/n), ae/n, sd/n
	return e, nil
}

// CapRUL applies the piecewise-linear target: min(v, cap) for each v; cap <= 0 leaves
// the values alone. It returns a new slice.
func CapRUL(v []float64, cap float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x
		if cap > 0 {
			out[i] = math.Min(x, cap)
		}
	}
	return out
}
