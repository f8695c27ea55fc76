package scoring

import (
	"github.com/faultline/faultline/internal/features"
)

// Short histories and the RUL band (rul models).
//
// A rul model with PadShort scores every row from a stream's first: until the
// window is full, the window is the rows so far preceded by copies of the first one,
// as if the machine had run unchanged before its stream began. The trainer builds
// the same windows from each asset's first rows with PadFeatures, so the networks
// have seen them. A gap that restarts the window starts the padding over.

// PadFeatures writes to dst the features of the window made of rows (fewer than
// the extractor's window, at least one) preceded by copies of rows[0]. It resets
// ext. ready is false when the window fails the missing-data policy.
func PadFeatures(ext *features.Extractor, rows [][]float64, dst []float64) (ready bool, err error) {
	ext.Reset()
	w := ext.Spec().Window
	for range w - len(rows) {
		if _, err := ext.Push(rows[0], dst); err != nil {
			return false, err
		}
	}
	for _, r := range rows {
		if ready, err = ext.Push(r, dst); err != nil {
			return false, err
		}
	}
	return ready, nil
}

// padder keeps the current run's first rows while the window is not yet full.
type padder struct {
	ext  *features.Extractor
	w    int
	rows [][]float64
}

func newPadder(s *Scorer) (*padder, error) {
	if !s.M.PadShort {
		return nil, nil
	}
	ext, err := features.NewExtractor(s.M.Spec)
	if err != nil {
		return nil, err
	}
	return &padder{ext: ext, w: s.M.Spec.Window}, nil
}

// push sees every row the stream's extractor took: in (regime-normalised), the
// extractor's rows since its last reset (run) and whether it completed a window.
// Before the run reaches a full window it writes the padded window's features to dst.
func (p *padder) push(in []float64, run int, ready bool, dst []float64) (bool, error) {
	if p == nil || ready || run >= p.w {
		return ready, nil
	}
	if run == 1 {
		p.rows = p.rows[:0]
	}
	if len(p.rows) >= p.w-1 { // cannot happen while run < w; guards the buffer
		return false, nil
	}
	p.rows = append(p.rows, append([]float64(nil), in...))
	return PadFeatures(p.ext, p.rows, dst)
}

// rulBand fills the result's band and returns the value the alert compares with the
// horizon: the lower bound when the model has a band, else the RUL.
func (st *Stream) rulBand(r *Result) float64 {
	b := st.s.M.Band
	if b == nil {
		r.RULLo, r.RULHi = r.RUL, r.RUL
		return r.RUL
	}
	r.RULLo, r.RULHi = b.Bounds(r.RUL, st.s.M.RULCap)
	return r.RULLo
}
