package scoring

import (
	"math"
	"slices"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/features"
)

// The optional modes of a model (artifact.Model's mode fields) are stages of a
// stream, built once by NewStream in a fixed order, only when the model asks for
// them, so the common path carries no mode it does not use.
//
// Row stages see every row, whether or not it completes a window: the forecaster's
// rings, the whole-history EWMA inputs and the sensor checks.
//
// Score stages take an anomaly window from its raw score to the alerting score, in
// this order (the order is part of the model's meaning; the trainer calibrates the
// levels on the same path):
//
//	PCA monitor (joins the raw score by the maximum)
//	-> EWMA smoothing, or the likelihood z (+ level score, + novelty)
//	-> envelope (limit alarms) -> baseline (divides by a moved normal)

// A rowStage follows every row of a stream.
type rowStage interface {
	// observe sees row n (post-regime inputs, the spec's sensors) before its window's
	// features are computed.
	observe(n int64, in []float64) error
	// restart follows an outage that restarted the window.
	restart()
	// reset forgets the stream (Stream.Reset).
	reset()
}

// A scoreStage is one step from an anomaly window's raw score to its alerting score.
type scoreStage interface {
	// apply updates r (r.Score, and the blame in r.Shares when the stage decides it)
	// for the window just scored; st holds the window's features.
	apply(st *Stream, r *Result)
	// reset forgets the stream (Stream.Reset).
	reset()
}

// newStages builds the model's stages in their fixed order.
func (st *Stream) newStages() error {
	m := st.s.M
	if m.Forecast > 0 {
		st.fc = newForecaster(m)
		st.rowStages = append(st.rowStages, st.fc)
	}
	if len(m.HistoryEWMA) > 0 {
		h, err := features.NewHistory(m.HistoryEWMA, len(m.Spec.Sensors))
		if err != nil {
			return err
		}
		// The history's inputs follow the age input (artifact.Model.NumInputs).
		off := m.Spec.NumFeatures()
		if m.HasAge() {
			off++
		}
		st.hist = newHistoryStage(m, h, st.feat[off:])
		st.rowStages = append(st.rowStages, st.hist)
	}
	if m.SensorCheck != nil {
		st.chk = newSensorStage(m)
		st.rowStages = append(st.rowStages, st.chk)
	}
	if m.Task != artifact.TaskAnomaly {
		return nil
	}
	add := func(s scoreStage) { st.scoreStages = append(st.scoreStages, s) }
	if m.Monitor != nil {
		add(newMonitorStage(m))
	}
	if m.Likelihood != nil {
		add(newLikelihood(m.Likelihood))
		if m.Level != nil {
			add(newLevelStage(m.Level))
		}
		if m.Novelty != nil {
			add(newNovelty(m.Novelty))
		}
	} else {
		add(newEWMA(m.Smoothing))
	}
	if m.Baseline != nil {
		st.base = newBaseline(m.Baseline, m.Alert.Warn)
	}
	if m.Envelope != nil {
		add(envelopeStage{base: st.base})
	}
	if st.base != nil {
		add(st.base)
	}
	return nil
}

// historyStage writes the whole-history EWMA inputs (artifact.Model.HistoryEWMA)
// straight into the stream's feature vector on every row: they are current whenever
// a window completes.
type historyStage struct {
	h   *features.History
	dst []float64 // the history's part of Stream.feat
	// since counts the rows since the means (re)started; warmRows is how many they
	// need before they stand for the conditions before the window. It is set for
	// anomaly models alone, whose means also restart at an outage: a rul stream's
	// history is the asset's life and spans them.
	since, warmRows int64
}

func newHistoryStage(m *artifact.Model, h *features.History, dst []float64) *historyStage {
	hs := &historyStage{h: h, dst: dst}
	if m.Task == artifact.TaskAnomaly {
		// Two time constants of the slowest mean: after an outage the means start
		// from the first row as if the machine had run so for ever, and a motor
		// restarted cold at full load is not yet as hot as that (its winding's 25
		// minutes lag); by two time constants of the means the lag has closed.
		slow := slices.Min(m.HistoryEWMA)
		hs.warmRows = int64(math.Ceil(-2 / math.Log1p(-slow)))
	}
	return hs
}

func (hs *historyStage) observe(_ int64, in []float64) error {
	hs.since++
	return hs.h.Push(in, hs.dst)
}

func (hs *historyStage) reset() { hs.h.Reset(); hs.since = 0 }

func (hs *historyStage) restart() {
	if hs.warmRows > 0 {
		hs.reset()
	}
}

// warm says whether the means have run long enough since the stream or its last
// outage began for the networks that see them to be scored.
func (hs *historyStage) warm() bool { return hs.since >= hs.warmRows }

// sensorStage applies the model's sensor checks (artifact.Model.SensorCheck) and
// keeps the latest row's finding.
type sensorStage struct {
	c     *SensorChecker
	cfg   *artifact.SensorCheck
	tgtOf []int // target index of each spec sensor, -1 for context sensors
	at    int   // the faulty sensor (a spec index), -1 for none
	issue string
}

func newSensorStage(m *artifact.Model) *sensorStage {
	s := &sensorStage{c: NewSensorChecker(len(m.Spec.Sensors), m.Spec.Window), cfg: m.SensorCheck, at: -1}
	for _, name := range m.Spec.Sensors {
		s.tgtOf = append(s.tgtOf, indexOf(m.Targets, name))
	}
	return s
}

func (s *sensorStage) observe(_ int64, in []float64) error {
	s.c.Push(in)
	s.at, s.issue = s.c.Check(s.cfg)
	return nil
}

func (s *sensorStage) restart() { s.c.Reset() }
func (s *sensorStage) reset()   { s.c.Reset() }

