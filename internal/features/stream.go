package features

import "fmt"

// Extractor is the streaming counterpart of ExtractBatch for one machine.
// It keeps the last Window filled samples in per-sensor ring buffers and
// incremental missing counts, and recomputes features from the ordered
// window only when a window completes, using the same kernel as the
// batch path so both give identical numbers.
//
// An Extractor is not safe for concurrent use; use one per machine.
type Extractor struct {
	spec Spec
	k    *kernel
	f    filler
	nS   int

	ring      []float64 // sensor-major: ring[s*W+slot]
	cellRing  []cell    // same layout as ring
	missing   []int     // per sensor, missing cells currently in the ring
	unfilled  int       // unfilled cells currently in the ring
	pos       int       // next slot to write == oldest slot once full
	n         int       // samples pushed since Reset
	ordered   []float64 // sensor-major, oldest first
	cols      [][]float64
	out       []float64
	stats     Stats
	lastSkip  SkipReason
	nFeatures int
}

// NewExtractor validates spec and allocates every buffer up front, so
// Push does not allocate.
func NewExtractor(spec Spec) (*Extractor, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	spec = spec.Clone()
	nS, W := len(spec.Sensors), spec.Window
	e := &Extractor{
		spec:      spec,
		k:         newKernel(spec),
		f:         newFiller(nS, spec.MaxFill),
		nS:        nS,
		ring:      make([]float64, nS*W),
		cellRing:  make([]cell, nS*W),
		missing:   make([]int, nS),
		ordered:   make([]float64, nS*W),
		cols:      make([][]float64, nS),
		nFeatures: spec.NumFeatures(),
	}
	e.out = make([]float64, e.nFeatures)
	for s := range nS {
		e.cols[s] = e.ordered[s*W : (s+1)*W]
	}
	return e, nil
}

// Spec returns a copy of the extractor's spec.
func (e *Extractor) Spec() Spec { return e.spec.Clone() }

// NumFeatures is the length dst must have in Push.
func (e *Extractor) NumFeatures() int { return e.nFeatures }

// Stats returns counters accumulated since the last Reset.
func (e *Extractor) Stats() Stats { return e.stats }

// LastSkip tells why the most recent completed window was not emitted
// (SkipNone if it was, or if no window has completed yet).
func (e *Extractor) LastSkip() SkipReason { return e.lastSkip }

// Reset forgets all history, e.g. after a machine restart or a long
// outage, without reallocating.
func (e *Extractor) Reset() {
	e.f.reset()
	clear(e.missing)
	e.unfilled, e.pos, e.n = 0, 0, 0
	e.stats, e.lastSkip = Stats{}, SkipNone
}

// Push consumes one time step (one value per sensor, NaN or ±Inf =
// missing; row is not modified). When the step completes a window at the
// stride and the window passes the missing-data policy, the feature
// vector is written to dst[:NumFeatures()] and ready is true; otherwise
// dst is left untouched. Errors only report wrong lengths, in which case
// the row is not consumed.
func (e *Extractor) Push(row []float64, dst []float64) (ready bool, err error) {
	if len(row) != e.nS {
		return false, fmt.Errorf("row has %d values, spec has %d sensors", len(row), e.nS)
	}
	if len(dst) < e.nFeatures {
		return false, fmt.Errorf("dst has length %d, need %d", len(dst), e.nFeatures)
	}
	e.store(row)
	idx := e.n
	e.n++
	e.stats.Samples++
	if !windowEnds(&e.spec, idx) {
		return false, nil
	}
	reason := decide(&e.spec, e.missing, e.unfilled)
	if reason == SkipNone {
		e.linearize()
		if !e.k.compute(e.cols, e.out) {
			reason = SkipNonFinite
		}
	}
	e.stats.record(reason)
	e.lastSkip = reason
	if reason != SkipNone {
		return false, nil
	}
	copy(dst, e.out)
	return true, nil
}

// store fills row into the ring slot at pos, evicting the oldest sample's
// contribution to the missing counts first.
func (e *Extractor) store(row []float64) {
	W := e.spec.Window
	full := e.n >= W
	for s, v := range row {
		i := s*W + e.pos
		if full {
			e.uncount(s, e.cellRing[i])
		}
		fv, c := e.f.step(s, v)
		e.ring[i], e.cellRing[i] = fv, c
		e.count(s, c, 1)
		e.stats.countCell(c)
	}
	e.pos++
	if e.pos == W {
		e.pos = 0
	}
}

func (e *Extractor) uncount(s int, c cell) { e.count(s, c, -1) }

func (e *Extractor) count(s int, c cell, d int) {
	if c != cellObserved {
		e.missing[s] += d
	}
	if c == cellUnfilled {
		e.unfilled += d
	}
}

// linearize copies each sensor's ring into oldest-first order: two
// contiguous copies per sensor.
func (e *Extractor) linearize() {
	W := e.spec.Window
	for s := range e.nS {
		r := e.ring[s*W : (s+1)*W]
		o := e.ordered[s*W : (s+1)*W]
		n := copy(o, r[e.pos:])
		copy(o[n:], r[:e.pos])
	}
}
