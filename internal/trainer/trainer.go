// Package trainer fits Faultline's models from history: it turns series of sensor rows
// into windowed features (internal/features), trains MLP ensembles (internal/model),
// calibrates alert thresholds by running the exact live scoring path
// (internal/scoring) over held-out data, and returns a validated model file
// (internal/artifact) plus what a report needs. It knows nothing of CSV or InfluxDB:
// cmd/train feeds it Data from either source.
package trainer

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/features"
	"github.com/faultline/faultline/internal/model"
)

// Series is one asset's history in time order. Rows hold one value per Data.Columns
// entry, NaN where missing.
type Series struct {
	Asset string
	T     []float64 // seconds (timestamps) or cycles
	Rows  [][]float64
}

// Data is the training input.
type Data struct {
	Columns []string
	Series  []Series
	// Dropped names the columns the reader left out already (text columns of an
	// export), and why; the report lists them with the trainer's own.
	Dropped map[string]string
	// TextCells says, per column, how many text cells were read as missing.
	TextCells map[string]string
	// TimeColumn names the column T came from, if any, and Timestamps says T holds
	// Unix seconds: a rul model's age column may be the time column (C-MAPSS's cycle).
	TimeColumn string
	Timestamps bool
}

// Options of a training run. Zero values pick the documented defaults.
type Options struct {
	Task    string // artifact.TaskAnomaly (default) or artifact.TaskRUL
	Name    string
	Version string
	Match   string

	Window   int      // samples per window; default 30 (rul) / 20 (anomaly), shrunk for short data
	Stride   int      // default 1
	Features []string // default features.DefaultSpec's list (mean always added)
	MaxFill  int      // default 3

	Settings []string // operating-setting columns: regime normalisation
	// Context lists operating-condition sensors (load, speed, ambient): when given,
	// every other sensor is predicted from them alone (normal-behaviour model).
	Context []string
	Regimes int // number of regimes; 0 = choose automatically

	Hidden    []int // hidden layer sizes; default from the data size
	Ensemble  int   // networks averaged; default 1 (anomaly), 5 (rul)
	Epochs    int   // default 200 (early stopping usually ends sooner)
	BatchSize int   // default 64
	LR        float64
	L2        float64
	Patience  int // default 15
	Seed      uint64
	ValFrac   float64 // held-out share: last part of each series (anomaly) or last assets (rul); default 0.25
	Loss      string  // mse (default; rul: DefaultRULLoss), huber, mae, asym, asym:W

	// Anomaly calibration: the warn level is the Quantile of smoothed validation
	// scores times Margin (defaults 0.999 and 1.5); critical is 2x warn, clear 0.8x.
	Quantile  float64
	Margin    float64
	Smoothing float64 // EWMA of the score; default 0.3
	// Combine: "max" (default with several targets: the largest normalised residual)
	// or "rms" (root mean square over targets, the behaviour before max existed).
	Combine string
	K, M    int // alert: k of m windows (default 3 of 5)
	Clear   int // alert: calm windows to clear (default: the window length, at least 5)
	Holdoff int // alert: windows after a raise before another raise (0 = off)

	// RUL: cap of the target (default 125) and horizon under which an alert is
	// raised (default 30); critical at half the horizon.
	RULCap  float64
	Horizon float64

	// AgeFeature adds the rows seen since the stream began as an input (rul only:
	// see artifact.Model.AgeFeature). Off by default: it is the asset's age only when
	// every stream starts at the asset's start of life (or last overhaul), as C-MAPSS's
	// test units and `infer score` over whole histories do. The edge daemon's stream
	// starts when the daemon first sees the asset, mid-life for a machine already
	// running, and an old machine read as young gets a late, optimistic RUL.
	AgeFeature bool
	// AgeColumn (rul) names the column holding each row's age: the asset's operating
	// cycles or run hours since the start of life or the last overhaul
	// (artifact.Model.AgeColumn). Unlike AgeFeature's row count it is right for
	// streams that start mid-life. It may be a data column or the time column when
	// that holds plain numbers (C-MAPSS's cycle, the format's definition of the
	// unit's age); bin/train defaults it to cycle with --cmapss. Rows whose age is
	// missing, not finite or negative are dropped, as the scorer drops them.
	AgeColumn string
	// Forecast > 0 trains an anomaly forecaster of the mean of the next Forecast rows
	// (artifact.Model.Forecast) instead of the window-mean reconstruction.
	Forecast int
	// TargetFeature (anomaly) is the window feature every network predicts: "mean",
	// "ewma" or "last" (artifact.Model.TargetFeature). "" lets each leave-one-out
	// network predict the one of mean and EWMA it follows best on held-out data
	// (artifact.Model.TargetFeatures); other networks predict the mean.
	TargetFeature string
	// Envelope > 0 (anomaly) learns each target's healthy range and scores a latest
	// value beyond it by Envelope x the range at the warn level (artifact.Envelope).
	// 0 means the default, DefaultEnvelope for the residual score and off with
	// Likelihood (whose streams drift by design); < 0 turns it off. It needs the
	// "last" window feature (in the default spec); with custom Features that lack it
	// the envelope is left out rather than changing the networks' inputs.
	Envelope float64
	// Likelihood selects the likelihood score (artifact.Likelihood); the warn level is
	// then the standard score LikelihoodZ (default 4), not a calibrated quantile.
	Likelihood  *artifact.Likelihood
	LikelihoodZ float64
	// Level adds the level score (artifact.Model.Level); needs Likelihood.
	Level *artifact.Likelihood
	// RefitAll (rul): early stopping on the held-out assets only finds the epoch count
	// and fits the band, with RefitProbe networks; the ensemble is then trained on all
	// assets for that many epochs. The rul default unless NoRefit.
	RefitAll bool
	// NoRefit (rul) keeps the early-stopped ensemble, trained on the training assets
	// only (RefitAll off; before session 8 the rul default).
	NoRefit bool
	// HistoryEWMA (rul): smoothing factors of whole-history per-sensor EWMA inputs
	// (artifact.Model.HistoryEWMA); nil = DefaultRULHistory, empty non-nil = none.
	HistoryEWMA []float64
	// MemberWindows (rul): window lengths of further models trained like the main
	// one (seeds offset) and stored as its members (artifact.Model.Members); their
	// predictions are averaged with the main model's where their window is complete.
	MemberWindows []int

	// Detector (anomaly): DetectorMonitor, DetectorNets or DetectorBoth. Default:
	// DetectorNets with Context, DefaultDetector without.
	Detector string
	// FalseAlarmsPerWeek (anomaly) places the warn level: the smoothed score of healthy
	// operation should cross it about this often per machine and week (a tail model of
	// the held-out scores, see warnLevel). 0 means DefaultFalseAlarmsPerWeek with the
	// monitor and Quantile x Margin for the networks alone (their calibration before).
	FalseAlarmsPerWeek float64
	// BaselineHalfLife (anomaly) lets the scorer follow a normal that moves
	// (artifact.Baseline): the recent past it compares with the held-out block halves
	// its weight this often. 0 means DefaultBaselineHalfLife for the monitor alone and
	// off otherwise; a negative value turns it off. Models with Likelihood have none
	// (that score adapts already).
	BaselineHalfLife time.Duration
	// NoSensorCheck (anomaly) leaves out the sensor checks (artifact.SensorCheck):
	// stuck, spiking and silent sensors then raise no sensor-fault alert of their own.
	NoSensorCheck bool

	// Progress receives every epoch of every network.
	Progress func(net int, s model.EpochStats)
}

