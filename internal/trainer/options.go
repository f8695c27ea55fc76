package trainer

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/features"
)

// DefaultRULLoss is the loss of rul models without Options.Loss: squared error with
// late predictions (above the true RUL) weighted 4. Late predictions cost most (the
// PHM08 score grows with exp(late/10), an early one with exp(early/13)). Chosen on
// C-MAPSS training units only (bench/accuracy/rul-holdout.sh, 5 folds of held-out
// units): with the age and the refit on all assets, weight 4 against 3 gave RMSE
// 11.58 / 13.26 against 11.39 / 13.49 and PHM08 per 100 units 199 / 274 against
// 199 / 301 on FD001 / FD003 (docs/benchmarks.md).
const DefaultRULLoss = "asym:4"

// RefitProbe is how many networks early stopping trains when the ensemble is then
// refit on all assets (Options.RefitAll): they only find the epoch count and fit the
// band, so one keeps the training cost of the ensemble without the refit (one
// early-stopped network plus the refit ensemble cost about what five early-stopped
// networks did). On held-out C-MAPSS training units, one probe network and two gave
// the same refit figures (docs/benchmarks.md).
const RefitProbe = 1

// DefaultRULHistory returns the whole-history EWMA inputs (Options.HistoryEWMA) of
// rul models that do not choose: per sensor, the exponentially weighted means over
// the asset's whole history with factors 0.1 and 0.03 (time constants of about 10
// and 33 samples). A window of 30 rows sees the latest noise; these see the slow
// drift of the whole life, which is what wear is. Through bin/train and bin/infer
// score (docs/benchmarks.md) they lowered the RMSE and PHM08 on C-MAPSS FD001 and
// FD003 without more training time.
func DefaultRULHistory() []float64 { return []float64{0.1, 0.03} }

// AnomalyHistoryExample is a choice of --history for an anomaly model sampled once a
// minute with the default hour's window: context means with time constants of about
// 15 and 60 rows (factors 1 - e^(-1/tau)), spanning the lags of a bearing housing (15
// minutes) and a motor winding (25). It is not a default (docs/benchmarks.md).
var AnomalyHistoryExample = []float64{0.0645, 0.0165}

// anomalyHistory is the whole-history EWMA inputs of an anomaly model: the user's
// (Options.HistoryEWMA, with --context; Validate refuses them elsewhere), none by
// default. A temperature lags its load by minutes to an hour, so it still remembers
// conditions from before its window, which the window features cannot show; the
// context sensors' means over the stream's history can. On the simulated plant they
// halved the motor winding's residual and alerted its overheating about 0.9 hours
// sooner, but added false alerts where a network with more inputs fitted the week of
// healthy history more tightly than later weeks bear (docs/benchmarks.md), so they
// stay a choice.
func anomalyHistory(o Options) []float64 {
	if len(o.HistoryEWMA) == 0 || len(o.Context) == 0 || o.Forecast > 0 || o.Detector == DetectorMonitor {
		return nil
	}
	return o.HistoryEWMA
}

// rulDefaults applies the defaults of the rul task only.
func (o *Options) rulDefaults() {
	if o.Task != artifact.TaskRUL {
		return
	}
	if o.Loss == "" {
		o.Loss = DefaultRULLoss
	}
	if o.HistoryEWMA == nil { // an empty, non-nil list is "none"
		o.HistoryEWMA = DefaultRULHistory()
	}
	// The held-out quarter of the assets teaches the networks too: on held-out
	// C-MAPSS training units the refit lowered RMSE by about 1 on FD001 and FD003
	// (docs/benchmarks.md).
	if !o.NoRefit {
		o.RefitAll = true
	}
	// The age input is the data's own counter (Options.AgeColumn), chosen by the
	// front-end where the data format defines one (bin/train --cmapss: the cycle
	// column, trainflags.CMAPSSAgeColumn); the trainer cannot guess which column of
	// arbitrary data is an age. The row count (Options.AgeFeature) stays opt-in: it
	// is the age only when every stream starts at the start of life, unlike the edge
	// daemon's (docs/benchmarks.md).
}

// ErrOptions is wrapped by every option value Validate refuses.
var ErrOptions = errors.New("training options")

// ErrNamesFlag is matched (errors.Is) by trainer errors whose message already says
// which flag to change, so front-ends need not add a generic hint.
var ErrNamesFlag = errors.New("names the flag to change")

// namesFlag marks err as naming the flag to change (ErrNamesFlag).
func namesFlag(err error) error { return flagHint{err} }

type flagHint struct{ error }

func (h flagHint) Unwrap() error        { return h.error }
func (h flagHint) Is(target error) bool { return target == ErrNamesFlag }

