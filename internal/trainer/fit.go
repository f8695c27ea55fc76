package trainer

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/features"
	"github.com/faultline/faultline/internal/model"
	"github.com/faultline/faultline/internal/scoring"
)

// Fit trains a model for o.Task.
func Fit(ctx context.Context, d Data, o Options) (*artifact.Model, *Report, error) {
	// Settings that would only fail after every network is trained fail now.
	if err := o.Validate(); err != nil {
		return nil, nil, err
	}
	if o.Task == artifact.TaskRUL {
		var err error
		if o.RULCap, o.Horizon, err = rulScale(d, o.RULCap, o.Horizon); err != nil {
			return nil, nil, err
		}
	}
	o.defaults()
	switch o.Detector {
	case DetectorMonitor, DetectorNets, DetectorBoth:
	default:
		return nil, nil, fmt.Errorf("detector %q: use %s, %s or %s", o.Detector, DetectorMonitor, DetectorNets, DetectorBoth)
	}
	var fit func(context.Context, Data, Options) (*artifact.Model, *Report, error)
	switch o.Task {
	case artifact.TaskAnomaly:
		fit = fitAnomaly
	case artifact.TaskRUL:
		fit = fitRUL
	default:
		return nil, nil, fmt.Errorf("task %q: use anomaly or rul", o.Task)
	}
	// Before the gaps are filled: a filled row takes the previous row's age.
	d, badAge, err := prepareAge(d, o)
	if err != nil {
		return nil, nil, err
	}
	d, late := dropLate(d)
	d, filled := fillGaps(d, medianStep(d), o.MaxFill)
	m, rep, err := fit(ctx, d, o)
	if rep != nil {
		rep.Metrics["gap_rows_filled"] = float64(filled)
		rep.Metrics["late_rows_dropped"] = float64(late)
		if o.AgeColumn != "" {
			rep.Metrics["age_rows_dropped"] = float64(badAge)
		}
	}
	return m, rep, err
}

// matrix is a set of windows: features and targets.
type matrix struct {
	X, Y [][]float64
	T    []float64 // time of each window's last row
}

func (m *matrix) add(o matrix) {
	m.X, m.Y, m.T = append(m.X, o.X...), append(m.Y, o.Y...), append(m.T, o.T...)
}

// windows extracts features from one series (no window across a long gap, see
// extractRuns); target gives the targets of a window from its features, its last row
// index and the index past its run of rows (nil: the window has no target and is left
// out). With age, each vector gets the age input scoring.Stream computes: end+1.
func windows(spec features.Spec, period float64, age bool, hist [][]float64, rows [][]float64, t []float64, target func(feat []float64, end, runEnd int) []float64, rep *Report) (matrix, error) {
	X, ends, runEnds, skipped, err := extractRuns(spec, period, rows, t)
	if err != nil {
		return matrix{}, err
	}
	rep.Skipped += skipped
	var m matrix
	for i, e := range ends {
		y := target(X[i], e, runEnds[i])
		if y == nil {
			continue
		}
		x := X[i]
		if age {
			x = append(x[:len(x):len(x)], float64(e+1))
		}
		if hist != nil {
			x = append(x[:len(x):len(x)], hist[e]...)
		}
		m.X, m.Y, m.T = append(m.X, x), append(m.Y, y), append(m.T, t[e])
	}
	return m, nil
}

// scaleTargets fits a z-score of the targets and returns center and scale.
func scaleTargets(Y [][]float64) (center, scale []float64, err error) {
	sc := features.NewScaler(features.ZScore)
	if err := sc.Fit(Y); err != nil {
		return nil, nil, err
	}
	return sc.Center, sc.Scale, nil
}

func flatten32(rows [][]float64, f func(i, j int, v float64) float64) []float32 {
	if len(rows) == 0 {
		return nil
	}
	out := make([]float32, 0, len(rows)*len(rows[0]))
	for i, r := range rows {
		for j, v := range r {
			out = append(out, float32(f(i, j, v)))
		}
	}
	return out
}

