package features

import (
	"fmt"
	"math"
)

// MaxHistoryAlphas bounds how many smoothing factors a History takes, so a corrupt
// model file cannot make the daemon allocate without limit.
const MaxHistoryAlphas = 8

// History keeps, per sensor and per smoothing factor alpha, an exponentially weighted
// mean over a stream's whole history, not just the current window:
//
//	s_0 = first finite value,  s_t = alpha*x_t + (1-alpha)*s_{t-1}
//
// A missing (non-finite) value leaves s unchanged; before a sensor's first finite
// value its outputs are 0 (the training mean of a regime-normalised sensor). A small
// alpha (0.05: memory of about 20 rows) smooths the noise of degradation signals over
// more rows than a window holds, and for short histories it still gives a number.
//
// Batch and streaming use the same Push, so HistoryBatch equals, bit for bit, what a
// History emits when fed the same rows from its zero state. Not safe for concurrent
// use; use one per machine.
type History struct {
	alphas []float64
	nS     int
	state  []float64 // sensor-major: state[s*len(alphas)+k]
	seen   []bool    // per sensor
}

// ValidateHistory checks smoothing factors: 1..MaxHistoryAlphas values in (0,1].
func ValidateHistory(alphas []float64) error {
	if len(alphas) == 0 || len(alphas) > MaxHistoryAlphas {
		return fmt.Errorf("%w: history ewma needs 1..%d smoothing factors, got %d", ErrInvalidSpec, MaxHistoryAlphas, len(alphas))
	}
	for _, a := range alphas {
		if !(a > 0 && a <= 1) {
			return fmt.Errorf("%w: history ewma alpha %v not in (0,1]", ErrInvalidSpec, a)
		}
	}
	return nil
}

// NewHistory allocates the state for nSensors sensors.
func NewHistory(alphas []float64, nSensors int) (*History, error) {
	if err := ValidateHistory(alphas); err != nil {
		return nil, err
	}
	if nSensors < 1 {
		return nil, fmt.Errorf("%w: history ewma needs at least one sensor", ErrInvalidSpec)
	}
	h := &History{alphas: append([]float64(nil), alphas...), nS: nSensors,
		state: make([]float64, nSensors*len(alphas)), seen: make([]bool, nSensors)}
	return h, nil
}

// HistoryNames lists the outputs as "sensor.hewma<k>" (k = index of the alpha) in
// output order: per sensor, one value per alpha.
func HistoryNames(sensors []string, alphas []float64) []string {
	out := make([]string, 0, len(sensors)*len(alphas))
	for _, s := range sensors {
		for k := range alphas {
			out = append(out, fmt.Sprintf("%s.hewma%d", s, k))
		}
	}
	return out
}

// Len is the number of outputs: sensors x alphas.
func (h *History) Len() int { return len(h.state) }

// Reset forgets the history (a new stream, or after maintenance).
func (h *History) Reset() {
	clear(h.state)
	clear(h.seen)
}

// State returns a copy of the means (sensor-major, as Push writes them) and of which
// sensors have had a value, for a daemon to keep across a restart (Restore).
func (h *History) State() (means []float64, seen []bool) {
	return append([]float64(nil), h.state...), append([]bool(nil), h.seen...)
}

// Restore sets a state State returned, refusing one of another shape or with a mean
// that is not finite (CheckState); the history is then left as it was.
func (h *History) Restore(means []float64, seen []bool) error {
	if err := h.CheckState(means, seen); err != nil {
		return err
	}
	copy(h.state, means)
	copy(h.seen, seen)
	return nil
}

// CheckState says whether Restore would take the state, changing nothing.
func (h *History) CheckState(means []float64, seen []bool) error {
	if len(means) != len(h.state) || len(seen) != len(h.seen) {
		return fmt.Errorf("history: state of %d means and %d sensors, want %d and %d", len(means), len(seen), len(h.state), len(h.seen))
	}
	for _, v := range means {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("history: mean %v, want a finite value", v)
		}
	}
	return nil
}

// Push consumes one row (one value per sensor) and writes the current means to
// dst[:Len()].
func (h *History) Push(row, dst []float64) error {
	if len(row) != h.nS || len(dst) < len(h.state) {
		return fmt.Errorf("history: row has %d values (want %d), dst %d (want %d)", len(row), h.nS, len(dst), len(h.state))
	}
	na := len(h.alphas)
	for s, v := range row {
		st := h.state[s*na : (s+1)*na]
		switch {
		case math.IsNaN(v) || math.IsInf(v, 0):
		case !h.seen[s]:
			h.seen[s] = true
			for k := range st {
				st[k] = v
			}
		default:
			for k, a := range h.alphas {
				st[k] = a*v + (1-a)*st[k]
			}
		}
	}
	copy(dst, h.state)
	return nil
}

// HistoryBatch runs a fresh History over rows and returns the outputs after each row.
func HistoryBatch(alphas []float64, rows [][]float64) ([][]float64, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	h, err := NewHistory(alphas, len(rows[0]))
	if err != nil {
		return nil, err
	}
	out := make([][]float64, len(rows))
	for i, r := range rows {
		out[i] = make([]float64, h.Len())
		if err := h.Push(r, out[i]); err != nil {
			return nil, fmt.Errorf("row %d: %w", i, err)
		}
	}
	return out, nil
}
