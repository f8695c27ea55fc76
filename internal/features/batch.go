package features

import "fmt"

// ExtractBatch turns a whole series into feature vectors. rows[t] holds
// one value per spec sensor at time step t (NaN or ±Inf = missing); rows
// is not modified. X[i] is the vector of the window ending at row
// ends[i]; skipped windows are absent from X and counted in stats.
//
// The result equals, bit for bit, what an Extractor emits when fed the
// same rows from its zero state.
func ExtractBatch(spec Spec, rows [][]float64) (X [][]float64, ends []int, stats Stats, err error) {
	if err := spec.Validate(); err != nil {
		return nil, nil, Stats{}, err
	}
	spec = spec.Clone()
	nS := len(spec.Sensors)
	for t, r := range rows {
		if len(r) != nS {
			return nil, nil, Stats{}, fmt.Errorf("row %d has %d values, spec has %d sensors", t, len(r), nS)
		}
	}
	cols, missPre, unfPre := fillSeries(&spec, rows, &stats)
	stats.Samples = len(rows)

	nWin := 0
	if len(rows) >= spec.Window {
		nWin = (len(rows)-spec.Window)/spec.Stride + 1
	}
	F := spec.NumFeatures()
	backing := make([]float64, nWin*F)
	X = make([][]float64, 0, nWin)
	ends = make([]int, 0, nWin)
	k := newKernel(spec)
	views := make([][]float64, nS)
	missing := make([]int, nS)
	W := spec.Window
	for e := W - 1; e < len(rows); e += spec.Stride {
		lo, hi := e+1-W, e+1
		for s := range nS {
			missing[s] = int(missPre[s][hi] - missPre[s][lo])
			views[s] = cols[s][lo:hi]
		}
		reason := decide(&spec, missing, int(unfPre[hi]-unfPre[lo]))
		dst := backing[len(X)*F : (len(X)+1)*F]
		if reason == SkipNone && !k.compute(views, dst) {
			reason = SkipNonFinite
		}
		stats.record(reason)
		if reason == SkipNone {
			X = append(X, dst)
			ends = append(ends, e)
		}
	}
	return X, ends, stats, nil
}

// fillSeries forward-fills the series column by column and returns the
// filled columns with prefix counts of missing cells (per sensor) and
// unfilled cells (all sensors), so each window's counts are O(1).
func fillSeries(spec *Spec, rows [][]float64, stats *Stats) (cols [][]float64, missPre [][]int32, unfPre []int32) {
	nS, n := len(spec.Sensors), len(rows)
	f := newFiller(nS, spec.MaxFill)
	cols = make([][]float64, nS)
	missPre = make([][]int32, nS)
	for s := range nS {
		cols[s] = make([]float64, n)
		missPre[s] = make([]int32, n+1)
	}
	unfPre = make([]int32, n+1)
	for t, r := range rows {
		unf := unfPre[t]
		for s, v := range r {
			fv, c := f.step(s, v)
			cols[s][t] = fv
			stats.countCell(c)
			m := missPre[s][t]
			if c != cellObserved {
				m++
			}
			missPre[s][t+1] = m
			if c == cellUnfilled {
				unf++
			}
		}
		unfPre[t+1] = unf
	}
	return cols, missPre, unfPre
}