// ewma is the default smoothing: an exponentially weighted mean of the raw score
// (artifact.Model.Smoothing; 0 or out of range means none).
type ewma struct {
	a, smooth float64
	warm      bool
}

func newEWMA(a float64) *ewma {
	if a <= 0 || a > 1 {
		a = 1
	}
	return &ewma{a: a}
}

func (e *ewma) apply(_ *Stream, r *Result) {
	if !e.warm {
		e.smooth, e.warm = r.Raw, true
	} else {
		e.smooth = e.a*r.Raw + (1-e.a)*e.smooth
	}
	r.Score = e.smooth
}

func (e *ewma) reset() { e.smooth, e.warm = 0, false }

// apply makes the likelihood's standard score of the raw score the score
// (artifact.Model.Likelihood, in place of the EWMA).
func (l *likelihood) apply(_ *Stream, r *Result) { r.Score = l.score(r.Raw) }

// levelStage raises the score to the level score's |z| when that is larger
// (artifact.Model.Level). With a lag, the input is the change of level since Lag
// rows earlier; a row whose lagged level is unknown (start, gap) leaves the score as
// it is.
type levelStage struct {
	lk     *likelihood
	lag    int
	weight float64
	lagV   []float64 // ring of the last lag levels ...
	lagAt  []int64   // ... and their row ordinals (-1 = empty)
}

func newLevelStage(c *artifact.Likelihood) *levelStage {
	l := &levelStage{lk: newLikelihood(c), lag: c.Lag, weight: c.Weight,
		lagV: make([]float64, c.Lag), lagAt: make([]int64, c.Lag)}
	l.reset()
	return l
}

func (l *levelStage) reset() {
	l.lk.reset()
	clear(l.lagV)
	for i := range l.lagAt {
		l.lagAt[i] = -1
	}
}

func (l *levelStage) apply(st *Stream, r *Result) {
	v := st.level()
	if lag := l.lag; lag > 0 {
		n := st.rows - 1
		k := int(n % int64(lag))
		old, oldAt := l.lagV[k], l.lagAt[k]
		l.lagV[k], l.lagAt[k] = v, n
		if n < int64(lag) || oldAt != n-int64(lag) {
			return
		}
		v -= old
	}
	z := math.Abs(l.lk.score(v))
	if l.weight > 0 {
		z *= l.weight
	}
	r.Score = math.Max(r.Score, z)
}

// level is the mean over targets of the standardised window mean, the input of the
// level score (artifact.Model.Level). A target whose network predicts its EWMA
// (TargetFeatures) is standardised by the EWMA's training centre and scale, which
// differ from the mean's by a small part of the spread; the level score compares the
// result with its own history, not with a fixed unit.
func (st *Stream) level() float64 {
	m := st.s.M
	var sum float64
	for k, idx := range st.s.meanIdx {
		sum += (st.feat[idx] - m.TargetCenter[k]) / m.TargetScale[k]
	}
	return sum / float64(len(st.s.meanIdx))
}

// apply scales the score down unless it beats the recent past (artifact.Model.Novelty).
func (v *novelty) apply(st *Stream, r *Result) { r.Score = v.scale(r.Score, st.s.M.Alert.Warn) }

// envelopeStage raises the score to warn x excess / allowance when a target's latest
// value is outside its healthy range (artifact.Model.Envelope), and then blames that
// target alone: a limit was crossed. It keeps no state; it tells the baseline (base,
// nil without one) which part of the score was the limit's.
type envelopeStage struct{ base *baseline }

func (envelopeStage) reset() {}

func (es envelopeStage) apply(st *Stream, r *Result) {
	e, warn := st.s.M.Envelope, st.s.M.Alert.Warn
	top, topK := r.Score, -1
	for k, idx := range st.s.lastIdx {
		x := st.feat[idx]
		excess := math.Max(x-e.Max[k], e.Min[k]-x)
		if !(excess > 0) || e.AllowanceOf(k) == 0 { // also NaN
			continue
		}
		// A sensor that barely moved in healthy operation would otherwise make any
		// departure an instant critical alert: its typical residual is the least width.
		allow := e.AllowanceOf(k) * math.Max(e.Max[k]-e.Min[k], math.Max(st.s.M.ResidualScale[k], 1e-9))
		if v := warn * excess / allow; v > top {
			top, topK = v, k
		}
	}
	if topK < 0 {
		return
	}
	if es.base != nil {
		es.base.beforeLimit(r.Score, top)
	}
	r.Score = top
	for k := range r.Shares {
		r.Shares[k] = 0
	}
	r.Shares[topK] = 1
}

// apply divides the score by the factor the recent normal moved by
// (artifact.Model.Baseline) and reports the factor. The score is learned later
// (Stream.push), once the sensor checks have said whether a faulty sensor drove it.
func (bl *baseline) apply(_ *Stream, r *Result) {
	bl.pending = r.Score
	r.Baseline = bl.divisor()
	r.Score = bl.divide(r.Score)
}

// apply joins the monitor's statistics to the raw score by the maximum; the alert
// blames the sensors of whichever score decided.
func (ms *monitorStage) apply(st *Stream, r *Result) {
	t2, spe := ms.stats(st.scaled)
	r.T2, r.SPE = t2, spe
	if v := math.Max(t2, spe); v > r.Raw || len(st.preds) == 0 {
		r.Raw = v
		// T2 contributions smear over correlated sensors; the residual names the one
		// that left the relation, so it blames unless T2 clearly dominates.
		ms.blame(t2 > 2*spe, r.Shares)
	}
}

func (ms *monitorStage) reset() {} // the monitor keeps no state between windows

// baselineStage is the stream's baseline, nil for a model without one.
func (st *Stream) baselineStage() *baseline { return st.base }