// Report is what a training run measured, for metrics.json and the plots.
type Report struct {
	Task      string            `json:"task"`
	Sensors   []string          `json:"sensors"`
	Dropped   map[string]string `json:"dropped_columns,omitempty"` // column -> reason
	TextCells map[string]string `json:"text_cells,omitempty"`      // column -> text cells read as missing
	// TargetFeatures is the window feature each watched sensor's network predicts,
	// when the trainer chose it (anomaly, leave-one-out; Options.TargetFeature "").
	TargetFeatures map[string]string `json:"target_features,omitempty"`
	// TargetHistory says which watched sensors' networks see the context sensors'
	// history means (anomaly with history inputs: Options.HistoryEWMA).
	TargetHistory map[string]bool          `json:"target_history,omitempty"`
	Regimes       int                      `json:"regimes"`
	Windows       map[string]int           `json:"windows"` // train / val
	Skipped       int                      `json:"skipped_windows"`
	Hidden        []int                    `json:"hidden"`
	Histories     [][]model.EpochStats     `json:"-"`
	BestEpochs    []int                    `json:"best_epochs"`
	Duration      time.Duration            `json:"-"`
	Seconds       float64                  `json:"train_seconds"`
	Metrics       map[string]float64       `json:"metrics"`
	Threshold     map[string]float64       `json:"threshold,omitempty"`
	Residuals     []float64                `json:"-"` // anomaly: normalised validation residuals (all targets)
	ValScores     []float64                `json:"-"` // anomaly: smoothed scores over validation, in time order
	ValTimes      []float64                `json:"-"`
	Pred          []float64                `json:"-"` // validation predictions (first target)
	Actual        []float64                `json:"-"`
	Extra         map[string][]interface{} `json:"-"`
}

