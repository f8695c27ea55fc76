package features

import "math"

// SkipReason says why a completed window produced no feature vector.
type SkipReason uint8

const (
	// SkipNone: the window was emitted.
	SkipNone SkipReason = iota
	// SkipGap: some sample in the window stayed missing, because its gap
	// was longer than MaxFill or no earlier value existed to fill from.
	SkipGap
	// SkipTooMissing: a sensor had more than MaxMissingFrac of the window
	// missing, even though every gap could be filled.
	SkipTooMissing
	// SkipNonFinite: a feature overflowed (inputs near ±MaxFloat64).
	SkipNonFinite
)

func (r SkipReason) String() string {
	switch r {
	case SkipNone:
		return "none"
	case SkipGap:
		return "gap"
	case SkipTooMissing:
		return "too_missing"
	case SkipNonFinite:
		return "non_finite"
	}
	return "unknown"
}

// Stats counts what extraction saw and dropped, so callers can export
// them as metrics (features itself never logs).
type Stats struct {
	Samples          int `json:"samples"`           // rows consumed
	MissingCells     int `json:"missing_cells"`     // NaN/±Inf input values
	FilledCells      int `json:"filled_cells"`      // missing values forward-filled
	Windows          int `json:"windows"`           // windows completed at the stride
	Emitted          int `json:"emitted"`           // feature vectors produced
	SkippedGap       int `json:"skipped_gap"`       // see SkipGap
	SkippedMissing   int `json:"skipped_missing"`   // see SkipTooMissing
	SkippedNonFinite int `json:"skipped_nonfinite"` // see SkipNonFinite
}

// Skipped is the number of completed windows that were not emitted.
func (s Stats) Skipped() int { return s.SkippedGap + s.SkippedMissing + s.SkippedNonFinite }

func (s *Stats) record(r SkipReason) {
	s.Windows++
	switch r {
	case SkipNone:
		s.Emitted++
	case SkipGap:
		s.SkippedGap++
	case SkipTooMissing:
		s.SkippedMissing++
	case SkipNonFinite:
		s.SkippedNonFinite++
	}
}

// filler applies the forward-fill rule sample by sample. Batch and
// streaming both drive the same filler so they see identical values.
type filler struct {
	maxFill int
	last    []float64
	have    []bool
	gap     []int
}

func newFiller(nSensors, maxFill int) filler {
	return filler{
		maxFill: maxFill,
		last:    make([]float64, nSensors),
		have:    make([]bool, nSensors),
		gap:     make([]int, nSensors),
	}
}

func (f *filler) reset() {
	clear(f.last)
	clear(f.have)
	clear(f.gap)
}

// cell classifies one input value after filling.
type cell uint8

const (
	cellObserved cell = iota
	cellFilled
	cellUnfilled
)

// step fills sensor i's value v; the returned value is NaN only when the
// cell is unfilled, and such windows are always skipped.
func (f *filler) step(i int, v float64) (float64, cell) {
	if !math.IsNaN(v) && !math.IsInf(v, 0) {
		f.last[i], f.have[i], f.gap[i] = v, true, 0
		return v, cellObserved
	}
	f.gap[i]++
	if f.have[i] && f.gap[i] <= f.maxFill {
		return f.last[i], cellFilled
	}
	return math.NaN(), cellUnfilled
}

func (s *Stats) countCell(c cell) {
	switch c {
	case cellFilled:
		s.MissingCells++
		s.FilledCells++
	case cellUnfilled:
		s.MissingCells++
	}
}

// decide applies the window-level policy from per-sensor missing counts
// and the total count of unfilled cells in the window.
func decide(spec *Spec, missing []int, unfilled int) SkipReason {
	if unfilled > 0 {
		return SkipGap
	}
	limit := spec.MaxMissingFrac * float64(spec.Window)
	for _, m := range missing {
		if float64(m) > limit {
			return SkipTooMissing
		}
	}
	return SkipNone
}

// windowEnds reports whether the sample at 0-based index i closes a window.
func windowEnds(spec *Spec, i int) bool {
	return i >= spec.Window-1 && (i-(spec.Window-1))%spec.Stride == 0
}

// MissingSamples is how many samples of a series sampled every period are missing in a
// step of dt between two samples (same unit): 0 for a regular step. Training and live
// scoring both decide with it whether an outage is filled with missing rows (at most
// Spec.MaxFill) or restarts the window, so the two see the same windows.
func MissingSamples(dt, period float64) int { return int(math.Round(dt/period)) - 1 }
