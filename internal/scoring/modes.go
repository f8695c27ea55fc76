package scoring

import (
	"math"

	"github.com/faultline/faultline/internal/artifact"
)

// forecaster holds what a forecasting model (artifact.Model.Forecast = h) needs to
// score row t: the prediction made at row t-h and the inputs of rows t-h+1..t. Both
// rings are stamped with the row's ordinal, so a skipped window or a restart never
// pairs a prediction with the wrong rows.
type forecaster struct {
	h       int
	tIdx    []int       // spec sensor index of each target
	pred    [][]float64 // ring of predictions, one vector per row
	predAt  []int64     // row ordinal of each prediction slot (-1 = empty)
	vals    [][]float64 // ring of target inputs, one vector per row
	valsAt  []int64
	actual  []float64
	expects []float64
}

func newForecaster(m *artifact.Model) *forecaster {
	h := m.Forecast
	f := &forecaster{h: h, pred: make([][]float64, h+1), predAt: make([]int64, h+1),
		vals: make([][]float64, h), valsAt: make([]int64, h),
		actual: make([]float64, len(m.Targets)), expects: make([]float64, len(m.Targets))}
	for _, t := range m.Targets {
		f.tIdx = append(f.tIdx, indexOf(m.Spec.Sensors, t))
	}
	for i := range f.pred {
		f.pred[i] = make([]float64, len(m.Targets))
	}
	for i := range f.vals {
		f.vals[i] = make([]float64, len(m.Targets))
	}
	f.reset()
	return f
}

func (f *forecaster) reset() {
	for i := range f.predAt {
		f.predAt[i] = -1
	}
	for i := range f.valsAt {
		f.valsAt[i] = -1
	}
}

// restart follows an outage: no prediction made before it pairs with a row after.
func (f *forecaster) restart() { f.reset() }

// observe records row n's (post-regime) inputs.
func (f *forecaster) observe(n int64, in []float64) error {
	k := int(n % int64(f.h))
	for j, s := range f.tIdx {
		f.vals[k][j] = in[s]
	}
	f.valsAt[k] = n
	return nil
}

// record stores the prediction made at row n and reports whether row n can be
// scored: then actual holds the mean of rows n-h+1..n and expects the prediction
// made at row n-h.
func (f *forecaster) record(n int64, pred []float64) bool {
	k := int(n % int64(f.h+1))
	copy(f.pred[k], pred)
	f.predAt[k] = n
	old := int((n - int64(f.h)) % int64(f.h+1))
	if n < int64(f.h) || f.predAt[old] != n-int64(f.h) {
		return false
	}
	copy(f.expects, f.pred[old])
	for j := range f.actual {
		f.actual[j] = 0
	}
	for i := 0; i < f.h; i++ {
		if f.valsAt[i] < n-int64(f.h)+1 {
			return false
		}
		for j, v := range f.vals[i] {
			f.actual[j] += v
		}
	}
	for j := range f.actual {
		f.actual[j] /= float64(f.h)
		if math.IsNaN(f.actual[j]) || math.IsInf(f.actual[j], 0) {
			return false
		}
	}
	return true
}

// likelihood turns raw scores into a standard score of their short-term mean
// against the long-term distribution of that mean (artifact.Likelihood).
type likelihood struct {
	cfg           artifact.Likelihood
	short         []float64
	shortSum      float64
	long          []float64
	sum, sumSq    float64
	nShort, nLong int
	seen          int
}

func newLikelihood(c *artifact.Likelihood) *likelihood {
	return &likelihood{cfg: *c, short: make([]float64, c.Short), long: make([]float64, c.Long)}
}

func (l *likelihood) reset() { *l = *newLikelihood(&l.cfg) }

// score adds a raw score and returns the current standard score (0 during warm-up).
func (l *likelihood) score(raw float64) float64 {
	i := l.seen % len(l.short)
	if l.nShort == len(l.short) {
		l.shortSum -= l.short[i]
	} else {
		l.nShort++
	}
	l.short[i], l.shortSum = raw, l.shortSum+raw
	avg := l.shortSum / float64(l.nShort)
	z := 0.0
	if l.seen >= l.cfg.MinHistory && l.nLong > 1 {
		mu := l.sum / float64(l.nLong)
		sd := math.Sqrt(math.Max(0, l.sumSq/float64(l.nLong)-mu*mu))
		z = (avg - mu) / math.Max(sd, l.cfg.MinStd)
	}
	j := l.seen % len(l.long)
	if l.nLong == len(l.long) {
		l.sum, l.sumSq = l.sum-l.long[j], l.sumSq-l.long[j]*l.long[j]
	} else {
		l.nLong++
	}
	l.long[j], l.sum, l.sumSq = avg, l.sum+avg, l.sumSq+avg*avg
	l.seen++
	if l.seen%len(l.long) == 0 {
		l.resum() // running sums drift; recompute them once per turn of the ring
	}
	return z
}

func (l *likelihood) resum() {
	l.sum, l.sumSq = 0, 0
	for _, v := range l.long[:l.nLong] {
		l.sum, l.sumSq = l.sum+v, l.sumSq+v*v
	}
}
