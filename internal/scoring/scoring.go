// Package scoring is the one path from raw samples to scores and alert transitions.
// The edge daemon runs it on live MQTT telemetry, `infer score` runs it on a CSV, and
// the trainer runs it to calibrate thresholds, so all three agree by construction:
//
//	row -> regime normalisation -> row stages -> streaming window features ->
//	input scaler -> ensemble of MLPs -> residuals (anomaly) or RUL ->
//	score stages (smoothing, likelihood, ...) -> alert state
//
// A model's optional modes are the stages (stages.go).
package scoring

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/features"
	"github.com/faultline/faultline/internal/model"
)

// Scorer holds one loaded model; it is immutable and shared by all streams.
type Scorer struct {
	M       *artifact.Model
	nets    []*model.MLP[float32]
	columns []string // spec sensors, then settings
	meanIdx []int    // anomaly: feature index of each target's window mean (the level score)
	resIdx  []int    // anomaly: feature index each target's residual compares (TargetFeature)
	lastIdx []int    // anomaly with Envelope: feature index of each target's latest value
	mask    [][]int  // leave-one-out: feature indexes of each target's own sensor

	members []*Scorer // rul: artifact.Model.Members
}

// New prepares a validated model for scoring.
func New(m *artifact.Model) (*Scorer, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	nets, err := m.Networks()
	if err != nil {
		return nil, err
	}
	s := &Scorer{M: m, nets: nets}
	if err := s.newMembers(); err != nil {
		return nil, err
	}
	s.columns = append(append([]string(nil), m.Spec.Sensors...), m.Settings...)
	if m.AgeColumn != "" {
		s.columns = append(s.columns, m.AgeColumn)
	}
	if m.Task == artifact.TaskAnomaly {
		names, inputs := m.Spec.FeatureNames(), m.InputNames()
		var err error
		need := func(dst *[]int, t, f string) {
			k := indexOf(names, t+"."+f)
			if k < 0 && err == nil {
				err = fmt.Errorf("model: anomaly target %q needs the %q feature in the spec", t, f)
			}
			*dst = append(*dst, k)
		}
		for k, t := range m.Targets {
			need(&s.meanIdx, t, features.FeatMean)
			need(&s.resIdx, t, m.ResidualFeature(k))
			if m.Envelope != nil {
				need(&s.lastIdx, t, features.FeatLast)
			}
			s.mask = append(s.mask, artifact.HiddenInputs(inputs, m.Context, t, m.SeesHistory(k)))
		}
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// Columns are the input columns a row must hold, in order: the spec's sensors, then
// the regime setting columns, then a rul model's age column (artifact.Model.AgeColumn).
// Missing values are NaN.
func (s *Scorer) Columns() []string { return s.columns }

// Result of one completed window.
type Result struct {
	Time      time.Time
	Score     float64 // anomaly: smoothed combined normalised residuals; rul: RULLo
	Raw       float64 // anomaly: the unsmoothed score
	RUL       float64 // rul task only
	Threshold float64 // the alert's warn level
	// Residual holds each target's normalised residual (anomaly); Shares their share
	// of the squared total, the explanation an alert carries. When the envelope set the
	// score (a latest value outside its healthy range, artifact.Envelope), Shares blame
	// that target alone and Score may exceed Raw; Residual stays the residuals.
	Residual []float64
	Shares   []float64
	// Baseline is the factor the process score was divided by (artifact.Baseline; 1
	// while the recent past looks like the held-out block, and without one): the
	// larger of the quantile's and the tail's. A limit alarm (the envelope's part of
	// the score) is divided by the quantile's factor alone.
	Baseline float64
	// T2 and SPE are the monitor's statistics over their levels (models with a
	// Monitor; 0 otherwise).
	T2, SPE float64
	// SensorIssue (IssueStuck, IssueSpiking, IssueSilent) says sensor IssueSensor (an
	// index into the spec's sensors, context sensors included) is faulty itself
	// (artifact.SensorCheck); "" and -1 otherwise. The score is then at least
	// SensorLevel x the warn level, and Shares blame that sensor alone when it is a
	// target (all zero for a context sensor).
	SensorIssue string
	IssueSensor int
	// Cause is the target the active alert blames (an index into Model.Targets), -1
	// while no alert is active and for RUL models. It is the largest share when the
	// alert was raised; another target takes over after leading for the alert's M
	// windows in a row above the warn level, or after holding its own residual at the
	// warn level that long, and then, the first time a target is blamed during the
	// alert (as the process's or as a faulty sensor), Event is Updated with reason
	// alerting.NewCause (followCause).
	Cause int
	Event alerting.Event
	// Earlier holds transitions, oldest first, that happened on rows inserted for a
	// short gap just before this sample; they precede Event and must be published too.
	Earlier []alerting.Event
	Active  alerting.Severity

	// RULLo and RULHi bound the RUL (rul: artifact.RULBand; both equal RUL for a model
	// without a band). The RUL alert compares RULLo with the horizon, and Score is RULLo.
	RULLo, RULHi float64
}

// Counters of a stream; callers export them as metrics.
type Counters struct {
	Samples      int64
	Windows      int64
	OutOfOrder   int64 // samples at or before the previous timestamp, dropped
	Gaps         int64 // outages longer than the fill limit: the window restarted
	FilledRows   int64 // rows inserted as missing for short gaps (then forward-filled)
	BadSettings  int64 // regime could not be assigned (NaN setting): global stats used
	NonFiniteOut int64 // the network produced a non-finite value (never scored)
	BadAge       int64 // rows whose age column was missing, not finite or negative, dropped
}

// Stream is one machine's scoring state. Not safe for concurrent use.
type Stream struct {
	s       *Scorer
	carried []alerting.Event // scratch for transitions on gap-filled rows
	ext     *features.Extractor
	preds   []*model.Predictor[float32]
	alert   *alerting.State
	norm    []float64
	feat    []float64
	scaled  []float64
	x32     []float32
	y32     []float32
	ysum    []float64
	nanRow  []float64
	res     Result
	last    time.Time
	rows    int64         // rows processed since the stream began or Reset: the age input
	hist    *historyStage // the whole-history means, nil without
	age     float64       // the last accepted row's age column value (artifact.Model.AgeColumn)

	// The model's optional modes (stages.go), built by NewStream in a fixed order.
	rowStages   []rowStage     // every row: forecaster, history EWMA, sensor checks
	scoreStages []scoreStage   // anomaly: raw score -> alerting score
	fc          *forecaster    // also a row stage: the residual's actual and expected
	chk         *sensorStage   // also a row stage: the latest row's sensor fault
	mem         *memberStreams // rul: one stream per artifact.Model.Members entry
	pad         *padder        // rul with PadShort: windows of short histories
	base        *baseline      // also a score stage: learns once the sensor checks have had their say

	cause causeTracker
	C     Counters
}

// NewStream starts a machine's state.
func (s *Scorer) NewStream() (*Stream, error) {
	ext, err := features.NewExtractor(s.M.Spec)
	if err != nil {
		return nil, err
	}
	al, err := alerting.New(s.M.Alert)
	if err != nil {
		return nil, err
	}
	nf, nt, ns := s.M.NumInputs(), len(s.M.Targets), len(s.M.Spec.Sensors)
	st := &Stream{s: s, ext: ext, alert: al, cause: newCauseTracker(len(s.M.Targets), s.M.Smoothing),
		norm: make([]float64, ns), feat: make([]float64, nf), scaled: make([]float64, nf),
		x32: make([]float32, nf), y32: make([]float32, nt), ysum: make([]float64, nt), nanRow: make([]float64, len(s.columns)),
	}
	for i := range st.nanRow {
		st.nanRow[i] = math.NaN()
	}
	st.res.Residual = make([]float64, nt)
	st.res.Shares = make([]float64, nt)
	for _, n := range s.nets {
		st.preds = append(st.preds, n.NewPredictor())
	}
	if err := st.newStages(); err != nil {
		return nil, err
	}
	if st.mem, err = s.newMemberStreams(); err != nil {
		return nil, err
	}
	if st.pad, err = newPadder(s); err != nil {
		return nil, err
	}
	return st, nil
}

// ErrOutOfOrder is returned for a sample not after the previous one.
var ErrOutOfOrder = errors.New("sample at or before the previous timestamp")

// ErrBadAge is returned for a row of a model with an age column
// (artifact.Model.AgeColumn) whose age is missing, not finite or negative. The row is
// dropped like an out-of-order one: nothing of it enters the stream, Counters.BadAge
// counts it. A guessed age would be a silently wrong RUL; the age is what the model
// leans on most.
var ErrBadAge = errors.New("row without a usable age (the model's age column is missing, not finite or negative)")

// Push feeds one row (Columns() order) at time ts. When a window completes it returns
// the result (valid until the next Push) and true.
func (st *Stream) Push(ts time.Time, row []float64) (*Result, bool, error) {
	if len(row) != len(st.s.columns) {
		return nil, false, fmt.Errorf("row has %d values, model wants %d (%v)", len(row), len(st.s.columns), st.s.columns)
	}
	if !st.last.IsZero() && !ts.After(st.last) {
		st.C.OutOfOrder++
		return nil, false, ErrOutOfOrder
	}
	if st.s.M.AgeColumn != "" {
		a := row[len(row)-1]
		if !(a >= 0) || math.IsInf(a, 1) { // also NaN
			st.C.BadAge++
			return nil, false, fmt.Errorf("%w: %s = %v", ErrBadAge, st.s.M.AgeColumn, a)
		}
	}
	st.C.Samples++
	carried := st.carried[:0]
	if p := st.s.M.Period; p > 0 && !st.last.IsZero() {
		missing := features.MissingSamples(ts.Sub(st.last).Seconds(), p)
		switch {
		case missing > st.s.M.Spec.MaxFill:
			st.C.Gaps++
			st.cause.held = true
			st.ext.Reset()
			for _, s := range st.rowStages {
				s.restart()
			}
		case missing > 0:
			for i := 0; i < missing; i++ {
				st.C.FilledRows++
				// A filled row's age is the previous row's: st.age until the defer.
				r, ok, err := st.push(ts, st.nanRow)
				if err != nil {
					return nil, false, err
				}
				// A filled row can complete the window that raises or clears an
				// alert; that transition must reach the caller with this sample.
				if ok && r.Event.Transition != alerting.Nothing {
					carried = append(carried, r.Event)
				}
			}
		}
	}
	st.mem.push(ts, row)
	st.last = ts
	if st.s.M.AgeColumn != "" {
		// After the filled rows: they took the previous row's age.
		st.age = row[len(row)-1]
	}
	st.carried = carried
	st.res.Earlier = st.res.Earlier[:0]
	r, ok, err := st.push(ts, row)
	if err != nil || len(carried) == 0 {
		return r, ok, err
	}
	if !ok {
		r = &st.res
		r.Event, r.Active = alerting.Event{}, st.alert.Active()
	}
	if r.Event.Transition == alerting.Nothing {
		r.Event, carried = carried[len(carried)-1], carried[:len(carried)-1]
	}
	r.Earlier = append(r.Earlier, carried...)
	return r, true, nil
}

func (st *Stream) push(ts time.Time, row []float64) (*Result, bool, error) {
	m := st.s.M
	ns := len(m.Spec.Sensors)
	in := row[:ns]
	if m.Regimes != nil {
		reg := m.Regimes.Assign(row[ns : ns+len(m.Settings)])
		if reg < 0 {
			st.C.BadSettings++
		}
		if err := m.Regimes.Normalize(reg, in, st.norm); err != nil {
			return nil, false, err
		}
		in = st.norm
	}
	n := st.rows
	st.rows++
	// Every row reaches the row stages, whether or not it completes a window: the
	// forecaster's rings, the history EWMA inputs (written into st.feat) and the
	// sensor checks (the extractor below does not read them).
	for _, s := range st.rowStages {
		if err := s.observe(n, in); err != nil {
			return nil, false, err
		}
	}
	nf := m.Spec.NumFeatures()
	ready, err := st.ext.Push(in, st.feat[:nf])
	if err == nil {
		ready, err = st.pad.push(in, st.ext.Stats().Samples, ready, st.feat[:nf])
	}
	if err != nil {
		return nil, false, err
	}
	issueAt, issue := -1, ""
	if st.chk != nil {
		issueAt, issue = st.chk.at, st.chk.issue
	}
	if !ready {
		if skip := st.ext.LastSkip(); issue != IssueSilent || skip != features.SkipTooMissing && skip != features.SkipGap {
			return nil, false, nil
		}
		// The window is too incomplete for features, and that is the news: one
		// sensor went silent while the others report.
		return st.sensorOnly(ts, issueAt, issue), true, nil
	}
	switch {
	case m.AgeFeature:
		st.feat[nf] = float64(st.rows)
	case m.AgeColumn != "":
		st.feat[nf] = st.age
	}
	st.C.Windows++
	if err := m.Input.Transform(st.feat, st.scaled); err != nil {
		return nil, false, err
	}
	for i, v := range st.scaled {
		st.x32[i] = float32(v)
	}
	st.predict()
	inv := 1 / float64(max(1, len(st.preds)))
	if m.LeaveOneOut {
		inv = 1 / float64(m.TargetNets())
	}
	for k := range st.ysum {
		st.ysum[k] = m.TargetCenter[k] + m.TargetScale[k]*st.ysum[k]*inv
		if math.IsNaN(st.ysum[k]) || math.IsInf(st.ysum[k], 0) {
			st.C.NonFiniteOut++
			return nil, false, nil
		}
	}
	if st.fc != nil && !st.fc.record(n, st.ysum) {
		return nil, false, nil
	}
	r := &st.res
	r.Time = ts
	r.Threshold = m.Alert.Warn
	if m.Task == artifact.TaskRUL {
		r.RUL = st.mem.mean(math.Max(0, st.ysum[0]))
		r.Raw = r.RUL
		r.Score = st.rulBand(r)
	} else {
		st.anomaly(r)
		r.SensorIssue, r.IssueSensor = "", -1
		switch {
		case issue == IssueImpulsive:
			st.impulse(r, issueAt)
		case issue != "":
			st.sensorFault(r, issueAt, issue)
		case st.base != nil:
			// A faulty transmitter distorts its own features and drives the process
			// score; learning such windows would let days of a stuck sensor hide the
			// next process fault.
			st.base.learn(ts, st.base.pending)
		}
	}
	r.Event = st.alert.Observe(ts, r.Score)
	r.Active = st.alert.Active()
	r.Cause = -1
	if m.Task != artifact.TaskRUL {
		st.followCause(r)
	}
	return r, true, nil
}

// SensorLevel is the score of a sensor fault, in units of the warn level: a warning,
// not critical (a broken transmitter is a work order, not an emergency stop).
const SensorLevel = 1.5

// sensorFault makes r a sensor fault of spec sensor k: at least SensorLevel x warn,
// blamed on k alone. Only the sensor stage finds one, so st.chk is set.
func (st *Stream) sensorFault(r *Result, k int, issue string) {
	level := SensorLevel * st.s.M.Alert.Warn
	if t := st.chk.tgtOf[k]; r.Score >= level && (t < 0 || r.Shares[t] < 0.5 || issue == IssueSpiking) {
		// A process score above the sensor level that another sensor drives is a
		// process fault, whatever this sensor does meanwhile. So is one with spikes
		// on the very sensor that drives it: a spike barely moves a window mean, so a
		// high score there is the process itself going impulsive (cavitation), while
		// a stuck or silent sensor distorts its own features and drives the score.
		return
	}
	r.SensorIssue, r.IssueSensor = issue, k
	r.Score = math.Max(r.Score, level)
	clear(r.Shares)
	if t := st.chk.tgtOf[k]; t >= 0 {
		r.Shares[t] = 1
	}
}

// impulse makes r at least a warning of the process when several sensors made
// excursions beyond their healthy ones together (IssueImpulsive), led by spec sensor
// k: a process turned impulsive barely moves the window means the networks see, and
// it is no transmitter's fault. The blame goes to k when it is a target; a window
// the process score already explains keeps its own. The baseline does not learn
// the window, as for a sensor fault: it is not the normal it follows.
func (st *Stream) impulse(r *Result, k int) {
	level := SensorLevel * st.s.M.Alert.Warn
	if r.Score >= level {
		return
	}
	r.Score = level
	if t := st.chk.tgtOf[k]; t >= 0 {
		clear(r.Shares)
		r.Shares[t] = 1
	}
}

// sensorOnly is the result of a row whose window has no features because sensor k
// went silent.
func (st *Stream) sensorOnly(ts time.Time, k int, issue string) *Result {
	r := &st.res
	r.Time, r.Threshold = ts, st.s.M.Alert.Warn
	r.Raw, r.T2, r.SPE, r.Score, r.Baseline = 0, 0, 0, 0, 1
	clear(r.Residual)
	st.sensorFault(r, k, issue)
	r.Event = st.alert.Observe(ts, r.Score)
	r.Active = st.alert.Active()
	r.Cause = -1
	st.followCause(r)
	return r
}

// causeTracker follows which target an active anomaly alert blames.
type causeTracker struct {
	cur, cand, streak int
	// blamed marks the targets that have been the cause during this alert, as the
	// process's (blamed) or as a faulty transmitter's (asSensor): a temperature blamed
	// beside a bearing's vibration that then goes silent is news for a technician.
	blamed, asSensor []bool
	// held: an outage (a gap that restarted the window) came after the raise. The
	// machine was likely stopped, maybe repaired; what leads while it warms up again
	// is no second fault, so the cause stays as it was until the alert ends.
	held bool
	// own is each target's residual alone, smoothed as the score is (|z|, the model's
	// smoothing); over counts its windows in a row at or above the warn level. A
	// second fault on another sensor rarely takes the lead from a first one whose
	// residual is tens of warn levels, yet its own residual says it is there.
	own  []float64
	over []int
	a    float64 // the score's smoothing factor (newEWMA's)
}

func newCauseTracker(targets int, smoothing float64) causeTracker {
	return causeTracker{cur: -1, cand: -1, blamed: make([]bool, targets), asSensor: make([]bool, targets), own: make([]float64, targets), over: make([]int, targets),
		a: newEWMA(smoothing).a}
}

func (c *causeTracker) reset() {
	c.cur, c.cand, c.streak, c.held = -1, -1, 0, false
	clear(c.blamed)
	clear(c.asSensor)
	clear(c.own)
	clear(c.over)
}

func (c *causeTracker) blame(k int, sensor bool) {
	c.cur, c.cand, c.streak = k, -1, 0
	if k >= 0 && k < len(c.blamed) {
		c.marks(sensor)[k] = true
	}
}

// marks is the blame record for a sensor fault (true) or the process's.
func (c *causeTracker) marks(sensor bool) []bool {
	if sensor {
		return c.asSensor
	}
	return c.blamed
}

// followCause sets r.Cause and turns a second fault during an active alert into an
// Updated event (new cause). A pump in alarm for imbalance that then starts to
// overheat would otherwise raise nothing new: the alert is already active. News is a
// target that has not been the cause during this alert and either leads for the
// alert's M windows in a row with the score above the warn level, or holds its own
// smoothed residual at or above the warn level for M windows while another leads (an
// imbalance's vibration at 40 warn levels never gives the lead to a bearing
// temperature at 4). Receivers hear of each target once per alert: in a bearing fault
// vibration level, kurtosis and bearing temperature trade the lead for hours, and a
// return to a target already blamed moves the cause back silently.
func (st *Stream) followCause(r *Result) {
	c := &st.cause
	second := st.trackOwn(r)
	if r.Active == alerting.None {
		c.reset()
		return
	}
	lead, best := -1, 0.0
	for k, v := range r.Shares {
		if v > best {
			lead, best = k, v
		}
	}
	// The leader is blamed as a faulty transmitter when the sensor check named it.
	sensor := lead >= 0 && r.SensorIssue != "" && st.chk != nil && st.chk.tgtOf[r.IssueSensor] == lead
	switch {
	case r.Event.Transition == alerting.Raised:
		c.reset()
		c.blame(lead, sensor)
	case c.cur < 0: // an alert restored after a restart, or nothing led yet
		c.blame(lead, sensor)
	case lead >= 0 && (lead != c.cur || sensor && !c.asSensor[lead]) && r.Score >= r.Threshold && !c.held:
		if lead != c.cand {
			c.cand, c.streak = lead, 0
		}
		c.streak++
		if c.streak < max(1, st.s.M.Alert.M) {
			break
		}
		news := !c.marks(sensor)[lead]
		if news && r.Event.Transition != alerting.Nothing && r.Event.Reason != alerting.Reminder {
			// This window already sends an event (an escalation, say, when the second
			// fault pushes the score over critical): the new cause goes out with the
			// next window instead of being lost.
			break
		}
		c.blame(lead, sensor)
		if news {
			r.Event = st.alert.Cause(r.Event, r.Time, r.Score)
		}
	case second >= 0 && !c.held && (r.Event.Transition == alerting.Nothing || r.Event.Reason == alerting.Reminder):
		// A target that has not been blamed during this alert has held its own
		// residual over the warn level for the alert's M windows while another
		// leads: a second fault (an overheating under an imbalance's alarm).
		c.blamed[second] = true
		c.cur, c.cand, c.streak = second, -1, 0
		r.Event = st.alert.Cause(r.Event, r.Time, r.Score)
	default:
		c.cand, c.streak = -1, 0
	}
	r.Cause = c.cur
}

// trackOwn follows each target's own smoothed residual and returns a target not yet
// blamed during the active alert whose residual has been at or above the warn level
// (in the score's terms: divided by the baseline) for the alert's M windows, or -1.
func (st *Stream) trackOwn(r *Result) int {
	c := &st.cause
	b := r.Baseline
	if !(b > 0) {
		b = 1
	}
	found := -1
	for k, z := range r.Residual {
		c.own[k] = c.a*math.Abs(z) + (1-c.a)*c.own[k]
		if c.own[k]/b >= r.Threshold && r.Active != alerting.None {
			c.over[k]++
		} else {
			c.over[k] = 0
		}
		if found < 0 && c.over[k] >= max(1, st.s.M.Alert.M) && !c.blamed[k] && k != c.cur {
			found = k
		}
	}
	return found
}

func (st *Stream) predict() {
	for k := range st.ysum {
		st.ysum[k] = 0
	}
	if st.s.M.LeaveOneOut {
		// Masked features are set to 0, the training mean after z-scoring. Target k's
		// networks are the k-th run of TargetNets() in artifact.Model.Nets.
		per := st.s.M.TargetNets()
		for j, p := range st.preds {
			k := j / per
			for _, i := range st.s.mask[k] {
				st.x32[i] = 0
			}
			st.ysum[k] += float64(p.Predict(st.x32, st.y32[:1])[0])
			for _, i := range st.s.mask[k] {
				st.x32[i] = float32(st.scaled[i])
			}
		}
		return
	}
	for _, p := range st.preds {
		p.Predict(st.x32, st.y32)
		for k, v := range st.y32 {
			st.ysum[k] += float64(v)
		}
	}
}

// anomaly scores an anomaly window: the networks' residuals, then the model's score
// stages in their order (stages.go).
func (st *Stream) anomaly(r *Result) {
	r.Baseline = 1
	if len(st.preds) > 0 {
		st.residualScore(r)
	} else {
		r.Raw = 0
		clear(r.Residual)
		clear(r.Shares)
	}
	for _, s := range st.scoreStages {
		s.apply(st, r)
	}
}

// residualScore is the networks' score: the targets' normalised residuals combined.
func (st *Stream) residualScore(r *Result) {
	m := st.s.M
	// A network that sees the history means is not heard until they have warmed up
	// after the stream's start or an outage (historyStage.warm).
	cold := st.hist != nil && !st.hist.warm()
	var sum float64
	heard := len(r.Residual)
	for k, idx := range st.s.resIdx {
		actual, expect := st.feat[idx], st.ysum[k]
		if st.fc != nil {
			actual, expect = st.fc.actual[k], st.fc.expects[k]
		}
		z := (actual - expect) / m.ResidualScale[k]
		if cold && m.SeesHistory(k) {
			z = 0
			heard--
		}
		r.Residual[k] = z
		sum += z * z
	}
	for k := range r.Shares {
		if sum > 0 {
			r.Shares[k] = r.Residual[k] * r.Residual[k] / sum
		} else {
			r.Shares[k] = 0
		}
	}
	r.Raw = math.Sqrt(sum / float64(max(1, heard)))
	if m.Combine == artifact.CombineMax {
		r.Raw = 0
		for _, z := range r.Residual {
			r.Raw = math.Max(r.Raw, math.Abs(z))
		}
	}
}

// RestoreAlert carries an alert that was active before a restart into this stream.
func (st *Stream) RestoreAlert(sev alerting.Severity, startedAt time.Time) {
	st.alert.Restore(sev, startedAt)
}

// AlertStartedAt is when the active alert started.
func (st *Stream) AlertStartedAt() time.Time { return st.alert.StartedAt() }

// ActiveAlert is the current alert severity (None when idle).
func (st *Stream) ActiveAlert() alerting.Severity { return st.alert.Active() }

// Reset forgets the window and alert state, and the baseline (after maintenance, for
// example: the machine's normal is the trained one again).
func (st *Stream) Reset() {
	st.ext.Reset()
	st.alert, _ = alerting.New(st.s.M.Alert)
	st.cause.reset()
	st.last, st.rows, st.age = time.Time{}, 0, 0
	for _, s := range st.rowStages {
		s.reset()
	}
	for _, s := range st.scoreStages {
		s.reset()
	}
	st.mem.reset()
}