// DefaultOptions are the options of a run that sets nothing: what bin/train's and
// bin/eval's flags start from. Fields whose default depends on the task, the data or
// other options stay zero, which means "choose" (Ensemble, Window, Hidden, Detector,
// FalseAlarmsPerWeek, Quantile, Margin, Envelope, BaselineHalfLife, Name, Version, and
// for rul Loss, HistoryEWMA and RefitAll, which NoRefit turns off); Resolved shows what
// they become.
// Fit(ctx, d, DefaultOptions()) trains exactly what Fit(ctx, d, Options{})
// does.
func DefaultOptions() Options {
	o := Options{Task: artifact.TaskAnomaly}
	o.defaults() // the one place the constants live
	o.Ensemble, o.Detector, o.FalseAlarmsPerWeek, o.Quantile, o.Margin, o.Envelope = 0, "", 0, 0, 0, 0
	o.BaselineHalfLife = 0
	// The remaining-life cap and horizon depend on the time column: 125 and 30 of its
	// unit, or for timestamps shares of the assets' life (rulScale).
	o.RULCap, o.Horizon = 0, 0
	o.Name, o.Version = "", ""
	return o
}

// Resolved returns o with every default applied, as Fit applies them.
func (o Options) Resolved() Options {
	o.defaults()
	return o
}

