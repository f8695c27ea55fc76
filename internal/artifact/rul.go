package artifact

import (
	"math"
	"slices"
)

// RULBand is a rul model's uncertainty band: split-conformal residuals. The trainer
// runs the held-out assets through the live scoring path and, per bin of the
// predicted RUL, keeps the quantiles of true - predicted that leave (1-Coverage)/2
// of the residuals on each side. The band at a prediction p in bin b is
// [p + Lo[b], p + Hi[b]], clipped to [0, the model's cap].
type RULBand struct {
	Coverage float64 `json:"coverage"` // e.g. 0.8
	// Edges are the upper predicted-RUL bounds of every bin but the last,
	// increasing; len(Edges) == len(Lo)-1.
	Edges []float64 `json:"edges"`
	Lo    []float64 `json:"lo"`
	Hi    []float64 `json:"hi"`
}

// Bounds returns the band around prediction p.
func (b *RULBand) Bounds(p, cap float64) (lo, hi float64) {
	k, _ := slices.BinarySearch(b.Edges, p)
	lo, hi = math.Max(0, p+b.Lo[k]), p+b.Hi[k]
	if cap > 0 {
		hi = math.Min(cap, hi)
	}
	// A band always holds its own prediction.
	return math.Min(lo, p), math.Max(hi, p)
}

// validateRUL checks the rul-only fields: the band and short-history padding.
func (m *Model) validateRUL(add func(string, ...any)) {
	if m.PadShort && (m.Task != TaskRUL || m.Spec.Stride != 1) {
		add("pad_short needs a rul model with stride 1")
	}
	b := m.Band
	if b == nil {
		return
	}
	if m.Task != TaskRUL {
		add("rul_band needs a rul model")
	}
	finite := func(v []float64) bool {
		for _, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return false
			}
		}
		return true
	}
	switch {
	case !(b.Coverage > 0 && b.Coverage < 1):
		add("rul_band coverage %v not in (0,1)", b.Coverage)
	case len(b.Lo) == 0 || len(b.Lo) > 1000 || len(b.Hi) != len(b.Lo) || len(b.Edges) != len(b.Lo)-1:
		add("rul_band: %d lo, %d hi and %d edges; want n >= 1 of each bound and n-1 edges", len(b.Lo), len(b.Hi), len(b.Edges))
	case !finite(b.Edges) || !finite(b.Lo) || !finite(b.Hi) || !slices.IsSorted(b.Edges):
		add("rul_band: edges must be finite and increasing, bounds finite")
	default:
		for i := range b.Lo {
			if b.Lo[i] > b.Hi[i] {
				add("rul_band bin %d: lo %v above hi %v", i, b.Lo[i], b.Hi[i])
			}
		}
	}
}