func (o *Options) defaults() {
	if o.Task == "" {
		o.Task = artifact.TaskAnomaly
	}
	if o.Stride <= 0 {
		o.Stride = 1
	}
	if o.MaxFill <= 0 {
		o.MaxFill = 3
	}
	if o.Ensemble <= 0 {
		o.Ensemble = 1
		if o.Task == artifact.TaskRUL {
			o.Ensemble = 5
		}
	}
	if o.Epochs <= 0 {
		o.Epochs = 200
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 64
	}
	if o.LR <= 0 {
		o.LR = 2e-3
	}
	if o.Patience <= 0 {
		o.Patience = 15
	}
	if o.ValFrac <= 0 || o.ValFrac >= 0.9 {
		o.ValFrac = 0.25
	}
	if o.Detector == "" {
		o.Detector = DefaultDetector
		if len(o.Context) > 0 {
			// Declared operating conditions: the normal-behaviour networks explain each
			// sensor by them. The monitor, which has no notion of conditions, alarmed
			// daily on simulated compressors whose conditions moved beyond the healthy
			// period (docs/benchmarks.md, seeds 4 and 29).
			o.Detector = DetectorNets
		}
	}
	if o.FalseAlarmsPerWeek == 0 && o.Quantile == 0 && o.Margin == 0 && o.Detector != DetectorNets {
		o.FalseAlarmsPerWeek = DefaultFalseAlarmsPerWeek
	}
	if o.Quantile <= 0 || o.Quantile >= 1 {
		o.Quantile = 0.999
	}
	if o.Envelope == 0 && o.Task == artifact.TaskAnomaly && o.Likelihood == nil {
		o.Envelope = DefaultEnvelope
	}
	if o.Margin <= 0 {
		// The higher margin is only safe with the envelope catching fast faults.
		o.Margin = 1.5
		if o.Envelope > 0 {
			o.Margin = 2
		}
	}
	if o.Smoothing <= 0 || o.Smoothing > 1 {
		o.Smoothing = 0.3
	}
	if o.K <= 0 || o.M <= 0 {
		o.K, o.M = 3, 5
	}
	// Clear 0 is resolved by fitAnomaly once the window is known (clearAfter).
	if o.Clear < 0 {
		o.Clear = 0
	}
	if o.RULCap <= 0 {
		o.RULCap = 125
	}
	o.rulDefaults()
	if o.Horizon <= 0 {
		o.Horizon = 30
	}
	if o.LikelihoodZ <= 0 {
		o.LikelihoodZ = 4
	}
	if o.BaselineHalfLife == 0 && o.Task == artifact.TaskAnomaly && o.Detector == DetectorMonitor && o.Likelihood == nil {
		// Without declared operating conditions nothing explains a normal that moves,
		// so the monitor follows it. Networks explain each sensor by the conditions;
		// there the baseline only delayed alerts (simulated plant, seed 1: an
		// overheating missed, lead times hours shorter; docs/benchmarks.md).
		o.BaselineHalfLife = DefaultBaselineHalfLife
	}
	if o.Name == "" {
		o.Name = "faultline-" + o.Task
	}
	if o.Version == "" {
		o.Version = time.Now().UTC().Format("20060102T150405Z")
	}
}