// Validate refuses values out of range, each with the range allowed, all at once
// (errors.Join of errors matching ErrOptions).
// Zero keeps meaning "the default" wherever Options says so; it is pure and reads no
// data, so front-ends call it before loading anything. The messages name the flags
// of bin/train and bin/eval, which share these names.
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, optionError{fmt.Errorf(format, a...)}) }
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch o.Task {
	case "", artifact.TaskAnomaly, artifact.TaskRUL:
	default:
		bad("--task %q: use anomaly or rul", o.Task)
	}
	rul := o.Task == artifact.TaskRUL
	for _, n := range []struct {
		name   string
		v, max int
	}{
		{"--epochs", o.Epochs, 100000}, {"--ensemble", o.Ensemble, 1000}, {"--patience", o.Patience, 100000},
		{"--regimes", o.Regimes, 64}, {"batch size", o.BatchSize, 1 << 20}, {"stride", o.Stride, 1 << 20},
		{"max fill", o.MaxFill, 1 << 20}, {"forecast", o.Forecast, 1 << 20}, {"alert clear", o.Clear, 1000},
		{"alert holdoff", o.Holdoff, 1000},
	} {
		if n.v < 0 || n.v > n.max {
			bad("%s %d: use 0 (the default) to %d", n.name, n.v, n.max)
		}
	}
	if o.Window < 0 || o.Window == 1 || o.Window > features.MaxWindow {
		bad("--window %d: use 0 (the default: 20 anomaly, 30 rul) or 2 to %d samples", o.Window, features.MaxWindow)
	}
	for _, h := range o.Hidden {
		if h < 1 || h > 4096 {
			bad("--hidden %v: layer sizes from 1 to 4096", o.Hidden)
			break
		}
	}
	if o.K < 0 || o.M < 0 || o.M > 1000 || (o.K > 0 && o.M > 0 && o.K > o.M) {
		bad("alert k of m %d of %d: use 1 <= k <= m <= 1000 (0 for the default 3 of 5)", o.K, o.M)
	}
	if !finite(o.LR) || o.LR < 0 || o.LR > 1 {
		bad("--lr %v: use a learning rate above 0 and at most 1 (0 = the default %g)", o.LR, 2e-3)
	}
	if !finite(o.L2) || o.L2 < 0 || o.L2 > 1 {
		bad("--l2 %v: use a weight decay from 0 to 1", o.L2)
	}
	if !finite(o.ValFrac) || o.ValFrac < 0 || o.ValFrac >= 0.9 {
		bad("--val-frac %v: use a held-out share above 0 and below 0.9 (0 = the default 0.25)", o.ValFrac)
	}
	if _, err := lossOf(o.Loss); err != nil {
		bad("--%w", err)
	}
	if !finite(o.Quantile) || o.Quantile < 0 || o.Quantile >= 1 {
		bad("--quantile %v: use a quantile above 0 and below 1 (0 = the default 0.999)", o.Quantile)
	}
	if !finite(o.Margin) || o.Margin < 0 || o.Margin > 100 {
		bad("--margin %v: use a factor above 0 and at most 100 (0 = the default)", o.Margin)
	}
	if !finite(o.Smoothing) || o.Smoothing < 0 || o.Smoothing > 1 {
		bad("--smoothing %v: use an EWMA factor above 0 and at most 1 (0 = the default 0.3)", o.Smoothing)
	}
	switch o.Combine {
	case "", "rms", artifact.CombineMax:
	default:
		bad("--combine %q: use max or rms", o.Combine)
	}
	if !finite(o.Envelope) {
		bad("--envelope %v: use a share of the range such as 0.05, or 0 or less for off", o.Envelope)
	}
	if !finite(o.LikelihoodZ) || o.LikelihoodZ < 0 {
		bad("likelihood z %v: use a positive standard score (0 = the default 4)", o.LikelihoodZ)
	}
	if o.TargetFeature != "" && o.Forecast > 0 {
		bad("--target-feature %q and forecast %d exclude each other: a forecaster predicts the coming rows' mean", o.TargetFeature, o.Forecast)
	}
	switch o.Detector {
	case "", DetectorMonitor, DetectorNets, DetectorBoth:
	default:
		bad("--detector %q: use monitor, nets or both", o.Detector)
	}
	if h := o.BaselineHalfLife; h > 0 && (h < MinBaselineHalfLife || h > 8760*time.Hour) {
		bad("--baseline-half-life %v: use %v to 8760h, 0 for the default %v, or a negative value for off", h, MinBaselineHalfLife, DefaultBaselineHalfLife)
	}
	if o.BaselineHalfLife > 0 && o.Likelihood != nil {
		bad("--baseline-half-life %v and the likelihood score exclude each other: the likelihood score follows the recent past already", o.BaselineHalfLife)
	}
	if v := o.FalseAlarmsPerWeek; !finite(v) || v < 0 || v > 10000 {
		bad("--false-alarms-per-week %v: use a rate from 0 (the default, %g) to 10000", v, DefaultFalseAlarmsPerWeek)
	}
	if !finite(o.RULCap) || o.RULCap < 0 {
		bad("--rul-cap %v: use a positive cap of the remaining-life target (0 = the default: 125 in the time column's unit, for timestamps 5/8 of the assets' median life)", o.RULCap)
	}
	if !finite(o.Horizon) || o.Horizon < 0 {
		bad("--horizon %v: use a positive horizon (0 = the default: 30, for timestamps 0.24 x the cap)", o.Horizon)
	} else if cp := o.RULCap; cp > 0 && finite(cp) && o.Horizon > 0 && o.Horizon >= cp {
		// Either one left at 0 depends on the data (rulScale checks it then).
		bad("--horizon %v: use a horizon below --rul-cap %v (the alert would never clear)", o.Horizon, cp)
	}
	for _, a := range o.HistoryEWMA {
		if !(a > 0 && a <= 1) {
			bad("--history %v: use smoothing factors above 0 and at most 1, e.g. 0.1,0.03", o.HistoryEWMA)
			break
		}
	}
	for _, w := range o.MemberWindows {
		if w < 2 || w > features.MaxWindow {
			bad("--member-windows %v: use window lengths from 2 to %d", o.MemberWindows, features.MaxWindow)
			break
		}
	}
	if o.AgeColumn != "" {
		switch {
		case o.AgeFeature:
			bad("--age-column %q and --age exclude each other: the age is the column's value or the rows counted (give --age-column none with --age)", o.AgeColumn)
		case slices.Contains(o.Settings, o.AgeColumn):
			bad("--age-column %q is also a --settings column: the age is an input of its own", o.AgeColumn)
		case strings.TrimSpace(o.AgeColumn) != o.AgeColumn || strings.Contains(o.AgeColumn, ","):
			bad("--age-column %q: give one column name, without spaces around it or commas", o.AgeColumn)
		}
	}
	if o.RefitAll && o.NoRefit {
		bad("--refit-all: refit on all assets and keep the early-stopped ensemble exclude each other")
	}
	if !rul {
		for _, f := range []struct {
			name string
			set  bool
		}{{"--refit-all=false", o.NoRefit}, {"--age", o.AgeFeature}, {"--age-column", o.AgeColumn != ""}, {"--member-windows", len(o.MemberWindows) > 0}, {"--refit-all", o.RefitAll}} {
			if f.set {
				bad("%s: only for --task rul models", f.name)
			}
		}
		if len(o.HistoryEWMA) > 0 && (len(o.Context) == 0 || o.Forecast > 0 || o.Detector == DetectorMonitor) {
			bad("--history %v: an anomaly model takes history inputs only with --context and the networks (not --forecast or --detector monitor); give --history none or add --context", o.HistoryEWMA)
		}
	}
	if len(o.Features) > 0 || o.Window > 1 {
		sp := features.DefaultSpec([]string{"x"}, max(2, o.Window))
		if len(o.Features) > 0 {
			sp.Features = slices.Clone(o.Features)
		}
		if err := sp.Validate(); err != nil && o.Window <= features.MaxWindow {
			bad("--features %v / --window %d: %w", o.Features, o.Window, err)
		}
	}
	return errors.Join(errs...)
}

// optionError is one refused value; it matches ErrOptions and, since its message
// names the flag, ErrNamesFlag.
type optionError struct{ error }

func (e optionError) Unwrap() error { return e.error }
func (e optionError) Is(target error) bool {
	return target == ErrOptions || target == ErrNamesFlag
}

func cmpOr(v, def float64) float64 {
	if v > 0 {
		return v
	}
	return def
}