// trainNets fits the ensemble on scaled inputs and targets.
func trainNets(ctx context.Context, o Options, hidden []int, xs, ys, xv, yv [][]float64, rep *Report) ([][]byte, error) {
	loss, err := lossOf(o.Loss)
	if err != nil {
		return nil, err
	}
	nIn, nOut := len(xs[0]), len(ys[0])
	id := func(_, _ int, v float64) float64 { return v }
	tr := model.Dataset[float32]{X: flatten32(xs, id), Y: flatten32(ys, id)}
	va := model.Dataset[float32]{X: flatten32(xv, id), Y: flatten32(yv, id)}
	layers := make([]model.Layer, 0, len(hidden)+1)
	for _, h := range hidden {
		layers = append(layers, model.Layer{Size: h, Act: model.ReLU})
	}
	layers = append(layers, model.Layer{Size: nOut, Act: model.Linear})
	var out [][]byte
	for k := 0; k < o.Ensemble; k++ {
		seed := o.Seed*1000003 + uint64(k)*7919 + 1
		net, err := model.New[float32](nIn, layers, seed)
		if err != nil {
			return nil, err
		}
		cfg := model.TrainConfig[float32]{
			Epochs: o.Epochs, BatchSize: o.BatchSize, Loss: loss, Optimizer: model.NewAdam[float32](),
			Schedule: model.Cosine{Base: o.LR, Min: o.LR / 20, Epochs: o.Epochs},
			L2:       o.L2, ClipNorm: 5, Seed: seed, Patience: o.Patience, MinDelta: 1e-5,
		}
		kk := k
		h, err := model.Train(ctx, net, tr, va, cfg, func(s model.EpochStats) {
			if o.Progress != nil {
				o.Progress(kk, s)
			}
		})
		if err != nil {
			return nil, fmt.Errorf("train network %d: %w", k, err)
		}
		rep.Histories = append(rep.Histories, h.Epochs)
		rep.BestEpochs = append(rep.BestEpochs, h.BestEpoch)
		b, err := net.MarshalBinary()
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func scaleRows(sc *features.Scaler, X [][]float64) [][]float64 {
	out := make([][]float64, len(X))
	for i, x := range X {
		out[i] = make([]float64, len(x))
		_ = sc.Transform(x, out[i])
	}
	return out
}

func scaleY(Y [][]float64, center, scale []float64) [][]float64 {
	out := make([][]float64, len(Y))
	for i, y := range Y {
		out[i] = make([]float64, len(y))
		for j, v := range y {
			out[i][j] = (v - center[j]) / scale[j]
		}
	}
	return out
}

// fitWindow shrinks the window for short histories: at least 10 windows per series.
func fitWindow(want int, d Data) int {
	shortest := math.MaxInt
	for _, s := range d.Series {
		shortest = min(shortest, len(s.Rows))
	}
	w := want
	if shortest-10 < w {
		w = max(2, shortest/3)
	}
	return w
}

func split(s Series, frac float64) (train, val Series) {
	n := len(s.Rows)
	cut := n - int(float64(n)*frac)
	return Series{s.Asset, s.T[:cut], s.Rows[:cut]}, Series{s.Asset, s.T[cut:], s.Rows[cut:]}
}

func fitAnomaly(ctx context.Context, d Data, o Options) (*artifact.Model, *Report, error) {
	start := time.Now()
	if o.AgeFeature {
		return nil, nil, fmt.Errorf("age feature: only for rul models (an anomaly stream has no meaningful start)")
	}
	rep := &Report{Task: o.Task, Windows: map[string]int{}, Metrics: map[string]float64{}}
	trainPart := func(s Series) Series { tr, _ := split(s, o.ValFrac); return tr }
	p, err := prepare(d, &o, trainPart, rep)
	if err != nil {
		return nil, nil, err
	}
	if o.Combine != "" && o.Combine != "rms" && o.Combine != artifact.CombineMax {
		return nil, nil, fmt.Errorf("combine %q: use max or rms", o.Combine)
	}
	want := o.Window
	if want <= 0 {
		want = defaultAnomalyWindow(p.period)
	}
	if o.Window <= 0 {
		want = anomalyWindowFor(want, d, o.ValFrac)
	}
	spec := p.spec(&o, fitWindow(want, d))
	if err := spec.Validate(); err != nil {
		return nil, nil, fmt.Errorf("feature spec: %w", err)
	}
	if f := artifact.ResidualFeature(o.TargetFeature); !slices.Contains(spec.Features, f) {
		return nil, nil, fmt.Errorf("target feature %q is not a window feature of this model (have %v)", f, spec.Features)
	}
	targets := p.sensors
	if len(o.Context) > 0 {
		targets = nil
		for _, c := range o.Context {
			if !slices.Contains(p.sensors, c) {
				return nil, nil, fmt.Errorf("%w: context column %q is not a usable sensor (have %v)", ErrData, c, p.sensors)
			}
		}
		for _, s := range p.sensors {
			if !slices.Contains(o.Context, s) {
				targets = append(targets, s)
			}
		}
		if len(targets) == 0 {
			return nil, nil, fmt.Errorf("%w: every sensor is a context column; nothing left to watch", ErrData)
		}
	}
	resIdx := featureIndexes(spec, targets, artifact.ResidualFeature(o.TargetFeature))
	history := anomalyHistory(o)
	var tr, va matrix
	for _, s := range d.Series {
		a, b := split(s, o.ValFrac)
		all, cut := p.rowsFor(s), len(a.Rows)
		// The history inputs run over the whole series, across the split, as they do
		// on a gateway that has scored the machine all along (and in replay).
		var hist [][]float64
		if len(history) > 0 {
			var err error
			if hist, err = runHistory(history, all, s.T, p.period, spec.MaxFill); err != nil {
				return nil, nil, err
			}
		}
		for _, part := range []struct {
			s      Series
			dst    *matrix
			lo, hi int
		}{{a, &tr, 0, cut}, {b, &va, cut, len(all)}} {
			if len(part.s.Rows) < spec.Window {
				continue
			}
			rows := all[part.lo:part.hi]
			var h [][]float64
			if hist != nil {
				h = hist[part.lo:part.hi]
			}
			m, err := windows(spec, p.period, o.AgeFeature, h, rows, part.s.T, anomalyTarget(o.Forecast, resIdx, targetCols(spec, targets), rows), rep)
			if err != nil {
				return nil, nil, err
			}
			part.dst.add(m)
		}
	}
	rep.Windows["train"], rep.Windows["val"] = len(tr.X), len(va.X)
	if len(tr.X) < minTrainWindows || len(va.X) < minValWindows {
		return nil, nil, namesFlag(fmt.Errorf("%w: %d training and %d validation windows of %d samples; need at least %d and %d: give at least %d rows per machine (a window of %d needs %d held-out rows), or a smaller --window",
			ErrData, len(tr.X), len(va.X), spec.Window, minTrainWindows, minValWindows, rowsNeeded(spec.Window, o.ValFrac), spec.Window, minValWindows+spec.Window-1))
	}
	in := features.NewScaler(features.ZScore)
	if err := in.Fit(tr.X); err != nil {
		return nil, nil, err
	}
	tc, ts, err := scaleTargets(tr.Y)
	if err != nil {
		return nil, nil, err
	}
	// A forecaster sees its own sensor's past: nothing to leave out.
	loo := (len(p.sensors) > 1 || len(o.Context) > 0) && o.Forecast == 0
	hidden := o.Hidden
	if len(hidden) == 0 {
		hidden = defaultHidden(len(tr.X[0]), len(tr.X))
		if !loo && o.Forecast == 0 {
			// One sensor: an autoencoder with a one-unit bottleneck, the best a single
			// signal allows without a second one to explain it.
			hidden = []int{hidden[0], 1, hidden[0]}
		}
	}
	rep.Hidden = hidden
	xs, xv := scaleRows(in, tr.X), scaleRows(in, va.X)
	ys, yv := scaleY(tr.Y, tc, ts), scaleY(va.Y, tc, ts)
	var nets [][]byte
	var chosen []string // each target's feature, when they are not all the configured one
	var targetHistory []bool
	switch {
	case o.Detector == DetectorMonitor:
	case loo:
		var lf looFit
		if lf, err = trainLeaveOneOut(ctx, o, hidden, spec, history, targets, targetCandidates(o, spec), xs, xv, tr, va, rep); err == nil {
			nets, tc, ts = lf.nets, lf.center, lf.scale
			if len(history) > 0 {
				targetHistory = lf.history
			}
			if slices.ContainsFunc(lf.features, func(f string) bool { return f != artifact.ResidualFeature(o.TargetFeature) }) {
				chosen = lf.features
			}
		}
	default:
		nets, err = trainNets(ctx, o, hidden, xs, ys, xv, yv, rep)
	}
	if err != nil {
		return nil, nil, err
	}
	var mon *artifact.Monitor
	if o.Detector != DetectorNets {
		if mon, err = fitMonitor(monitored(xs, spec, o.Context)); err != nil {
			return nil, nil, err
		}
		if len(o.Context) > 0 {
			mon.Inputs = monitorInputs(spec, o.Context)
		}
		rep.Metrics["monitor_components"] = float64(len(mon.Components))
	}
	m := &artifact.Model{
		Name: o.Name, Version: o.Version, Created: time.Now().UTC(), Task: o.Task, Match: o.Match,
		Spec: spec, Settings: p.settings, Regimes: p.regimes, Input: in,
		Targets: targets, TargetCenter: tc, TargetScale: ts, Smoothing: o.Smoothing,
		Period: p.period, Nets: nets, LeaveOneOut: loo, Context: o.Context, Combine: combineOf(o, len(targets)),
		Modes: artifact.Modes{AgeFeature: o.AgeFeature, HistoryEWMA: history, Forecast: o.Forecast, Likelihood: o.Likelihood,
			Level: o.Level, Monitor: mon}, TargetFeature: o.TargetFeature, TargetFeatures: chosen, TargetHistory: targetHistory,
	}
	if err := calibrateAnomaly(m, d, p, o, rep); err != nil {
		return nil, nil, err
	}
	// After calibration: the warn level is the residual score's own, and the envelope
	// (which scores relative to it) is a separate limit alarm on top.
	if o.Envelope > 0 && o.Task == artifact.TaskAnomaly && slices.Contains(spec.Features, features.FeatLast) && historySpan(d) >= MinEnvelopeHistory.Seconds() {
		m.Envelope = envelopeOf(spec, targets, o.Envelope, tr.X, va.X)
		m.Envelope.Allowances = heldOutAllowances(spec, targets, o.Envelope, tr.X, va.X)
	}
	if !o.NoSensorCheck {
		// After calibration, like the envelope: its score is a multiple of the warn
		// level, which must not feed back into placing that level.
		m.SensorCheck = sensorCheckOf(d, p, spec.Window, spec.MaxFill)
	}
	rep.Duration = time.Since(start)
	rep.Seconds = rep.Duration.Seconds()
	m.Training = trainingMeta(o, rep, d)
	return m, rep, m.Validate()
}

// sensorCheckOf learns every sensor's healthy signal limits over every series, training
// and held-out part alike, with the scorer's own checker (scoring.Learn).
func sensorCheckOf(d Data, p *prepared, window, maxFill int) *artifact.SensorCheck {
	var lim scoring.SensorLimits
	for _, s := range d.Series {
		rows := p.rowsFor(s)
		// An outage the stream would not fill restarts its checker: learn per run.
		for _, r := range runs(s.T, p.period, maxFill) {
			scoring.Learn(rows[r[0]:r[1]], window, &lim)
		}
	}
	return lim.Finish()
}

// envelopeOf is each target's range of latest values over every healthy window, training
// and validation alike, so replaying the validation part (calibration) never touches it.
func envelopeOf(spec features.Spec, targets []string, allowance float64, parts ...[][]float64) *artifact.Envelope {
	idx := featureIndexes(spec, targets, features.FeatLast)
	e := &artifact.Envelope{Allowance: allowance, Min: make([]float64, len(targets)), Max: make([]float64, len(targets))}
	for k, i := range idx {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, rows := range parts {
			for _, x := range rows {
				if v := x[i]; !math.IsNaN(v) {
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
			}
		}
		e.Min[k], e.Max[k] = lo, hi
	}
	return e
}

// MinEnvelopeHistory is the least history (summed over series) from which the trainer
// learns limit alarms: a range seen over a day or so has not seen the next day's
// ambient temperature, shift pattern or batch, and a limit alarm placed there fires on
// normal operation (Tennessee Eastman, 25 hours of history: a false alarm rate of 43 %
// on a later normal run with the envelope, 0 % without). Shorter histories rely on the
// monitor and the networks alone.
const MinEnvelopeHistory = 48 * time.Hour

// historySpan is the time the series cover, summed (seconds; rows when untimed).
func historySpan(d Data) float64 {
	var span float64
	for _, s := range d.Series {
		if n := len(s.T); n > 1 {
			span += s.T[n-1] - s.T[0]
		}
	}
	return span
}

// heldOutAllowances is each target's allowance: the configured one where the history
// has established the target's range, 0 (no limit alarm) where it has not. The test
// is the held-out part: healthy by assumption, so when its latest values went beyond
// the range of the training part by more than the allowance, the history has not
// seen the target's normal range (Tennessee Eastman: 25 hours of a process that
// wanders for days), and a limit alarm would fire on normal operation. The monitor
// still watches such targets.
func heldOutAllowances(spec features.Spec, targets []string, least float64, train, val [][]float64) []float64 {
	tr := envelopeOf(spec, targets, least, train)
	idx := featureIndexes(spec, targets, features.FeatLast)
	out := make([]float64, len(targets))
	for k, i := range idx {
		width := math.Max(tr.Max[k]-tr.Min[k], 1e-12)
		out[k] = least
		for _, x := range val {
			if v := x[i]; math.Max(v-tr.Max[k], tr.Min[k]-v) > least*width {
				out[k] = 0
				break
			}
		}
	}
	return out
}

func featureIndexes(spec features.Spec, targets []string, feat string) []int {
	names := spec.FeatureNames()
	idx := make([]int, len(targets))
	for i, s := range targets {
		for k, n := range names {
			if n == s+"."+feat {
				idx[i] = k
			}
		}
	}
	return idx
}

// calibrateAnomaly sets residual scales from validation residuals, then runs the live
// scoring path over the validation part to place the alert levels.
func calibrateAnomaly(m *artifact.Model, d Data, p *prepared, o Options, rep *Report) error {
	// Pass 1: residual scale 1 and a never-firing alert, to measure raw residuals.
	m.ResidualScale = ones(len(m.Targets))
	m.Alert = alerting.Config{Levels: alerting.Levels{Warn: math.MaxFloat64 / 4, Critical: math.MaxFloat64 / 2, Clear: 0, Above: true}, K: o.K, M: o.M, ClearAfter: clearAfter(o.Clear, m.Spec.Window), Holdoff: o.Holdoff}
	res, _, _, t2, spe, err := replay(m, d, p, o)
	if err != nil {
		return err
	}
	scale := make([]float64, len(m.Targets))
	for k := range scale {
		var ss float64
		for _, r := range res {
			ss += r[k] * r[k]
		}
		scale[k] = math.Max(math.Sqrt(ss/float64(max(1, len(res)))), 1e-6)
		if m.Combine == artifact.CombineMax {
			// The largest residual decides: scale each target by its own healthy tail
			// (99th percentile of |residual|), so a target with heavy-tailed noise
			// (vibration kurtosis, start-up transients) does not set the bar for a
			// quiet one (a temperature) whose small steady departure is the fault.
			abs := make([]float64, len(res))
			for i, r := range res {
				abs[i] = math.Abs(r[k])
			}
			scale[k] = math.Max(quantile(abs, 0.99), 1e-6)
		}
	}
	if len(m.Nets) == 0 {
		// No residuals without networks; the envelope still needs each target's
		// typical variation as the least width of its range.
		for k := range scale {
			scale[k] = math.Max(m.TargetScale[k], 1e-6)
		}
	}
	m.ResidualScale = scale
	if mo := m.Monitor; mo != nil {
		// Each statistic over its own healthy tail, as the residuals: the larger one
		// decides, so neither may dominate by its units.
		mo.T2Level = math.Max(quantile(t2, 0.99), 1e-9)
		mo.SPELevel = math.Max(quantile(spe, 0.99), 1e-9)
	}
	// Pass 2: the scores as the daemon will see them.
	res, scores, times, _, _, err := replay(m, d, p, o)
	if err != nil {
		return err
	}
	for _, r := range res {
		rep.Residuals = append(rep.Residuals, r...)
	}
	rep.ValScores, rep.ValTimes = scores, times
	q := quantile(scores, o.Quantile)
	warn := math.Max(q*o.Margin, 1e-6)
	if o.FalseAlarmsPerWeek > 0 {
		warn = math.Max(warnLevel(scores, o.FalseAlarmsPerWeek, m.Period), 1e-6)
	}
	if m.Likelihood != nil {
		warn = o.LikelihoodZ // a standard score: no validation span is long enough to calibrate it
	}
	m.Alert.Levels = alerting.Levels{Warn: warn, Critical: 2 * warn, Clear: 0.8 * warn, Above: true}
	if o.BaselineHalfLife > 0 && m.Likelihood == nil {
		m.Baseline = baselineFor(scores, o.BaselineHalfLife, m.Period*float64(max(1, m.Spec.Stride)), o.FalseAlarmsPerWeek)
	}
	rep.Threshold = map[string]float64{"warn": warn, "critical": 2 * warn, "clear": 0.8 * warn, "quantile": o.Quantile, "quantile_value": q, "margin": o.Margin}
	rep.Metrics["val_score_p50"] = quantile(scores, 0.5)
	rep.Metrics["val_score_p99"] = quantile(scores, 0.99)
	rep.Metrics["val_score_max"] = quantile(scores, 1)
	rep.Metrics["val_windows_over_warn"] = float64(countOver(scores, warn))
	return nil
}

func ones(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

func countOver(v []float64, thr float64) int {
	n := 0
	for _, x := range v {
		if x >= thr {
			n++
		}
	}
	return n
}

// replay scores the validation part of every series through scoring.Stream, the
// daemon's own code, warmed up on the window before it.
func replay(m *artifact.Model, d Data, p *prepared, o Options) (resid [][]float64, scores, times, t2, spe []float64, err error) {
	sc, err := scoring.New(m)
	if err != nil {
		return nil, nil, nil, nil, nil, fmt.Errorf("calibration: %w", err)
	}
	for _, s := range d.Series {
		tr, va := split(s, o.ValFrac)
		st, err := sc.NewStream()
		if err != nil {
			return nil, nil, nil, nil, nil, err
		}
		from := max(0, len(tr.Rows)-m.Spec.Window-m.Forecast)
		if len(m.HistoryEWMA) > 0 {
			// The history inputs are the whole series', as in training.
			from = 0
		}
		for i := from; i < len(s.Rows); i++ {
			r, ok, err := st.Push(secondsToTime(s.T[i]), p.scorerRow(s.Rows[i]))
			if err != nil || !ok || i < len(tr.Rows) || !st.HistoryWarm() {
				// A window whose history-fed networks are silenced (after an outage)
				// would count their residuals as perfect fits.
				continue
			}
			resid = append(resid, append([]float64(nil), r.Residual...))
			scores = append(scores, r.Score)
			times = append(times, s.T[i])
			t2, spe = append(t2, r.T2), append(spe, r.SPE)
		}
		_ = va
	}
	if len(scores) == 0 {
		return nil, nil, nil, nil, nil, fmt.Errorf("%w: no validation window could be scored", ErrData)
	}
	return resid, scores, times, t2, spe, nil
}

// secondsToTime maps a data time (Unix seconds or cycles) to the stream's clock.
func secondsToTime(s float64) time.Time {
	sec := math.Floor(s)
	return time.Unix(int64(sec), int64((s-sec)*1e9)).UTC()
}

func trainingMeta(o Options, rep *Report, d Data) map[string]any {
	rows := 0
	for _, s := range d.Series {
		rows += len(s.Rows)
	}
	return map[string]any{
		"rows": rows, "series": len(d.Series), "windows": rep.Windows, "hidden": rep.Hidden,
		"ensemble": o.Ensemble, "epochs_max": o.Epochs, "best_epochs": rep.BestEpochs, "seed": o.Seed,
		"lr": o.LR, "batch": o.BatchSize, "l2": o.L2, "dropped": rep.Dropped, "seconds": rep.Seconds,
	}
}

// trainLeaveOneOut fits one network per sensor that predicts a window feature of it
// from the other sensors' features (its own masked to 0, the scaled training mean),
// the normal-behaviour model the scorer runs when the model says LeaveOneOut. With
// more than one candidate feature (cands; the trainer's default) each sensor gets a
// network per candidate and keeps the one whose held-out residual tail is smallest in
// the sensor's units (pickTarget). With o.Ensemble > 1 the choice gets that many
// networks in all, from other initialisations, which the scorer averages. tr and va
// are the unscaled windows; the scaled targets and the scale of each target's chosen
// feature are returned with the networks.
func trainLeaveOneOut(ctx context.Context, o Options, hidden []int, spec features.Spec, history []float64, targets, cands []string, xs, xv [][]float64, tr, va matrix, rep *Report) (looFit, error) {
	names := spec.FeatureNames()
	inputs := (&artifact.Model{Spec: spec, Modes: artifact.Modes{AgeFeature: o.AgeFeature, HistoryEWMA: history}}).InputNames()
	oo := o
	oo.Ensemble = 1
	fit := looFit{center: make([]float64, len(targets)), scale: make([]float64, len(targets))}
	for k, sensor := range targets {
		masked := func(history bool) ([][]float64, [][]float64) {
			own := artifact.HiddenInputs(inputs, o.Context, sensor, history)
			mask := func(X [][]float64) [][]float64 {
				out := make([][]float64, len(X))
				for i, x := range X {
					out[i] = append([]float64(nil), x...)
					for _, j := range own {
						out[i][j] = 0
					}
				}
				return out
			}
			return mask(xs), mask(xv)
		}
		mxs, mxv := masked(false)
		oo.Seed = o.Seed + uint64(k)*104729
		train := func(f string, mxs, mxv [][]float64) (looCandidate, error) {
			c, err := trainCandidate(ctx, oo, hidden, mxs, mxv, column(tr.X, slices.Index(names, sensor+"."+f)), column(va.X, slices.Index(names, sensor+"."+f)))
			if err != nil {
				return c, fmt.Errorf("sensor %s (%s): %w", sensor, f, err)
			}
			c.feature = f
			return c, nil
		}
		var best *looCandidate
		for _, f := range cands {
			c, err := train(f, mxs, mxv)
			if err != nil {
				return looFit{}, err
			}
			if best == nil || pickTarget(c.tail, best.tail) {
				best = &c
			}
		}
		if len(cands) > 1 {
			if rep.TargetFeatures == nil {
				rep.TargetFeatures = map[string]string{}
			}
			rep.TargetFeatures[sensor] = best.feature
		}
		// The history means, on the feature chosen: kept where they shrink the
		// held-out tail as much as a feature must to win.
		sees := false
		if len(history) > 0 {
			hxs, hxv := masked(true)
			c, err := train(best.feature, hxs, hxv)
			if err != nil {
				return looFit{}, err
			}
			if sees = pickTarget(c.tail, best.tail); sees {
				best = &c
				mxs, mxv = hxs, hxv
			}
			if rep.TargetHistory == nil {
				rep.TargetHistory = map[string]bool{}
			}
			rep.TargetHistory[sensor] = sees
		}
		fit.history = append(fit.history, sees)
		fit.nets = append(fit.nets, best.net)
		// --ensemble: more networks for the choice made, from other initialisations,
		// averaged by the scorer. Same target, so the same z-score.
		seed := oo.Seed
		for e := 1; e < o.Ensemble; e++ {
			oo.Seed = seed + uint64(e)*7919
			c, err := train(best.feature, mxs, mxv)
			if err != nil {
				return looFit{}, err
			}
			fit.nets = append(fit.nets, c.net)
		}
		fit.features = append(fit.features, best.feature)
		fit.center[k], fit.scale[k] = best.center, best.scale
		rep.Histories = append(rep.Histories, best.rep.Histories...)
		rep.BestEpochs = append(rep.BestEpochs, best.rep.BestEpochs...)
	}
	return fit, nil
}

// targetCandidates are the window features a leave-one-out network may predict: the
// one asked for, or by default the window mean and the EWMA. The mean averages the
// measurement noise over the window; the EWMA follows a sensor that lags its inputs
// (a bearing temperature's quarter-hour time constant leaves an hour's mean depending
// on what came before the window). A persistent fault moves both by the same amount.
func targetCandidates(o Options, spec features.Spec) []string {
	if o.TargetFeature != "" || !slices.Contains(spec.Features, features.FeatEWMA) {
		return []string{artifact.ResidualFeature(o.TargetFeature)}
	}
	return []string{features.FeatMean, features.FeatEWMA}
}

// NetsPerTarget is how many networks a leave-one-out anomaly model trains per watched
// sensor with options o (targetCandidates), for progress estimates.
func NetsPerTarget(o Options) int {
	if o.Forecast > 0 {
		return 1
	}
	sp := features.DefaultSpec([]string{"x"}, 2)
	if len(o.Features) > 0 {
		sp.Features = o.Features
	}
	n := len(targetCandidates(o, sp)) + max(0, o.Ensemble-1)
	if len(anomalyHistory(o)) > 0 {
		n++
	}
	return n
}

// looFit is what trainLeaveOneOut fitted: the networks of each target in turn
// (Options.Ensemble of them), the window feature each target's predict, and the
// z-score of that feature.
type looFit struct {
	nets          [][]byte
	features      []string
	history       []bool // per target: its network sees the history means
	center, scale []float64
}

// looCandidate is one target's network for one candidate feature.
type looCandidate struct {
	feature       string
	net           []byte
	center, scale float64
	// tail is the 99.9th percentile of |residual| on the held-out windows, in units: the
	// far tail, where the warn level sits (a few false alarms a month is one window
	// in tens of thousands), not only the bulk. The compressor's delivered flow,
	// jumping with every load/unload, is followed as closely by its EWMA at the 99th
	// percentile, but with twice the largest errors.
	tail float64
	rep  Report
}

// pickTarget says whether a candidate whose held-out residual tail is tail beats the
// best so far (the first candidate, the mean, or a later one already preferred). A
// candidate must be a quarter better to win: on a sensor both follow about equally
// well (a compressor's pressure or flow, within 10-25 %) the choice turned on the
// validation split's noise and changed from one training to the next, and an EWMA
// chosen so added false alerts; the wins that matter, lagging temperatures, are three
// to four times.
func pickTarget(tail, best float64) bool { return tail < 0.75*best }

// trainCandidate fits one network on masked, scaled inputs to the target column y
// (unscaled training values ytr, held-out yva) and measures its held-out residual.
func trainCandidate(ctx context.Context, o Options, hidden []int, xs, xv [][]float64, ytr, yva []float64) (looCandidate, error) {
	c := looCandidate{rep: Report{Metrics: map[string]float64{}}}
	tc, ts, err := scaleTargets(colRows(ytr))
	if err != nil {
		return c, err
	}
	c.center, c.scale = tc[0], ts[0]
	nets, err := trainNets(ctx, o, hidden, xs, scaleY(colRows(ytr), tc, ts), xv, scaleY(colRows(yva), tc, ts), &c.rep)
	if err != nil {
		return c, err
	}
	c.net = nets[0]
	var net model.MLP[float32]
	if err := net.UnmarshalBinary(c.net); err != nil {
		return c, err
	}
	pr := net.NewPredictor()
	in, out := make([]float32, len(xv[0])), []float32{0}
	abs := make([]float64, len(xv))
	for i, x := range xv {
		for j, v := range x {
			in[j] = float32(v)
		}
		out = pr.Predict(in, out)
		abs[i] = math.Abs(c.center + c.scale*float64(out[0]) - yva[i])
	}
	c.tail = quantile(abs, 0.999)
	return c, nil
}

// column is column j of X.
func column(X [][]float64, j int) []float64 {
	out := make([]float64, len(X))
	for i, x := range X {
		out[i] = x[j]
	}
	return out
}

// colRows makes a one-column matrix of y.
func colRows(y []float64) [][]float64 {
	out := make([][]float64, len(y))
	for i, v := range y {
		out[i] = []float64{v}
	}
	return out
}

// targetCols gives each target's column in the spec's sensor order.
func targetCols(spec features.Spec, targets []string) []int {
	out := make([]int, len(targets))
	for i, t := range targets {
		out[i] = slices.Index(spec.Sensors, t)
	}
	return out
}

// anomalyTarget is the target of an anomaly window ending at row end: each target's
// window mean (reconstruction), or with a forecast horizon h the mean of its next h
// rows, the value scoring.Stream compares with h rows later (nil when those rows run
// past the data or hold a missing value).
func anomalyTarget(h int, resIdx, cols []int, rows [][]float64) func([]float64, int, int) []float64 {
	if h <= 0 {
		return func(feat []float64, _, _ int) []float64 { return pick(feat, resIdx) }
	}
	return func(_ []float64, end, runEnd int) []float64 {
		if end+h >= runEnd {
			return nil
		}
		y := make([]float64, len(cols))
		for j, c := range cols {
			for _, r := range rows[end+1 : end+h+1] {
				y[j] += r[c]
			}
			y[j] /= float64(h)
			if math.IsNaN(y[j]) || math.IsInf(y[j], 0) {
				return nil
			}
		}
		return y
	}
}

// clearAfter is the calm windows that clear an anomaly alert: as given, else a whole
// window length (at least 5). A fault whose score hovers about the warn level (a
// bearing wearing in) otherwise raised, cleared and raised again within the hour:
// on the simulated plant, seed 23, 5 calm windows gave 1.43 raises per detected fault,
// a window's length 1.17 at the same detections and false alerts (docs/benchmarks.md).
func clearAfter(clear, window int) int {
	if clear > 0 {
		return clear
	}
	return max(5, window)
}

// The fewest windows an anomaly model trains and calibrates on.
const (
	minTrainWindows = 20
	minValWindows   = 5
)

// rowsNeeded is the shortest history that gives minTrainWindows and minValWindows
// windows of w rows with the held-out share valFrac.
func rowsNeeded(w int, valFrac float64) int {
	need := int(math.Ceil(float64(minValWindows+w-1) / valFrac))
	return max(need, int(math.Ceil(float64(minTrainWindows+w-1)/(1-valFrac))))
}

// anomalyWindowFor caps the default window by the history: a quarter of the typical
// series' held-out part, so calibration sees at least three windows' worth of
// distinct ones (a 500-row history with the default held-out quarter gets at most 31
// rows; a window of 120 there left no validation window at all).
func anomalyWindowFor(want int, d Data, valFrac float64) int {
	// The median series, not the shortest: one machine with a few dozen rows must not
	// shrink the window of a whole fleet (its own windows are then simply too few).
	lens := make([]int, len(d.Series))
	for i, s := range d.Series {
		lens[i] = len(s.Rows)
	}
	slices.Sort(lens)
	typical := lens[len(lens)/2]
	return max(2, min(want, int(float64(typical)*valFrac)/4))
}

// defaultAnomalyWindow spans about an hour of samples (20 to 120): shorter windows see
// the thermal lag of every load change as an anomaly (measured on the simulated plant,
// docs/benchmarks.md), longer ones react late. Without a known period: 20 samples.
func defaultAnomalyWindow(period float64) int {
	if period <= 0 {
		return 20
	}
	return min(120, max(20, int(math.Round(3600/period))))
}

// combineOf picks how residuals combine: the largest one by default when there are
// several targets, so a fault visible on one sensor is not diluted by the healthy ones.
func combineOf(o Options, targets int) string {
	switch {
	case o.Combine == "rms":
		return ""
	case o.Combine == artifact.CombineMax, targets > 1:
		return artifact.CombineMax
	}
	return ""
}