// DefaultEnvelope is the anomaly envelope's allowance: a latest value 5 % of its
// healthy range beyond that range scores the warn level. With it the warn margin could
// rise from 1.5 to 2: on the simulated plant (seeds 1-3) failures alerted before failure
// went from 77-84 % to 94-100 % and false alerts from 0.36-2.10 to 0.18-0.84 per 30
// machine-days (docs/benchmarks.md).
const DefaultEnvelope = 0.05

// DefaultFalseAlarmsPerWeek is the healthy crossing rate of the warn level a model
// is calibrated for without Options.FalseAlarmsPerWeek, Quantile or Margin: about one
// false alarm a month per machine (measured on fresh healthy data: docs/benchmarks.md).
const DefaultFalseAlarmsPerWeek = 0.25

// DefaultBaselineHalfLife is how fast an anomaly model's baseline forgets
// (artifact.Baseline): a week, so a day's excursion is a seventh of the recent past and
// a new operating point needs days to become normal, while a normal that moved weeks
// ago (NAB's streams, a season) no longer alarms (docs/model.md).
const DefaultBaselineHalfLife = 7 * 24 * time.Hour

// MinBaselineHalfLife is the shortest half-life Validate accepts: with less, the
// baseline's decaying history never holds its 12 h warm-up (baselineWarmup).
const MinBaselineHalfLife = 24 * time.Hour

// DefaultDetector is the anomaly detector a model gets without Options.Detector.
const DefaultDetector = DetectorMonitor

// ErrData is wrapped by every problem with the input data (as opposed to a bug).
var ErrData = errors.New("training data")

// prepared is the data after column selection and regime normalisation.
type prepared struct {
	sensors  []string
	settings []string
	sIdx     []int // column index of each sensor
	setIdx   []int
	ageIdx   int // column of the age (Options.AgeColumn), -1 without
	regimes  *features.RegimeModel
	period   float64
}

// prepare picks the sensor columns (dropping constant and all-NaN ones, reported) and
// fits the regime model on the training part.
func prepare(d Data, o *Options, trainPart func(Series) Series, rep *Report) (*prepared, error) {
	if len(d.Series) == 0 {
		return nil, fmt.Errorf("%w: no rows", ErrData)
	}
	p := &prepared{ageIdx: -1}
	if o.AgeColumn != "" {
		if p.ageIdx = slices.Index(d.Columns, o.AgeColumn); p.ageIdx < 0 {
			return nil, namesFlag(fmt.Errorf("%w: --age-column %q not found in %v", ErrData, o.AgeColumn, d.Columns))
		}
	}
	for _, s := range o.Settings {
		k := slices.Index(d.Columns, s)
		if k < 0 {
			return nil, fmt.Errorf("%w: setting column %q not found in %v", ErrData, s, d.Columns)
		}
		p.settings, p.setIdx = append(p.settings, s), append(p.setIdx, k)
	}
	rep.Dropped = maps.Clone(d.Dropped)
	if rep.Dropped == nil {
		rep.Dropped = map[string]string{}
	}
	rep.TextCells = d.TextCells
	for k, c := range d.Columns {
		if slices.Contains(o.Settings, c) || c == o.AgeColumn && o.AgeColumn != "" {
			continue // the age column is an input of its own, never a windowed sensor
		}
		if why := columnProblem(d, k, o.Task); why != "" {
			rep.Dropped[c] = why
			continue
		}
		p.sensors, p.sIdx = append(p.sensors, c), append(p.sIdx, k)
	}
	if len(p.sensors) == 0 {
		return nil, fmt.Errorf("%w: no usable sensor column (dropped: %v); every column is constant or empty", ErrData, rep.Dropped)
	}
	p.period = medianStep(d)
	if len(p.settings) > 0 {
		var set, sen [][]float64
		for _, s := range d.Series {
			tr := trainPart(s)
			for _, r := range tr.Rows {
				set = append(set, pick(r, p.setIdx))
				sen = append(sen, pick(r, p.sIdx))
			}
		}
		rm, err := features.FitRegimes(set, sen, features.RegimeConfig{K: o.Regimes, KMax: 8, Seed: o.Seed + 1})
		if err != nil {
			return nil, fmt.Errorf("fit regimes: %w", err)
		}
		p.regimes = rm
		rep.Regimes = rm.NumRegimes()
	}
	rep.Sensors = p.sensors
	return p, nil
}

// columnProblem says why a column cannot be a sensor: all missing, or constant (a
// constant has no information and a zero scale), a label, or for anomaly models an
// id, counter or time (for RUL an operating-hours counter is a fair input).
func columnProblem(d Data, k int, task string) string {
	lo, hi, n := math.Inf(1), math.Inf(-1), 0
	for _, s := range d.Series {
		for _, r := range s.Rows {
			v := r[k]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			n++
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	switch {
	case n == 0:
		return "all values missing"
	case hi-lo <= 1e-9*math.Max(1, math.Abs(hi)):
		return "constant"
	case nearConstant(d, k):
		return "near-constant (99 % of its values are one value; its rare changes would read as anomalies)"
	case slices.Contains(labelNames, strings.ToLower(d.Columns[k])):
		return "looks like a label (its name), never a model input"
	case task == artifact.TaskAnomaly && n >= 10 && increasing(d, k):
		return "looks like an id, counter or time (it only ever increases)"
	}
	return ""
}

// nearConstant says whether at least 99 % of column k's observed values (a sample of at
// most 100,000 spread over the data) equal its median: a status bit that toggled twice,
// a setpoint changed once. Its z-scored changes are enormous, so every change would be
// an alarm; such a signal belongs in --settings or --context, or out.
func nearConstant(d Data, k int) bool {
	total := 0
	for _, s := range d.Series {
		total += len(s.Rows)
	}
	step := max(1, total/100_000)
	var v []float64
	i := 0
	for _, s := range d.Series {
		for _, r := range s.Rows {
			if i%step == 0 && !math.IsNaN(r[k]) && !math.IsInf(r[k], 0) {
				v = append(v, r[k])
			}
			i++
		}
	}
	if len(v) < 100 {
		return false
	}
	slices.Sort(v)
	med, same := v[len(v)/2], 0
	for _, x := range v {
		if x == med {
			same++
		}
	}
	return same*100 >= 99*len(v)
}

// labelNames are column names that hold ground truth, not measurements: a model that
// reads the label would learn the answer, and live telemetry never carries it.
var labelNames = []string{"label", "labels", "fault", "faulty", "anomaly", "is_anomaly", "anomalous", "class", "target", "rul", "failure"}

// increasing says whether column k strictly increases within every series: a row
// number, sequence id or time, which is always out of its healthy range on new data.
func increasing(d Data, k int) bool {
	for _, s := range d.Series {
		prev := math.Inf(-1)
		for _, r := range s.Rows {
			v := r[k]
			if math.IsNaN(v) {
				continue
			}
			if !(v > prev) {
				return false
			}
			prev = v
		}
	}
	return true
}

func medianStep(d Data) float64 {
	var steps []float64
	for _, s := range d.Series {
		for i := 1; i < len(s.T) && len(steps) < 100000; i++ {
			if dt := s.T[i] - s.T[i-1]; dt > 0 {
				steps = append(steps, dt)
			}
		}
	}
	if len(steps) == 0 {
		return 0
	}
	sort.Float64s(steps)
	return steps[len(steps)/2]
}

func pick(r []float64, idx []int) []float64 {
	out := make([]float64, len(idx))
	for i, k := range idx {
		out[i] = r[k]
	}
	return out
}

// rowsFor returns a series' rows as the scorer sees them after regime normalisation:
// sensors only.
func (p *prepared) rowsFor(s Series) [][]float64 {
	out := make([][]float64, len(s.Rows))
	for i, r := range s.Rows {
		row := pick(r, p.sIdx)
		if p.regimes != nil {
			_ = p.regimes.Normalize(p.regimes.Assign(pick(r, p.setIdx)), row, row)
		}
		out[i] = row
	}
	return out
}

// scorerRow maps a Data row to scoring.Scorer.Columns() order (sensors, settings,
// and the age column when the model has one).
func (p *prepared) scorerRow(r []float64) []float64 {
	out := pick(r, p.sIdx)
	out = append(out, pick(r, p.setIdx)...)
	if p.ageIdx >= 0 {
		out = append(out, r[p.ageIdx])
	}
	return out
}

func (p *prepared) spec(o *Options, window int) features.Spec {
	sp := features.DefaultSpec(p.sensors, window)
	if len(o.Features) > 0 {
		sp.Features = slices.Clone(o.Features)
	}
	if !slices.Contains(sp.Features, features.FeatMean) {
		sp.Features = append([]string{features.FeatMean}, sp.Features...)
	}
	if f := o.TargetFeature; f != "" && !slices.Contains(sp.Features, f) {
		sp.Features = append(sp.Features, f)
	}

	sp.Stride = o.Stride
	sp.MaxFill = o.MaxFill
	return sp
}

// defaultHidden sizes the network to the data: a few hundred windows still give a
// usable model (small net, strong early stopping), more data affords more capacity.
func defaultHidden(nIn, nWindows int) []int {
	h := 64
	switch {
	case nWindows < 500:
		h = 16
	case nWindows < 5000:
		h = 32
	}
	if nIn < h/2 {
		h = max(8, 2*nIn)
	}
	return []int{h, h / 2}
}

func lossOf(name string) (model.Loss, error) {
	switch name {
	case "", "mse":
		return model.Loss{Kind: model.MSE}, nil
	case "huber":
		return model.Loss{Kind: model.Huber, Delta: 1}, nil
	case "mae":
		return model.Loss{Kind: model.MAE}, nil
	case "asym":
		return model.Loss{Kind: model.AsymMSE, Late: 2}, nil
	}
	if w, ok := strings.CutPrefix(name, "asym:"); ok {
		late, err := strconv.ParseFloat(w, 64)
		if err != nil || !(late >= 1) || math.IsInf(late, 1) {
			return model.Loss{}, fmt.Errorf("loss %q: the late weight W in asym:W must be a finite number >= 1 (e.g. asym:1.5)", name)
		}
		return model.Loss{Kind: model.AsymMSE, Late: late}, nil
	}
	return model.Loss{}, fmt.Errorf("loss %q: use mse, huber, mae, asym (late weight 2) or asym:W (late weight W >= 1)", name)
}

func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	pos := q * float64(len(s)-1)
	i := int(pos)
	if i >= len(s)-1 {
		return s[len(s)-1]
	}
	f := pos - float64(i)
	return s[i]*(1-f) + s[i+1]*f
}
